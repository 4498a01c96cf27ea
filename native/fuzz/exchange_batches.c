/* libFuzzer target: the exchange core driven by arbitrary bytes. The input picks a configuration
 * (a shaped one, a quarter of them with every book at the holdings bound and up to 98x leverage on
 * unbounded loans, or the 472 raw bytes of a tx_config when the first byte is odd), then a
 * sequence of operations: batches of instructions (each record the raw 64 input bytes, with a mask
 * byte choosing which fields are pulled into plausible ranges so that matching, margin and expiry
 * are reached as well as every rejection), clock advances (tx_advance, or an empty batch), balance
 * replacements, new accounts, fee policies, and a clock going backwards.
 *
 * Besides the sanitizers, after every operation: tx_check passes; every instruction of a batch
 * has exactly one outcome event; a fill-or-kill order never fills in part; event timestamps never
 * go back; per book, base and quote are conserved (balances + collateral - loans, with fees
 * collected and written-off loans counted) across everything but balance replacements, new
 * accounts and resets; a twin exchange opened with TX_CFG_GENERAL_PATHS, given the same
 * operations, returns the same codes and byte-identical events (read in place there, with
 * tx_peek_events); and the snapshot calls agree with each other (levels, each level's orders,
 * tx_order_get, the agents' orders). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taos_exchange.h"
#include "fuzz_input.h"

static void take_bytes(input *in, void *out, size_t n) {
  uint8_t *o = out;
  for (size_t i = 0; i < n; i++) o[i] = (uint8_t)take(in, 1);
}

#define MAX_AGENTS 16
#define MAX_BOOKS 4
#define MAX_BATCH 24
#define MAX_OPS 256

static int32_t agents[MAX_AGENTS];
static int agent_count;
static uint32_t books;
static int64_t lot; /* base units per volume lot */
static int64_t base_total[MAX_BOOKS], quote_total[MAX_BOOKS];
static int64_t written_off[MAX_BOOKS][2]; /* base, quote */
static uint32_t next_order_id[MAX_BOOKS];
static uint64_t clock_ns, last_ts;
static int64_t mid = 10000;

static tx_event events[1 << 14], twin_events[1 << 14];

/* FUZZ_TRACE=1 prints the operations and events of each input (to read a reproducer). */
static int tracing = -1;
#define TRACE(...)                                                                                 \
  do {                                                                                             \
    if (tracing) fprintf(stderr, __VA_ARGS__);                                                     \
  } while (0)

static void trace_instruction(size_t i, const tx_instruction *r) {
  TRACE("  [%zu] kind %u dir %u cur %u tif %u stp %u po %u fl %u pad %u agent %d book %u coid %u "
        "order %u volume %lld price %lld lev %lld expiry %llu res %llu\n",
        i, r->kind, r->direction, r->currency, r->time_in_force, r->stp, r->post_only, r->flags,
        r->pad0, r->agent_id, r->book_id, r->client_order_id, r->order_id, (long long)r->volume,
        (long long)r->price, (long long)r->leverage_e9, (unsigned long long)r->expiry_ns,
        (unsigned long long)r->reserved);
}

static void trace_event(const tx_event *e) {
  TRACE("    ev type %d reason %d flags %u instr %u agent %d book %u order %u dir %u price %lld "
        "volume %lld remaining %lld amount %lld notional %lld fees %lld/%lld lev %lld ts %llu\n",
        e->type, e->reason, e->flags, e->instruction, e->agent_id, e->book_id, e->order_id,
        e->direction, (long long)e->price, (long long)e->volume, (long long)e->remaining,
        (long long)e->amount, (long long)e->notional, (long long)e->maker_fee,
        (long long)e->taker_fee, (long long)e->leverage_e9, (unsigned long long)e->timestamp);
}

static const int32_t usual_agents[] = {0, 1, 2, 3, -1, -2};

