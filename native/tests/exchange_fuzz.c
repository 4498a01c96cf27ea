/* Seeded random instruction streams (cash and leveraged, with a drifting price so margin calls
 * fire, a few prices at the top of the range) through the exchange core, checking after every
 * step: the book is never crossed and is internally consistent, no balance is negative,
 * reservations equal what open orders need and loan totals equal the loans (tx_check), base and
 * quote are conserved per book (collateral, loans, fees and written-off loans counted), every
 * instruction has exactly one outcome event, event fields are consistent (no stale trade fields,
 * notionals exact, fees within the notional, known reasons), and the resting order count follows
 * the events. Between batches the stream also advances the clock (past fee slots), switches fee
 * policies, replaces idle balances, submits misaligned buffers and malformed headers, and reads
 * the events by drains of every size or in place; every 50 steps the snapshot calls are checked
 * against each other. A second exchange with TX_CFG_GENERAL_PATHS runs the same stream in
 * lockstep: the short paths for common cases must give byte-identical events and balances. A third
 * takes the same instructions one per call, with the clock advanced on its own first, and is
 * checked after each call (tx_check and conservation): inside a batch, and after the expiries, fee
 * rolls and margin calls a clock advance brings, the batched twins are not looked at. */
#include "exchange_harness.h"
#include "seeded_random.h"

#define BOOKS 2
#define AGENTS 6
#ifndef STEPS_PER_SEED
#define STEPS_PER_SEED 125000
#endif
#ifndef SEEDS
#define SEEDS 12
#endif
#ifndef SEED0
#define SEED0 1
#endif


static const int32_t agent_ids[AGENTS] = {0, 1, 2, 3, -1, -2};
static int64_t base_total[BOOKS], quote_total[BOOKS];
static uint32_t max_order_id[BOOKS];
static long long resting[BOOKS];
static int64_t written_off[BOOKS][2]; /* base, quote */
static int64_t mid_price = 10000;
static long long margin_calls;

static tx_config fuzz_config(uint64_t seed) {
  tx_config c = config_t(0, BOOKS);
  c.agent_count = 4;
  c.fee_slot_period_ns = SEC(10);
  c.fee_history_slots = 3;
  c.fee_tier_count = 3;
  c.fee_tiers[0] = (tx_fee_tier){0, 1000000, 2000000};
  c.fee_tiers[1] = (tx_fee_tier){Q(2000), 3000000, 1000000};
  /* A maker rebate tier on odd seeds. */
  c.fee_tiers[2] = (tx_fee_tier){Q(20000), seed & 1 ? -200000 : 0, 500000};
  if (seed % 4 == 2) c.volume_decimals = 2;
  if (seed % 4 == 3) c.quote_decimals = 0; /* notionals truncate: tiny fills round to zero */
  if (seed > 8) {
    /* Past the first eight, the rest of the configuration space as well, from a stream of its
     * own so that it does not shift the instructions: decimals (notionals scaled up or down),
     * margin limits and fee slots. The stream's units stay the same, so one volume or price
     * means more or less at other decimals. */
    uint64_t stream = rng_state;
    rng_state = seed * 0x9E3779B97F4A7C15ull + 7;
    c.price_decimals = (uint32_t)uniform(0, 4);
    c.base_decimals = (uint32_t)uniform(2, 8);
    c.volume_decimals = (uint32_t)uniform(0, c.base_decimals);
    if (seed % 4 != 3) c.quote_decimals = (uint32_t)uniform(4, 12);
    c.max_leverage_e9 = uniform(0, 10) * 1000000000LL + uniform(0, 1) * 500000000LL;
    /* At most 1 / (2 (1 + L)): margin calls must come before the collateral runs out. */
    c.maintenance_margin_e9 = uniform(0, 1000000000000000000LL / (2 * (1000000000LL + c.max_leverage_e9)));
    c.max_loan = uniform(0, 3) == 0 ? 0 : uniform(1, 100) * Q(100);
    c.fee_history_slots = (uint32_t)uniform(1, 6);
    c.fee_slot_period_ns = (uint64_t)uniform(1, 30) * SEC(1);
    rng_state = stream;
  }
  return c;
}

