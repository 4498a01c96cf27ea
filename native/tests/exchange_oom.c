/* Allocation failures, one at a time, at every allocation a seeded random stream makes (cash and
 * leveraged orders, GTT expiries, partial cancels, resets, margin calls, over two books), in the
 * manner of SQLite's out-of-memory tests. A call that meets one returns TX_ERR_NOMEM, and the
 * exchange must stay whole: tx_check passes after every call, base and quote stay conserved in
 * every book (read from the books' own totals, so a lost event cannot hide a difference), the
 * calls after it succeed, no GTT order outlives its expiry, and nothing leaks (ASan). The failures
 * this guards against: a fill whose new loan finds no memory leaving the borrowed quote in the book
 * with no loan for it, and a GTT order whose expiry finds none resting with no expiry.
 *
 * The library sources are compiled into this test, with their allocator calls routed through a
 * counter that fails the one chosen. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static long allocations, failing_allocation = -1;
static int allocation_fails(void) { return ++allocations == failing_allocation; }
/* The library calls malloc nowhere today; routed all the same, so that a new call is counted. */
__attribute__((unused)) static void *counted_malloc(size_t n) { return allocation_fails() ? NULL : malloc(n); }
static void *counted_calloc(size_t count, size_t n) {
  return allocation_fails() ? NULL : calloc(count, n);
}
static void *counted_realloc(void *p, size_t n) { return allocation_fails() ? NULL : realloc(p, n); }
static void *counted_aligned_alloc(size_t alignment, size_t n) {
  return allocation_fails() ? NULL : aligned_alloc(alignment, n);
}
#define malloc(n) counted_malloc(n)
#define calloc(count, n) counted_calloc(count, n)
#define realloc(p, n) counted_realloc(p, n)
#define aligned_alloc(alignment, n) counted_aligned_alloc(alignment, n)
#include "../src/exchange.c"
#include "../src/exchange_book.c"
#include "../src/exchange_margin.c"
#include "../src/exchange_order.c"
#undef malloc
#undef calloc
#undef realloc
#undef aligned_alloc
#undef CHECK /* the library's; the harness brings its own */

#include "exchange_harness.h"
#include "seeded_random.h"

#define BOOKS 2
#define STEPS 300
#define SEEDS 4
static const int32_t agent_ids[] = {0, 1, 2, -1};
#define AGENTS ((int)(sizeof agent_ids / sizeof *agent_ids))
/* The client order id of every GTT order, so that the test can tell them apart. */
#define GTT_CLIENT_ID 0x677u

/* Where the stream's limit prices gather; it jumps now and then, so that margin calls fire. */
static int64_t mid_price;

static tx_instruction random_instruction(void) {
  tx_instruction in;
  memset(&in, 0, sizeof in);
  int roll = (int)uniform(0, 99);
  in.agent_id = agent_ids[uniform(0, AGENTS - 1)];
  in.book_id = (uint32_t)uniform(0, BOOKS - 1);
  in.client_order_id = TX_NONE;
  in.direction = (uint8_t)uniform(0, 1);
  in.stp = (uint8_t)uniform(0, 4);
  if (uniform(0, 4) == 0) in.leverage_e9 = uniform(1, 6) * 500000000LL;
  if (roll < 55) {
    in.kind = TX_INSTR_LIMIT;
    in.price = (in.direction == TX_BUY ? mid_price - 5 : mid_price + 5) + uniform(-15, 15);
    in.volume = uniform(1, 40) * B(0.25);
    in.time_in_force =
        (uint8_t)(uniform(0, 3) == 0 ? TX_GTT : uniform(0, 2) == 0 ? uniform(0, 3) : TX_GTC);
    if (in.time_in_force == TX_GTT) {
      in.expiry_ns = (uint64_t)uniform(0, 5) * SEC(1);
      in.client_order_id = GTT_CLIENT_ID;
    }
  } else if (roll < 70) {
    in.kind = TX_INSTR_MARKET;
    in.volume = uniform(1, 60) * B(0.25);
  } else if (roll < 97) {
    in.kind = TX_INSTR_CANCEL;
    in.order_id = (uint32_t)uniform(0, 400);
    if (uniform(0, 2) == 0) {
      in.flags = TX_IF_PARTIAL;
      in.volume = uniform(0, 8) * B(0.25);
    }
  } else {
    in.kind = TX_INSTR_RESET;
  }
  return in;
}

/* What a book's accounts hold, less what it was given and what its loans created, plus the fees
 * it took: constant while assets are conserved (written-off loans stay in what loans created).
 * A reset changes it (the account's loans go, what they created stays counted), so the stream
 * takes it again after a batch with one. */