static int shaped_config(input *in, tx_config *c) {
  memset(c, 0, sizeof *c);
  c->book_count = 1 + (uint32_t)take(in, 1) % 2;
  c->price_decimals = (uint32_t)take(in, 1) % 5;
  c->base_decimals = 2 + (uint32_t)take(in, 1) % 7;
  c->volume_decimals = (uint32_t)take(in, 1) % (c->base_decimals + 1);
  c->quote_decimals = (uint32_t)take(in, 1) % 13;
  c->agent_count = 4;
  c->default_base = (int64_t)100 * 10000;
  c->default_quote = (int64_t)10000 * 10000000000;
  c->max_leverage_e9 = (int64_t)(take(in, 1) % 11) * 500000000;
  c->max_loan = (int64_t)(take(in, 1) % 4) * 1000000000000;
  if (take(in, 1) % 4 == 0) {
    /* At the holdings bound, up to 98x leverage, loans unbounded: rebates and loans meet the
     * limits that keep every balance within int64. */
    c->default_base = TX_MAX_HELD / 4;
    c->default_quote = TX_MAX_HELD / 4;
    c->max_leverage_e9 = (int64_t)(1 + take(in, 1) % 98) * 1000000000;
    c->max_loan = INT64_MAX;
  }
  c->maintenance_margin_e9 =
      (int64_t)(take(in, 2) % 1000) * (1000000000000000000 / (2 * (1000000000 + c->max_leverage_e9))) / 1000;
  c->fee_slot_period_ns = 1 + take(in, 1) % 30 * 1000000000ull;
  c->fee_history_slots = 1 + (uint32_t)take(in, 1) % 6;
  c->fee_tier_count = 1 + (uint32_t)take(in, 1) % 3;
  int64_t volume = 0;
  for (uint32_t i = 0; i < c->fee_tier_count; i++) {
    c->fee_tiers[i].volume_required = volume;
    c->fee_tiers[i].maker_e9 = (int64_t)(int8_t)take(in, 1) * 100000;
    c->fee_tiers[i].taker_e9 = (int64_t)(take(in, 1) % 128) * 100000;
    volume += 1 + (int64_t)take(in, 2) * 10000000000;
  }
  return 0;
}

static void add_agent(int32_t id) {
  for (int i = 0; i < agent_count; i++) {
    if (agents[i] == id) return;
  }
  if (agent_count < MAX_AGENTS) agents[agent_count++] = id;
}

static void book_totals(tx_exchange *ex, uint32_t book, int64_t *base, int64_t *quote) {
  __int128 b = 0, q = 0;
  for (int i = 0; i < agent_count; i++) {
    tx_balances x;
    if (tx_balances_get(ex, agents[i], book, &x) != TX_OK) continue;
    b += (__int128)x.base_free + x.base_reserved + x.base_collateral - x.base_loan;
    q += (__int128)x.quote_free + x.quote_reserved + x.quote_collateral - x.quote_loan;
  }
  tx_book_info info;
  REQUIRE(tx_book_info_get(ex, book, &info) == TX_OK, "book %u", book);
  /* a written-off loan is debt cancelled: the accounts are richer by it */
  *base = (int64_t)(b - written_off[book][0]);
  *quote = (int64_t)(q + info.fees_collected - written_off[book][1]);
}

static void rebase(tx_exchange *ex) {
  for (uint32_t b = 0; b < books; b++) book_totals(ex, b, &base_total[b], &quote_total[b]);
}

/* Checks one call's events (and those of its twin); `count` instructions were submitted. */
static int64_t level_prices[4096], level_volumes[4096];
static tx_order level_orders[4096], agent_orders[4096];
static tx_loan loans[1024];

/* The snapshot calls against each other: levels against the book summary, each level's orders
 * against the level and against tx_order_get, the agents' orders against the book's count. */