static tx_instruction random_instruction(void) {
  tx_instruction in;
  memset(&in, 0, sizeof in);
  int roll = (int)uniform(0, 99);
  in.agent_id = agent_ids[uniform(0, AGENTS - 1)];
  in.book_id = (uint32_t)uniform(0, BOOKS - 1);
  in.client_order_id = (uint32_t)uniform(0, 3) == 0 ? TX_NONE : (uint32_t)next_random();
  in.direction = (uint8_t)uniform(0, 1);
  in.stp = (uint8_t)(uniform(0, 3) == 0 ? uniform(0, 4) : TX_STP_CO);
  if (uniform(0, 9) == 0) {
    in.leverage_e9 = uniform(1, 8) * 500000000LL;
  }
  if (roll < 55) {
    in.kind = TX_INSTR_LIMIT;
    int64_t mid = mid_price;
    int64_t offset = uniform(-15, 15);
    in.price = in.direction == TX_BUY ? mid - 5 + offset : mid + 5 + offset;
    in.volume = uniform(1, 40) * B(0.25) + (uniform(0, 4) == 0 ? uniform(0, 99) : 0);
    in.time_in_force = (uint8_t)(uniform(0, 5) == 0 ? uniform(0, 3) : TX_GTC);
    if (in.time_in_force == TX_GTT) in.expiry_ns = uniform(0, 3) ? (uint64_t)uniform(0, 4) * SEC(1) : (uint64_t)uniform(0, 200) * SEC(1) + (uint64_t)uniform(0, 999);
    in.post_only = uniform(0, 9) == 0;
    /* Now and then at the top of the price range, where sums of notionals pass int64. */
    if (uniform(0, 49) == 0) in.price = ((int64_t)1 << 40) - uniform(0, 3);
    if (uniform(0, 9) == 0) { /* leveraged or not */
      in.currency = TX_CURRENCY_QUOTE;
      in.volume = uniform(1, 3000) * Q(0.5);
    }
  } else if (roll < 65) {
    in.kind = TX_INSTR_MARKET;
    in.volume = uniform(1, 20) * B(0.25);
    if (uniform(0, 4) == 0) {
      in.currency = TX_CURRENCY_QUOTE;
      in.volume = uniform(1, 2000) * Q(0.7);
    }
  } else if (roll < 92) {
    in.kind = TX_INSTR_CANCEL;
    uint32_t top = max_order_id[in.book_id] + 2;
    in.order_id = (uint32_t)uniform(top > 60 ? top - 60 : 0, top);
    if (uniform(0, 2) == 0) {
      in.flags = TX_IF_PARTIAL;
      in.volume = uniform(0, 8) * B(0.25) + uniform(0, 3);
    }
  } else if (roll < 93) {
    /* Resets wipe an agent's orders: keep them rare so books grow. */
    in.kind = uniform(0, 2) == 0 ? TX_INSTR_RESET : TX_INSTR_CANCEL;
    in.order_id = max_order_id[in.book_id] > 0 ? max_order_id[in.book_id] - 1 : 0;
  } else {
    /* Garbage of every kind. */
    in.kind = (uint8_t)uniform(0, 5);
    switch (uniform(0, 7)) {
    case 0: in.book_id = (uint32_t)uniform(BOOKS, 1000); break;
    case 1: in.agent_id = (int32_t)uniform(10, 1 << 26); break;
    case 2: in.volume = -uniform(0, B(5)); break;
    case 3: in.price = -uniform(0, 100); break;
    case 4: in.direction = (uint8_t)uniform(2, 255); break;
    case 5: in.time_in_force = (uint8_t)uniform(4, 255); break;
    case 6: in.leverage_e9 = uniform(-5000000000LL, 9000000000LL); break;
    case 7: in.volume = INT64_MAX - uniform(0, 5); in.price = INT64_MAX - uniform(0, 5); break;
    }
    switch (uniform(0, 11)) { /* header garbage the original stream never sends */
    case 0: in.pad0 = (uint8_t)uniform(1, 255); break;
    case 1: in.reserved = (uint32_t)uniform(1, 1000); break;
    case 2: in.flags = (uint8_t)uniform(2, 255); break;
    case 3: in.currency = (uint8_t)uniform(2, 255); break;
    case 4: in.stp = (uint8_t)uniform(5, 255); break;
    case 5: in.post_only = (uint8_t)uniform(2, 255); break;
    case 6: in.time_in_force = TX_GTT; in.expiry_ns = UINT64_MAX - (uint64_t)uniform(0, 3); break;
    case 7: in.leverage_e9 = uniform(1, 4) * 1000000000LL; in.currency = TX_CURRENCY_QUOTE; break;
    case 8: in.leverage_e9 = 4000000000LL + uniform(0, 1); break; /* at and just above max */
    case 9: in.sender_id = (int32_t)uniform(1, AGENTS); break; /* without TX_IF_SENDER */
    default: break;
    }
  }
  return in;
}

