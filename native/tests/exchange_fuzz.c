/* Seeded random instruction streams (cash and leveraged, with a drifting price so margin calls
 * fire) through the exchange core, checking after every step: the book is never crossed and is
 * internally consistent, no balance is negative, reservations equal what open orders need and
 * loan totals equal the loans (tx_check), base and quote are conserved per book (collateral,
 * loans, fees and written-off loans counted), every instruction has exactly one outcome event,
 * and the resting order count follows the events. A second exchange with TX_CFG_GENERAL_PATHS
 * runs the same stream in lockstep: the short paths for common cases must give byte-identical
 * events and balances. */
#include "exchange_harness.h"

#define BOOKS 2
#define AGENTS 6
#define STEPS_PER_SEED 125000
#define SEEDS 8

static uint64_t rng_state;

static uint64_t next_random(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static int64_t uniform(int64_t lo, int64_t hi) { /* inclusive */
  return lo + (int64_t)(next_random() % (uint64_t)(hi - lo + 1));
}

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
    if (in.time_in_force == TX_GTT) in.expiry_ns = (uint64_t)uniform(0, 4) * SEC(1);
    in.post_only = uniform(0, 9) == 0;
    if (uniform(0, 9) == 0 && in.leverage_e9 == 0) {
      in.currency = TX_CURRENCY_QUOTE;
      in.volume = uniform(1, 3000) * Q(0.5);
    }
  } else if (roll < 65) {
    in.kind = TX_INSTR_MARKET;
    in.volume = uniform(1, 20) * B(0.25);
    if (uniform(0, 4) == 0 && in.leverage_e9 == 0) {
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
    in.kind = uniform(0, 4) == 0 ? TX_INSTR_RESET : TX_INSTR_CANCEL;
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
    default: in.volume = INT64_MAX - uniform(0, 5); in.price = INT64_MAX - uniform(0, 5);
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
static int check_events(tx_exchange *ex, size_t n_instr, int step, uint64_t seed) {
  size_t n = tx_drain_events(ex, batch_events, sizeof batch_events / sizeof *batch_events);
  batch_event_count = n;
  if (tx_pending_events(ex) != 0) {
    fprintf(stderr, "seed %llu step %d: event buffer too small\n", (unsigned long long)seed, step);
    return 1;
  }
  int outcomes[64] = {0};
  for (size_t i = 0; i < n; i++) {
    const tx_event *e = &batch_events[i];
    if (e->type == TX_EV_MARGIN_CALL) margin_calls++;
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
}

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

static int run_seed(uint64_t seed) {
  rng_state = seed * 0x2545F4914F6CDD1Dull + 1;
  tx_config c = fuzz_config(seed);
  tx_exchange *ex = open_exchange(&c);
  add_fuzz_accounts(ex);
  c.flags = TX_CFG_GENERAL_PATHS;
  tx_exchange *general = open_exchange(&c);
  add_fuzz_accounts(general);
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
  for (int step = 0; step < STEPS_PER_SEED;) {
    now += (uint64_t)uniform(0, 3) * 100000000ull;
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
    int rc = tx_submit(ex, now, batch, n);
    if (rc != TX_OK) {
      fprintf(stderr, "seed %llu step %d: tx_submit %s\n", (unsigned long long)seed, step,
              tx_errstr(rc));
      goto fail;
    }
    step += (int)n;
    if (check_events(ex, n, step, seed)) goto fail;
    if (tx_submit(general, now, batch, n) != TX_OK || same_as_general(general, step, seed)) goto fail;
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
  return 0;
fail:
  tx_close(ex);
  tx_close(general);
  return 1;
}

int main(void) {
  for (uint64_t seed = 1; seed <= SEEDS; seed++) {
    if (run_seed(seed)) return 1;
  }
  printf("exchange fuzz: %d instructions over %d seeds (%lld margin calls), all invariants held,"
         " short paths identical to the general path\n",
         STEPS_PER_SEED * SEEDS, SEEDS, margin_calls);
  if (margin_calls == 0) {
    fprintf(stderr, "exchange fuzz: no margin call was exercised\n");
    return 1;
  }
  return 0;
}