static void snapshots_agree(tx_exchange *ex, uint32_t book) {
  tx_book_info info;
  REQUIRE(tx_book_info_get(ex, book, &info) == TX_OK, "book %u", book);
  int64_t orders = 0;
  for (int side = 0; side < 2; side++) {
    int64_t levels = tx_book_levels(ex, book, side, level_prices, level_volumes, 4096);
    REQUIRE(levels == (side ? info.ask_levels : info.bid_levels), "book %u side %d: %lld levels",
            book, side, (long long)levels);
    if (levels > 4096) continue;
    __int128 total = 0;
    for (int64_t l = 0; l < levels; l++) {
      total += level_volumes[l];
      REQUIRE(l == 0 || (side ? level_prices[l] > level_prices[l - 1]
                              : level_prices[l] < level_prices[l - 1]), "levels out of order");
      int64_t n = tx_level_orders(ex, book, side, (uint32_t)l, level_orders, 4096);
      REQUIRE(n > 0, "book %u side %d level %lld: %lld orders", book, side, (long long)l,
              (long long)n);
      orders += n;
      if (n > 4096) continue;
      /* an order shows its own volume; the level sums the matchable volume, own * (1 + leverage)
       * lot-truncated at placement and after each fill, which the snapshot cannot rebuild: within
       * two lots times (1 + leverage) per order, exact for cash orders */
      __int128 sum = 0, slack = 0;
      for (int64_t k = 0; k < n; k++) {
        const tx_order *o = &level_orders[k];
        sum += (__int128)o->volume * (1000000000 + o->leverage_e9) / 1000000000;
        if (o->leverage_e9 != 0) slack += (__int128)2 * lot * (1000000000 + o->leverage_e9) / 1000000000 + 1;
        REQUIRE(o->price == level_prices[l] && o->direction == side && o->book_id == book,
                "order %u is not on its level", o->order_id);
        tx_order again;
        REQUIRE(tx_order_get(ex, book, o->order_id, &again) == TX_OK &&
                    memcmp(&again, o, sizeof again) == 0, "tx_order_get(%u) differs", o->order_id);
      }
      REQUIRE(sum - level_volumes[l] <= slack && level_volumes[l] - sum <= slack,
              "book %u level %lld: orders hold %lld of %lld", book,
              (long long)l, (long long)sum, (long long)level_volumes[l]);
    }
    REQUIRE(levels == 0 || level_prices[0] == (side ? info.best_ask : info.best_bid), "best price");
    REQUIRE(total == (side ? info.ask_volume : info.bid_volume), "book %u side %d volume", book,
            side);
  }
  REQUIRE(orders == info.order_count, "book %u: %lld orders on the levels, %u counted", book,
          (long long)orders, info.order_count);
  int64_t owned = 0;
  for (int i = 0; i < agent_count; i++) {
    int64_t n = tx_agent_orders(ex, agents[i], book, agent_orders, 4096);
    REQUIRE(n >= 0, "tx_agent_orders(%d): %lld", agents[i], (long long)n);
    owned += n;
    for (int64_t k = 1; k < n && k < 4096; k++) {
      REQUIRE(agent_orders[k].order_id > agent_orders[k - 1].order_id, "agent orders out of order");
    }
    int64_t m = tx_agent_loans(ex, agents[i], book, loans, 1024);
    REQUIRE(m >= 0, "tx_agent_loans(%d): %lld", agents[i], (long long)m);
    for (int64_t k = 1; k < m && k < 1024; k++) {
      REQUIRE(loans[k].order_id > loans[k - 1].order_id, "loans out of order");
    }
    tx_fee_state fees;
    REQUIRE(tx_fee_state_get(ex, agents[i], book, &fees) == TX_OK, "tx_fee_state_get");
  }
  REQUIRE(agent_count == MAX_AGENTS ? owned <= orders : owned == orders,
          "book %u: agents own %lld orders, the book holds %lld", book, (long long)owned,
          (long long)orders);
}