/* Sums every account's holdings in a book: balances plus collateral minus loans. */
static void book_totals(tx_exchange *ex, uint32_t book, int64_t *base, int64_t *quote) {
  *base = *quote = 0;
  for (int i = 0; i < AGENTS; i++) {
    tx_balances b;
    if (tx_balances_get(ex, agent_ids[i], book, &b) != TX_OK) continue;
    *base += b.base_free + b.base_reserved + b.base_collateral - b.base_loan;
    *quote += b.quote_free + b.quote_reserved + b.quote_collateral - b.quote_loan;
  }
}

static tx_event batch_events[1 << 14], general_events[1 << 14];
static size_t batch_event_count;

/* Checks one submit's events against the batch and updates the resting-order model. */
static int drain_mode;
static uint64_t last_ts;
static int notional_shift;
static int64_t ref_notional(int64_t price, int64_t volume) {
  __int128 x = (__int128)price * volume;
  for (int k = notional_shift; k > 0; k--) x *= 10;
  for (int k = notional_shift; k < 0; k++) x /= 10;
  return x > INT64_MAX ? INT64_MAX : (int64_t)x;
}
/* Collects every pending event: one drain, many small drains, or peek + partial discards. */
static size_t collect(tx_exchange *ex, tx_event *out, size_t cap) {
  size_t n = 0;
  if (drain_mode == 0) return tx_drain_events(ex, out, cap);
  while (tx_pending_events(ex) > 0 && n < cap) {
    size_t want = (size_t)uniform(1, 7);
    if (want > cap - n) want = cap - n;
    if (drain_mode == 1) {
      size_t got = tx_drain_events(ex, out + n, want);
      if (got != (want < tx_pending_events(ex) + got ? want : got)) return (size_t)-1;
      n += got;
    } else {
      const tx_event *view;
      size_t avail = tx_peek_events(ex, &view);
      if (avail != tx_pending_events(ex)) return (size_t)-1;
      if (want > avail) want = avail;
      memcpy(out + n, view, want * sizeof *view);
      tx_discard_events(ex, want);
      n += want;
    }
  }
  return n;
}