static void imbalance(const tx_exchange *ex, uint32_t b, int64_t *base, int64_t *quote) {
  const x_book *book = &ex->books[b];
  __int128 held_base = 0, held_quote = 0;
  for (int i = 0; i < AGENTS; i++) {
    tx_balances x;
    if (tx_balances_get(ex, agent_ids[i], b, &x) != TX_OK) continue;
    held_base += x.base_free + x.base_reserved + x.base_collateral;
    held_quote += x.quote_free + x.quote_reserved + x.quote_collateral;
  }
  *base = (int64_t)(held_base - book->held_base - book->lent_base);
  *quote = (int64_t)(held_quote - book->held_quote - book->lent_quote + book->fees);
}

/* A resting GTT order with no expiry scheduled for it, or NULL. */
static const char *unscheduled_gtt(const tx_exchange *ex, char *err, size_t err_len) {
  for (uint32_t b = 0; b < BOOKS; b++) {
    for (int i = 0; i < AGENTS; i++) {
      tx_order orders[256];
      int64_t n = tx_agent_orders(ex, agent_ids[i], b, orders, 256);
      for (int64_t k = 0; k < n && k < 256; k++) {
        if (orders[k].client_order_id != GTT_CLIENT_ID) continue;
        bool scheduled = false;
        for (size_t t = 0; t < ex->timer_n && !scheduled; t++) {
          scheduled = ex->timers[t].book == b && ex->timers[t].order_id == orders[k].order_id;
        }
        if (!scheduled) {
          snprintf(err, err_len, "book %u: GTT order %u rests with no expiry", b,
                   orders[k].order_id);
          return err;
        }
      }
    }
  }
  return NULL;
}

/* Runs one seed's stream; returns the number of calls that met TX_ERR_NOMEM, or -1 after the
 * first broken invariant (reported). */
static int run_stream(uint64_t seed) {
  rng_state = seed;
  mid_price = 10000;
  tx_config c = config_t(0, BOOKS);
  c.agent_count = 3;
  c.max_loan = Q(100000);
  tx_exchange *ex = NULL;
  char err[256];
  if (tx_open(&c, &ex, err, sizeof err) != TX_OK) return 1; /* tx_open met the failure */
  int nomem = 0;
  if (tx_add_account(ex, -1, B(50), Q(5000)) != TX_OK) nomem++;
  int64_t base0[BOOKS], quote0[BOOKS];
  for (uint32_t b = 0; b < BOOKS; b++) imbalance(ex, b, &base0[b], &quote0[b]);
  uint64_t now = 0;
  for (int step = 0; step < STEPS; step++) {
    tx_instruction batch[16];
    int n = (int)uniform(1, 16);
    bool resets = false;
    for (int i = 0; i < n; i++) {
      batch[i] = random_instruction();
      resets |= batch[i].kind == TX_INSTR_RESET;
    }
    now += (uint64_t)uniform(0, 2) * SEC(1) / 2;
    if (uniform(0, 14) == 0) mid_price = mid_price * uniform(60, 140) / 100;
    int rc = uniform(0, 9) == 0 ? tx_advance(ex, now) : tx_submit(ex, now, batch, (size_t)n);
    tx_event events[64];
    while (tx_drain_events(ex, events, 64) > 0) {
    }
    const char *broken = NULL;
    if (rc == TX_ERR_NOMEM) nomem++;
    else if (rc != TX_OK) broken = tx_errstr(rc);
    else if (tx_check(ex, err, sizeof err) != TX_OK) broken = err;
    if (broken == NULL) broken = unscheduled_gtt(ex, err, sizeof err);
    for (uint32_t b = 0; b < BOOKS && broken == NULL; b++) {
      int64_t base, quote;
      imbalance(ex, b, &base, &quote);
      if (resets) {
        base0[b] = base;
        quote0[b] = quote;
      } else if (base != base0[b] || quote != quote0[b]) {
        snprintf(err, sizeof err, "book %u not conserved (base %lld, quote %lld units off)", b,
                 (long long)(base - base0[b]), (long long)(quote - quote0[b]));
        broken = err;
      }
    }
    if (broken != NULL) {
      fprintf(stderr, "seed %llu, allocation %ld failing, step %d: %s\n", (unsigned long long)seed,
              failing_allocation, step, broken);
      tx_close(ex);
      return -1;
    }
  }
  tx_close(ex);
  return nomem;
}

int main(void) {
  long runs = 0, met = 0;
  for (uint64_t seed = 1; seed <= SEEDS; seed++) {
    allocations = 0;
    failing_allocation = -1;
    EXPECT_EQ(run_stream(seed), 0);
    long total = allocations;
    for (long k = 1; k <= total; k++) {
      allocations = 0;
      failing_allocation = k;
      int nomem = run_stream(seed);
      if (nomem < 0) failures++;
      else met += nomem > 0;
      runs++;
    }
  }
  /* Nearly every allocation is made inside a call, so nearly every run meets its failure. */
  EXPECT(met * 2 > runs);
  printf("exchange out-of-memory: %ld runs, %ld met TX_ERR_NOMEM; %s\n", runs, met,
         failures ? "FAILED" : "all whole");
  return failures ? 1 : 0;
}