static void settle(tx_exchange *ex, tx_exchange *twin, const tx_instruction *batch, size_t count,
                   int conserved) {
  size_t n = tx_drain_events(ex, events, sizeof events / sizeof *events);
  /* the twin's events are read in place */
  const tx_event *view = NULL;
  size_t m = tx_peek_events(twin, &view);
  REQUIRE(m <= sizeof twin_events / sizeof *twin_events, "event buffer too small");
  if (m > 0) memcpy(twin_events, view, m * sizeof *view);
  tx_discard_events(twin, m);
  REQUIRE(tx_pending_events(ex) == 0 && tx_pending_events(twin) == 0, "events left");
  REQUIRE(n == m, "%zu events, the general paths gave %zu", n, m);
  for (size_t i = 0; i < n; i++) {
    REQUIRE(memcmp(&events[i], &twin_events[i], sizeof events[i]) == 0,
            "event %zu (type %d) differs on the general paths", i, events[i].type);
  }
  int outcomes[MAX_BATCH] = {0};
  for (size_t i = 0; i < n; i++) {
    const tx_event *e = &events[i];
    trace_event(e);
    REQUIRE(e->timestamp >= last_ts, "event %zu went back in time", i);
    last_ts = e->timestamp;
    REQUIRE(e->type >= TX_EV_ACCEPTED && e->type <= TX_EV_LOAN_SETTLED, "type %d", e->type);
    if (e->type == TX_EV_LOAN_SETTLED && e->book_id < books) {
      written_off[e->book_id][e->direction == TX_BUY ? 1 : 0] += e->amount;
    }
    if (e->type == TX_EV_RESET) conserved = 0;
    if (e->type == TX_EV_ACCEPTED && e->book_id < books && e->order_id + 1 > next_order_id[e->book_id]) {
      next_order_id[e->book_id] = e->order_id + 1;
    }
    if (e->type == TX_EV_TRADE) {
      REQUIRE(e->volume > 0 && e->notional >= 0, "trade volume %lld notional %lld",
              (long long)e->volume, (long long)e->notional);
    }
    if (e->instruction == TX_NONE) continue;
    /* Fill-or-kill: accepted means filled whole (self-trade reductions aside, which shrink it). */
    REQUIRE(e->type != TX_EV_REMAINDER_DROPPED || e->instruction >= count ||
                batch[e->instruction].kind != TX_INSTR_LIMIT ||
                batch[e->instruction].time_in_force != TX_FOK,
            "fill-or-kill instruction %u filled in part", e->instruction);
    if (e->type == TX_EV_ACCEPTED || e->type == TX_EV_RESET ||
        (e->type == TX_EV_REJECTED && !(e->flags & TX_EVF_EXPIRY)) ||
        (e->type == TX_EV_CANCELLED && e->reason == TX_CAUSE_REQUEST)) {
      REQUIRE(e->instruction < count, "outcome of instruction %u of %zu", e->instruction, count);
      outcomes[e->instruction]++;
    }
  }
  for (size_t i = 0; i < count; i++) {
    REQUIRE(outcomes[i] == 1, "instruction %zu has %d outcomes", i, outcomes[i]);
  }
  char err[256];
  REQUIRE(tx_check(ex, err, sizeof err) == TX_OK, "tx_check: %s", err);
  REQUIRE(tx_check(twin, err, sizeof err) == TX_OK, "tx_check (general paths): %s", err);
  for (uint32_t b = 0; b < books; b++) snapshots_agree(ex, b);
  for (uint32_t b = 0; b < books; b++) {
    int64_t base, quote, tbase, tquote;
    book_totals(ex, b, &base, &quote);
    book_totals(twin, b, &tbase, &tquote);
    REQUIRE(base == tbase && quote == tquote, "book %u totals differ on the general paths", b);
    if (conserved) {
      REQUIRE(base == base_total[b], "book %u base %lld, was %lld", b, (long long)base,
              (long long)base_total[b]);
      REQUIRE(quote == quote_total[b], "book %u quote %lld, was %lld", b, (long long)quote,
              (long long)quote_total[b]);
    }
  }
  if (!conserved) rebase(ex);
}