static int check_events(tx_exchange *ex, const tx_instruction *batch, size_t n_instr, int step,
                        uint64_t seed) {
  size_t n = collect(ex, batch_events, sizeof batch_events / sizeof *batch_events);
  if (n == (size_t)-1) {
    fprintf(stderr, "seed %llu step %d: drain/peek count mismatch\n", (unsigned long long)seed, step);
    return 1;
  }
  batch_event_count = n;
  if (tx_pending_events(ex) != 0) {
    fprintf(stderr, "seed %llu step %d: event buffer too small\n", (unsigned long long)seed, step);
    return 1;
  }
  int outcomes[64] = {0};
  for (size_t i = 0; i < n; i++) {
    const tx_event *e = &batch_events[i];
    if (e->type == TX_EV_MARGIN_CALL) margin_calls++;
    const char *bad = NULL;
    if (e->timestamp < last_ts) bad = "timestamp went backwards";
    last_ts = e->timestamp;
    if (e->type < TX_EV_ACCEPTED || e->type > TX_EV_LOAN_SETTLED) bad = "unknown type";
    if (e->type != TX_EV_TRADE && (e->trade_id != TX_NONE || e->resting_order_id != TX_NONE ||
                                   e->notional != 0 || e->maker_fee != 0 || e->taker_fee != 0 ||
                                   e->resting_client_order_id != TX_NONE)) bad = "stale trade fields";
    if (e->type == TX_EV_TRADE) {
      if (e->notional != ref_notional(e->price, e->volume)) bad = "notional";
      if (e->maker_fee > e->notional || -e->maker_fee > e->notional ||
          e->taker_fee > e->notional || -e->taker_fee > e->notional) bad = "fee beyond notional";
      if (e->remaining < 0 || e->amount < 0) bad = "negative remaining";
    }
    /* 15 is not assigned. */
    if (e->type == TX_EV_REJECTED && (e->reason == 0 || e->reason > TX_R_AGENT_RESET ||
                                      e->reason == TX_R_PRICE_INCREMENT_VIOLATED || e->reason == 15 ||
                                      e->reason == TX_R_VOLUME_INCREMENT_VIOLATED)) bad = "reason";
    if ((e->type == TX_EV_CANCELLED || e->type == TX_EV_EXPIRED || e->type == TX_EV_STP_REDUCED ||
         e->type == TX_EV_REMAINDER_DROPPED) && (e->volume < 0 || e->remaining < 0)) bad = "volume";
    if (e->type == TX_EV_CANCELLED && (((e->flags & TX_EVF_PARTIAL) != 0) != (e->remaining > 0))) bad = "partial flag";
    /* Fill-or-kill: accepted means filled whole (self-trade reductions aside, which shrink it). */
    if (e->type == TX_EV_REMAINDER_DROPPED && e->instruction < n_instr &&
        batch[e->instruction].kind == TX_INSTR_LIMIT &&
        batch[e->instruction].time_in_force == TX_FOK) bad = "fill-or-kill filled in part";
    if (e->type == TX_EV_ACCEPTED && e->instruction != TX_NONE) {
      for (size_t j = i + 1; j < n; j++) {
        const tx_event *f = &batch_events[j];
        if (f->instruction == e->instruction && f->order_id == e->order_id && f->book_id == e->book_id &&
            (f->type == TX_EV_TRADE || f->type == TX_EV_PLACED)) bad = "fill/place after ACCEPTED";
      }
    }
    if (bad != NULL) {
      fprintf(stderr, "seed %llu step %d: event %zu (type %d): %s\n", (unsigned long long)seed,
              step, i, e->type, bad);
      return 1;
    }
    if (e->type == TX_EV_LOAN_SETTLED && e->book_id < BOOKS) {
      written_off[e->book_id][e->direction == TX_BUY ? 1 : 0] += e->amount;
    }
    if (e->instruction == TX_NONE) {
      /* Expiries and liquidations: not outcomes of this batch's instructions. */
    } else if (e->type == TX_EV_ACCEPTED || e->type == TX_EV_RESET ||
        (e->type == TX_EV_REJECTED && !(e->flags & TX_EVF_EXPIRY)) ||
        (e->type == TX_EV_CANCELLED && e->reason == TX_CAUSE_REQUEST)) {
      if (e->instruction >= n_instr) {
        fprintf(stderr, "seed %llu step %d: outcome without instruction\n",
                (unsigned long long)seed, step);
        return 1;
      }
      outcomes[e->instruction]++;
    }
    if (e->book_id < BOOKS) {
      if (e->type == TX_EV_PLACED) resting[e->book_id]++;
      if ((e->type == TX_EV_CANCELLED || e->type == TX_EV_EXPIRED) && e->remaining == 0) {
        resting[e->book_id]--;
      }
      if (e->type == TX_EV_TRADE && e->amount == 0) resting[e->book_id]--;
      if (e->type == TX_EV_ACCEPTED && e->order_id + 1 > max_order_id[e->book_id]) {
        max_order_id[e->book_id] = e->order_id + 1;
      }
      if (e->type == TX_EV_TRADE && (e->volume <= 0 || e->notional < 0)) {
        fprintf(stderr, "seed %llu step %d: bad trade\n", (unsigned long long)seed, step);
        return 1;
      }
    }
  }
  for (size_t i = 0; i < n_instr; i++) {
    if (outcomes[i] != 1) {
      fprintf(stderr, "seed %llu step %d: instruction %zu has %d outcomes\n",
              (unsigned long long)seed, step, i, outcomes[i]);
      return 1;
    }
  }
  return 0;
}

static void add_fuzz_accounts(tx_exchange *ex) {
  tx_add_account(ex, -1, B(5), Q(400));
  tx_add_account(ex, -2, B(2000), Q(1000000));
  tx_set_balances(ex, 3, 1, B(1), Q(50));
  /* Extra fee policies: zero, steep, maker rebate. */
  static const tx_fee_tier zero[1] = {{0, 0, 0}};
  static const tx_fee_tier steep[2] = {{0, 5000000, 4000000}, {QW(5000), 2000000, 3000000}};
  static const tx_fee_tier rebate[2] = {{0, -300000, 1000000}, {QW(3000), 4000000, 2000000}};
  uint32_t idx;
  tx_add_fee_policy(ex, zero, 1, &idx, NULL, 0);
  tx_add_fee_policy(ex, steep, 2, &idx, NULL, 0);
  tx_add_fee_policy(ex, rebate, 2, &idx, NULL, 0);
}
/* The one-instruction-per-call exchange and what its books must hold. */
typedef struct {
  tx_exchange *ex;
  int64_t base[BOOKS], quote[BOOKS]; /* quote with the fees taken added back */
  int64_t written_off[BOOKS][2];     /* base, quote */
} stepwise;

/* Drops its pending events, counting the loans written off. */
static void stepwise_drain(stepwise *s) {
  tx_event events[256];
  for (size_t n; (n = tx_drain_events(s->ex, events, 256)) > 0;) {
    for (size_t i = 0; i < n; i++) {
      const tx_event *e = &events[i];
      if (e->type == TX_EV_LOAN_SETTLED && e->book_id < BOOKS) {
        s->written_off[e->book_id][e->direction == TX_BUY ? 1 : 0] += e->amount;
      }
    }
  }
}

/* Takes the holdings as they are as the ones to conserve (at the start, after resets and
 * replaced balances). */
static void stepwise_rebase(stepwise *s) {
  stepwise_drain(s);
  for (uint32_t b = 0; b < BOOKS; b++) {
    tx_book_info info;
    tx_book_info_get(s->ex, b, &info);
    int64_t base, quote;
    book_totals(s->ex, b, &base, &quote);
    s->base[b] = base - s->written_off[b][0];
    s->quote[b] = quote - s->written_off[b][1] + info.fees_collected;
  }
}

static int stepwise_check(stepwise *s, int step, uint64_t seed, const char *after) {
  stepwise_drain(s);
  char err[256];
  if (tx_check(s->ex, err, sizeof err) != TX_OK) {
    fprintf(stderr, "seed %llu step %d, one per call, after %s: %s\n", (unsigned long long)seed,
            step, after, err);
    return 1;
  }
  for (uint32_t b = 0; b < BOOKS; b++) {
    tx_book_info info;
    tx_book_info_get(s->ex, b, &info);
    int64_t base, quote;
    book_totals(s->ex, b, &base, &quote);
    base -= s->written_off[b][0];
    quote += info.fees_collected - s->written_off[b][1];
    if (base != s->base[b] || quote != s->quote[b]) {
      fprintf(stderr, "seed %llu step %d book %u, one per call, after %s: not conserved\n",
              (unsigned long long)seed, step, b, after);
      return 1;
    }
  }
  return 0;
}

static unsigned char misaligned_buf[64 * 16 + 8];
static long long n_advance, n_setbal_ok, n_policy, n_misaligned, n_jumps;

/* The general-path twin's events for the same batch, byte for byte. */
static int same_as_general(tx_exchange *general, int step, uint64_t seed) {
  size_t n = tx_drain_events(general, general_events, sizeof general_events / sizeof *general_events);
  if (n != batch_event_count || memcmp(general_events, batch_events, n * sizeof *batch_events)) {
    fprintf(stderr, "seed %llu step %d: short and general paths differ\n", (unsigned long long)seed,
            step);
    return 1;
  }
  return 0;
}

static int same_balances(tx_exchange *a, tx_exchange *b, uint64_t seed) {
  for (int i = 0; i < AGENTS; i++) {
    for (uint32_t book = 0; book < BOOKS; book++) {
      tx_balances x, y;
      int rx = tx_balances_get(a, agent_ids[i], book, &x), ry = tx_balances_get(b, agent_ids[i], book, &y);
      if (rx != ry || (rx == TX_OK && memcmp(&x, &y, sizeof x) != 0)) {
        fprintf(stderr, "seed %llu: short and general paths leave different balances\n",
                (unsigned long long)seed);
        return 1;
      }
    }
  }
  return 0;
}