static void shape(input *in, tx_instruction *r) {
  unsigned mask = (unsigned)take(in, 1);
  take_bytes(in, r, sizeof *r);
  if (mask & 0x80) return; /* the raw record */
  r->kind = (uint8_t)(1 + r->kind % 4);
  r->direction &= 1;
  r->currency = (mask & 1) ? r->currency & 1 : TX_CURRENCY_BASE;
  r->time_in_force %= 4;
  r->stp %= 5;
  r->post_only &= 1;
  r->flags &= TX_IF_PARTIAL;
  r->pad0 = 0;
  r->sender_id = 0;
  r->reserved = 0;
  r->agent_id = usual_agents[(uint32_t)r->agent_id % 6];
  r->book_id %= books + ((mask & 2) ? 1 : 0);
  if (!(mask & 4)) {
    uint32_t top = next_order_id[r->book_id % books] + 2;
    r->order_id = top - r->order_id % (top < 64 ? top + 1 : 64);
  }
  if (!(mask & 8)) r->volume = (int64_t)((uint64_t)r->volume % 400000) - (mask & 0x40 ? 1000 : 0);
  if (!(mask & 16)) r->price = mid + (int64_t)((uint64_t)r->price % 64) - 32;
  if (!(mask & 32)) r->leverage_e9 = (int64_t)((uint64_t)r->leverage_e9 % 12) * 500000000;
  if (r->time_in_force == TX_GTT) r->expiry_ns %= 20000000000ull;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (tracing < 0) tracing = getenv("FUZZ_TRACE") != NULL;
  input in = {data, size, 0};
  tx_config config;
  if (take(&in, 1) & 1) {
    take_bytes(&in, &config, sizeof config);
    /* resource limits of this harness, not of the core */
    if (config.book_count > MAX_BOOKS || config.agent_count > 8) return 0;
  } else {
    shaped_config(&in, &config);
  }
  config.flags &= ~(uint64_t)TX_CFG_GENERAL_PATHS;
  tx_config general = config;
  general.flags |= TX_CFG_GENERAL_PATHS;
  tx_exchange *ex = NULL, *twin = NULL;
  char err[256];
  int rc = tx_open(&config, &ex, err, sizeof err);
  int rc2 = tx_open(&general, &twin, err, sizeof err);
  REQUIRE(rc == rc2, "tx_open %d, with general paths %d", rc, rc2);
  if (rc != TX_OK) {
    REQUIRE(ex == NULL || rc == TX_OK, "handle on failure");
    return 0;
  }
  books = config.book_count;
  lot = 1;
  for (uint32_t d = config.volume_decimals; d < config.base_decimals; d++) lot *= 10;
  TRACE("config: books %u decimals price %u volume %u base %u quote %u agents %u leverage %lld "
        "margin %lld loan %lld slot %llu x %u tiers %u flags %llu\n",
        config.book_count, config.price_decimals, config.volume_decimals, config.base_decimals,
        config.quote_decimals, config.agent_count, (long long)config.max_leverage_e9,
        (long long)config.maintenance_margin_e9, (long long)config.max_loan,
        (unsigned long long)config.fee_slot_period_ns, config.fee_history_slots,
        config.fee_tier_count, (unsigned long long)config.flags);
  for (uint32_t i = 0; i < config.fee_tier_count && i < TX_MAX_FEE_TIERS; i++) {
    TRACE("  tier %u: volume %lld maker %lld taker %lld\n", i,
          (long long)config.fee_tiers[i].volume_required, (long long)config.fee_tiers[i].maker_e9,
          (long long)config.fee_tiers[i].taker_e9);
  }
  agent_count = 0;
  for (uint32_t i = 0; i < config.agent_count; i++) add_agent((int32_t)i);
  memset(written_off, 0, sizeof written_off);
  memset(next_order_id, 0, sizeof next_order_id);
  clock_ns = last_ts = 0;
  mid = 100 + (int64_t)(take(&in, 2) % 20000);
  rebase(ex);

  tx_instruction batch[MAX_BATCH];
  for (int op = 0; op < MAX_OPS && in.at < in.size; op++) {
    unsigned kind = (unsigned)take(&in, 1) % 10;
    if (kind <= 4) {
      size_t count = (size_t)take(&in, 1) % (MAX_BATCH + 1);
      for (size_t i = 0; i < count; i++) shape(&in, &batch[i]);
      uint64_t step = take(&in, 1) < 32 ? take(&in, 4) : 0;
      clock_ns += step;
      TRACE("submit at %llu, %zu instructions\n", (unsigned long long)clock_ns, count);
      for (size_t i = 0; i < count; i++) trace_instruction(i, &batch[i]);
      rc = tx_submit(ex, clock_ns, batch, count);
      rc2 = tx_submit(twin, clock_ns, batch, count);
      REQUIRE(rc == rc2 && rc == TX_OK, "tx_submit %s, general paths %s", tx_errstr(rc),
              tx_errstr(rc2));
      settle(ex, twin, batch, count, 1);
    } else if (kind == 5) {
      uint64_t step = take(&in, 1) & 1 ? take(&in, 8) % 100000000000ull : take(&in, 5);
      clock_ns += step;
      TRACE("advance to %llu\n", (unsigned long long)clock_ns);
      rc = tx_advance(ex, clock_ns);
      rc2 = tx_advance(twin, clock_ns);
      REQUIRE(rc == rc2 && rc == TX_OK, "tx_advance %s", tx_errstr(rc));
      settle(ex, twin, NULL, 0, 1);
      mid += (int64_t)(int8_t)take(&in, 1);
      if (mid < 3) mid = 3;
    } else if (kind == 6) {
      int32_t agent = usual_agents[take(&in, 1) % 6];
      uint32_t book = (uint32_t)take(&in, 1) % (books + 1);
      int64_t base = (int64_t)take(&in, 8), quote = (int64_t)take(&in, 8);
      if (take(&in, 1) & 1) {
        base = (int64_t)((uint64_t)base % 100000000);
        quote = (int64_t)((uint64_t)quote % 100000000000000);
      }
      rc = tx_set_balances(ex, agent, book, base, quote);
      TRACE("set balances agent %d book %u %lld %lld: %s\n", agent, book, (long long)base,
            (long long)quote, tx_errstr(rc));
      rc2 = tx_set_balances(twin, agent, book, base, quote);
      REQUIRE(rc == rc2, "tx_set_balances %d / %d", rc, rc2);
      settle(ex, twin, NULL, 0, rc != TX_OK);
    } else if (kind == 7) {
      int32_t agent = (int32_t)take(&in, 4);
      if (take(&in, 1) & 1) agent = -(int32_t)(agent & 7) - 1;
      int64_t base = (int64_t)take(&in, 8), quote = (int64_t)take(&in, 8);
      rc = tx_add_account(ex, agent, base, quote);
      TRACE("add account %d %lld %lld: %s\n", agent, (long long)base, (long long)quote,
            tx_errstr(rc));
      rc2 = tx_add_account(twin, agent, base, quote);
      REQUIRE(rc == rc2, "tx_add_account %d / %d", rc, rc2);
      if (rc == TX_OK) add_agent(agent);
      settle(ex, twin, NULL, 0, rc != TX_OK);
    } else if (kind == 8) {
      tx_fee_tier tiers[TX_MAX_FEE_TIERS];
      uint32_t count = (uint32_t)take(&in, 1) % (TX_MAX_FEE_TIERS + 2);
      for (uint32_t i = 0; i < count && i < TX_MAX_FEE_TIERS; i++) take_bytes(&in, &tiers[i], sizeof tiers[i]);
      uint32_t index = 0, index2 = 0;
      rc = tx_add_fee_policy(ex, tiers, count, &index, err, sizeof err);
      rc2 = tx_add_fee_policy(twin, tiers, count, &index2, err, sizeof err);
      REQUIRE(rc == rc2 && index == index2, "tx_add_fee_policy %d / %d", rc, rc2);
      int32_t agent = usual_agents[take(&in, 1) % 6];
      uint32_t policy = (uint32_t)take(&in, 1) % 8;
      rc = tx_set_fee_policy(ex, agent, policy);
      TRACE("fee policy %u added (%s, %u tiers); agent %d takes policy %u: %s\n", index,
            tx_errstr(rc2), count, agent, policy, tx_errstr(rc));
      rc2 = tx_set_fee_policy(twin, agent, policy);
      REQUIRE(rc == rc2, "tx_set_fee_policy %d / %d", rc, rc2);
      settle(ex, twin, NULL, 0, 1);
    } else if (clock_ns > 0) {
      uint64_t back = clock_ns - 1 - take(&in, 4) % clock_ns;
      REQUIRE(tx_advance(ex, back) == TX_ERR_TIME, "clock went back");
      REQUIRE(tx_submit(ex, back, batch, 0) == TX_ERR_TIME, "clock went back");
      REQUIRE(tx_advance(twin, back) == TX_ERR_TIME, "clock went back");
      settle(ex, twin, NULL, 0, 1);
    }
  }
  tx_close(ex);
  tx_close(twin);
  return 0;
}