static tx_order snap_orders[1 << 15];
static tx_loan snap_loans[4096];
/* Cross-checks the snapshot API against balances and book info. */
static const char *snapshots_consistent(tx_exchange *ex) {
  for (uint32_t b = 0; b < BOOKS; b++) {
    tx_book_info info;
    if (tx_book_info_get(ex, b, &info) != TX_OK) return "book_info";
    int64_t total_orders = 0;
    for (int side = 0; side < 2; side++) {
      static int64_t prices[1 << 14], vols[1 << 14];
      int64_t nl = tx_book_levels(ex, b, side, prices, vols, 1 << 14);
      if (nl < 0 || nl != (side ? info.ask_levels : info.bid_levels)) return "level count";
      int64_t sum = 0;
      for (int64_t i = 0; i < nl; i++) {
        sum += vols[i];
        if (i == 0 && prices[0] != (side ? info.best_ask : info.best_bid)) return "best price";
        int64_t no = tx_level_orders(ex, b, side, (uint32_t)i, snap_orders, 1 << 15);
        if (no <= 0) return "empty level";
        int64_t lsum = 0;
        for (int64_t k = 0; k < no; k++) {
          if (snap_orders[k].price != prices[i] || snap_orders[k].direction != side) return "order on level";
          tx_order g;
          if (tx_order_get(ex, b, snap_orders[k].order_id, &g) != TX_OK || memcmp(&g, &snap_orders[k], sizeof g)) return "order_get";
          lsum += snap_orders[k].volume;
        }
        total_orders += no;
        (void)lsum;
      }
      if (sum != (side ? info.ask_volume : info.bid_volume)) return "side volume";
    }
    if (total_orders != info.order_count) return "order count";
    int64_t agent_orders = 0;
    for (int i = 0; i < AGENTS; i++) {
      tx_balances bal;
      if (tx_balances_get(ex, agent_ids[i], b, &bal) != TX_OK) return "balances";
      int64_t no = tx_agent_orders(ex, agent_ids[i], b, snap_orders, 1 << 15);
      if (no < 0) return "agent_orders";
      int64_t rb = 0, rq = 0;
      for (int64_t k = 0; k < no; k++) {
        if (k > 0 && snap_orders[k].order_id <= snap_orders[k - 1].order_id) return "agent order ids not ascending";
        if (snap_orders[k].agent_id != agent_ids[i] || snap_orders[k].book_id != b) return "agent order owner";
        rb += snap_orders[k].reserved_base;
        rq += snap_orders[k].reserved_quote;
      }
      if (rb != bal.base_reserved || rq != bal.quote_reserved) return "reservations vs orders";
      agent_orders += no;
      int64_t nln = tx_agent_loans(ex, agent_ids[i], b, snap_loans, 4096);
      if (nln < 0) return "agent_loans";
      int64_t lq = 0, lb = 0, cb = 0, cq = 0;
      for (int64_t k = 0; k < nln; k++) {
        if (snap_loans[k].direction == TX_BUY) lq += snap_loans[k].amount; else lb += snap_loans[k].amount;
        cb += snap_loans[k].collateral_base;
        cq += snap_loans[k].collateral_quote;
      }
      if (lq != bal.quote_loan || lb != bal.base_loan || cb != bal.base_collateral || cq != bal.quote_collateral) return "loans vs balances";
      tx_fee_state fs;
      if (tx_fee_state_get(ex, agent_ids[i], b, &fs) != TX_OK || fs.volume < 0) return "fee state";
    }
    if (agent_orders != info.order_count) return "agent orders vs book";
  }
  return NULL;
}

static int run_seed(uint64_t seed) {
  rng_state = seed * 0x2545F4914F6CDD1Dull + 1;
  tx_config c = fuzz_config(seed);
  tx_exchange *ex = open_exchange(&c);
  add_fuzz_accounts(ex);
  c.flags = TX_CFG_GENERAL_PATHS;
  tx_exchange *general = open_exchange(&c);
  add_fuzz_accounts(general);
  c.flags = 0;
  stepwise one = {.ex = open_exchange(&c)};
  add_fuzz_accounts(one.ex);
  stepwise_rebase(&one);
  for (uint32_t b = 0; b < BOOKS; b++) {
    book_totals(ex, b, &base_total[b], &quote_total[b]);
    max_order_id[b] = 0;
    resting[b] = 0;
    written_off[b][0] = written_off[b][1] = 0;
  }
  mid_price = 10000;
  uint64_t now = 0;
  char err[256];
  tx_instruction batch[64];
  notional_shift = (int)c.quote_decimals - (int)c.price_decimals - (int)c.base_decimals;
  last_ts = 0;
  for (int step = 0; step < STEPS_PER_SEED;) {
    now += (uint64_t)uniform(0, 3) * 100000000ull;
    if (uniform(0, 299) == 0) { now += (uint64_t)uniform(1, 40) * c.fee_slot_period_ns + (uint64_t)uniform(0, 999); n_jumps++; }
    drain_mode = (int)uniform(0, 2);
    /* Side operations the original stream never makes, mirrored on the twin. */
    int side = (int)uniform(0, 99);
    if (side < 8) {
      uint64_t back = (uint64_t)uniform(0, 1) * 50000000ull; /* sometimes a bit in the past */
      uint64_t t = now >= back ? now - back : 0; /* not wrapped round to the far future */
      /* Half of them leave the expiries due at t to the next call, as a simulation's step end. */
      int (*move)(tx_exchange *, uint64_t) = uniform(0, 1) ? tx_advance_before : tx_advance;
      int r1 = move(ex, t), r2 = move(general, t), r3 = move(one.ex, t);
      if (r1 != r2 || r1 != r3) { fprintf(stderr, "seed %llu step %d: advance rc differ\n", (unsigned long long)seed, step); goto fail; }
      if (r3 == TX_OK && stepwise_check(&one, step, seed, "an advance")) goto fail;
      if (r1 == TX_OK) {
        n_advance++;
        if (check_events(ex, NULL, 0, step, seed) || same_as_general(general, step, seed)) goto fail;
      } else if (r1 != TX_ERR_TIME) { fprintf(stderr, "advance %s\n", tx_errstr(r1)); goto fail; }
    } else if (side < 10) {
      int32_t agent = agent_ids[uniform(0, AGENTS - 1)];
      uint32_t pol = (uint32_t)uniform(0, 4);
      int r1 = tx_set_fee_policy(ex, agent, pol), r2 = tx_set_fee_policy(general, agent, pol);
      tx_set_fee_policy(one.ex, agent, pol);
      if (r1 != r2 || (pol < 4 && r1 != TX_OK) || (pol == 4 && r1 != TX_ERR_ARGUMENT)) { fprintf(stderr, "seed %llu step %d: set_fee_policy %d/%d\n", (unsigned long long)seed, step, r1, r2); goto fail; }
      n_policy++;
    } else if (side < 12) {
      int32_t agent = agent_ids[uniform(0, AGENTS - 1)];
      uint32_t book = (uint32_t)uniform(0, BOOKS);
      int64_t nb = uniform(0, 50) * B(1), nq = uniform(0, 50) * Q(100);
      int r1 = tx_set_balances(ex, agent, book, nb, nq), r2 = tx_set_balances(general, agent, book, nb, nq);
      /* Its books may differ from the twins' (expiries due now fire after each call), so it may
       * refuse where they accept: it is re-based on its own outcome. */
      if (tx_set_balances(one.ex, agent, book, nb, nq) == TX_OK) stepwise_rebase(&one);
      if (r1 != r2) { fprintf(stderr, "seed %llu step %d: set_balances rc differ\n", (unsigned long long)seed, step); goto fail; }
      if (book >= BOOKS && r1 != TX_ERR_BOOK) { fprintf(stderr, "set_balances bad book %s\n", tx_errstr(r1)); goto fail; }
      if (r1 == TX_OK) {
        n_setbal_ok++;
        tx_book_info info; tx_book_info_get(ex, book, &info);
        int64_t bb, qq; book_totals(ex, book, &bb, &qq);
        base_total[book] = bb - written_off[book][0];
        quote_total[book] = qq - written_off[book][1] + info.fees_collected;
      } else if (r1 != TX_ERR_BUSY && r1 != TX_ERR_BOOK) { fprintf(stderr, "set_balances %s\n", tx_errstr(r1)); goto fail; }
      tx_balances bb1, bb2;
      if (book < BOOKS && tx_balances_get(ex, agent, book, &bb1) == TX_OK && tx_balances_get(general, agent, book, &bb2) == TX_OK && memcmp(&bb1, &bb2, sizeof bb1)) { fprintf(stderr, "set_balances twins differ\n"); goto fail; }
    }
    /* A drifting price, so leveraged positions get margin-called. */
    mid_price += uniform(-30, 30);
    if (uniform(0, 499) == 0) mid_price += uniform(0, 1) ? 2000 : -2000; /* a shock */
    if (mid_price < 5000) mid_price = 5000;
    if (mid_price > 15000) mid_price = 15000;
    size_t n = uniform(0, 3) == 0 ? (size_t)uniform(1, 16) : 1;
    for (size_t i = 0; i < n; i++) batch[i] = random_instruction();
    /* Resets restore the initial balances: conservation is re-based after them. */
    bool resets = false;
    for (size_t i = 0; i < n; i++) resets |= batch[i].kind == TX_INSTR_RESET;
    int rc;
    if (uniform(0, 19) == 0) {
      size_t off = (size_t)uniform(1, 7);
      memcpy(misaligned_buf + off, batch, n * sizeof *batch);
      rc = tx_submit(ex, now, (const tx_instruction *)(const void *)(misaligned_buf + off), n);
      n_misaligned++;
    } else {
      rc = tx_submit(ex, now, batch, n);
    }
    if (rc != TX_OK) {
      fprintf(stderr, "seed %llu step %d: tx_submit %s\n", (unsigned long long)seed, step,
              tx_errstr(rc));
      goto fail;
    }
    step += (int)n;
    if (check_events(ex, batch, n, step, seed)) goto fail;
    if (tx_submit(general, now, batch, n) != TX_OK || same_as_general(general, step, seed)) goto fail;
    if (tx_advance(one.ex, now) != TX_OK || stepwise_check(&one, step, seed, "the clock")) goto fail;
    for (size_t i = 0; i < n; i++) {
      if (tx_submit(one.ex, now, &batch[i], 1) != TX_OK) goto fail;
      if (batch[i].kind == TX_INSTR_RESET) stepwise_rebase(&one);
      if (stepwise_check(&one, step, seed, "an instruction")) goto fail;
    }
    if (uniform(0, 49) == 0) {
      const char *why = snapshots_consistent(ex);
      if (why != NULL) { fprintf(stderr, "seed %llu step %d: snapshots: %s\n", (unsigned long long)seed, step, why); goto fail; }
    }
    if (tx_check(ex, err, sizeof err) != TX_OK) {
      fprintf(stderr, "seed %llu step %d: %s\n", (unsigned long long)seed, step, err);
      goto fail;
    }
    for (uint32_t b = 0; b < BOOKS; b++) {
      tx_book_info info;
      tx_book_info_get(ex, b, &info);
      int64_t base, quote;
      book_totals(ex, b, &base, &quote);
      base -= written_off[b][0];
      quote -= written_off[b][1];
      if (resets) {
        base_total[b] = base;
        quote_total[b] = quote + info.fees_collected;
      }
      if (base != base_total[b] || quote + info.fees_collected != quote_total[b]) {
        fprintf(stderr, "seed %llu step %d book %u: not conserved (base %lld vs %lld, quote %lld vs %lld)\n",
                (unsigned long long)seed, step, b, (long long)base, (long long)base_total[b],
                (long long)(quote + info.fees_collected), (long long)quote_total[b]);
        goto fail;
      }
      if ((long long)info.order_count != resting[b]) {
        fprintf(stderr, "seed %llu step %d book %u: %u orders, events say %lld\n",
                (unsigned long long)seed, step, b, info.order_count, resting[b]);
        goto fail;
      }
    }
  }
  if (same_balances(ex, general, seed)) goto fail;
  tx_close(ex);
  tx_close(general);
  tx_close(one.ex);
  return 0;
fail:
  tx_close(ex);
  tx_close(general);
  tx_close(one.ex);
  return 1;
}

int main(void) {
  for (uint64_t seed = SEED0; seed < SEED0 + SEEDS; seed++) {
    if (run_seed(seed)) return 1;
  }
  printf("exchange fuzz: %d instructions over %d seeds (%lld margin calls), all invariants held,"
         " short paths identical to the general path\n",
         STEPS_PER_SEED * SEEDS, SEEDS, margin_calls);
  printf("advances %lld, policy switches %lld, set_balances ok %lld, misaligned submits %lld, jumps %lld\n", n_advance, n_policy, n_setbal_ok, n_misaligned, n_jumps);
  if (margin_calls == 0) {
    fprintf(stderr, "exchange fuzz: no margin call was exercised\n");
    return 1;
  }
  return 0;
}
