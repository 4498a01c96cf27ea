/* Shared helpers for the exchange core's C tests: configs, instruction builders, event capture
 * and assertions that count failures instead of aborting. */
#ifndef EXCHANGE_HARNESS_H
#define EXCHANGE_HARNESS_H

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "taos_exchange.h"

#define EXPECT(cond) CHECK(cond)

#define EXPECT_EQ(a, b)                                                                            \
  do {                                                                                             \
    long long ea_ = (long long)(a), eb_ = (long long)(b);                                          \
    if (ea_ != eb_) {                                                                              \
      failures++;                                                                                  \
      fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #a, ea_,    \
              #b, eb_);                                                                            \
    }                                                                                              \
  } while (0)

/* Scenario units (config T): price 2 decimals, base 4, quote 10. */
#define P(x) ((int64_t)llround((x) * 1e2))
#define B(x) ((int64_t)llround((x) * 1e4))
#define Q(x) ((int64_t)llround((x) * 1e10))
/* Whole quote units as a constant expression, for static initializers (clang does not fold llround). */
#define QW(n) ((int64_t)(n) * 10000000000LL)
#define SEC(x) ((uint64_t)(x) * 1000000000ull)

enum { A = 0, BB = 1, C = 2, D = 3 };

/* Config T of the conformance scenarios (Z when zero_fee). */
static inline tx_config config_t(int zero_fee, uint32_t books) {
  tx_config c;
  memset(&c, 0, sizeof c);
  c.book_count = books;
  c.price_decimals = 2;
  c.volume_decimals = 4;
  c.base_decimals = 4;
  c.quote_decimals = 10;
  c.agent_count = 4;
  c.default_base = B(100);
  c.default_quote = Q(10000);
  c.max_leverage_e9 = 4000000000LL;
  c.max_loan = Q(10000);
  c.maintenance_margin_e9 = 100000000LL;
  c.fee_slot_period_ns = SEC(3600);
  c.fee_history_slots = 2;
  if (zero_fee) {
    c.fee_tier_count = 1;
  } else {
    c.fee_tier_count = 2;
    c.fee_tiers[0] = (tx_fee_tier){0, 1000000, 2000000};
    c.fee_tiers[1] = (tx_fee_tier){Q(1000), 500000, 1000000};
  }
  return c;
}

static inline tx_exchange *open_exchange(const tx_config *c) {
  tx_exchange *ex = NULL;
  char err[256];
  int rc = tx_open(c, &ex, err, sizeof err);
  if (rc != TX_OK) {
    fprintf(stderr, "tx_open: %s: %s\n", tx_errstr(rc), err);
    exit(2);
  }
  return ex;
}

static inline tx_instruction limit_order(int agent, int dir, int64_t volume, int64_t price) {
  tx_instruction in;
  memset(&in, 0, sizeof in);
  in.kind = TX_INSTR_LIMIT;
  in.direction = (uint8_t)dir;
  in.stp = TX_STP_CO;
  in.agent_id = agent;
  in.client_order_id = TX_NONE;
  in.volume = volume;
  in.price = price;
  return in;
}

static inline tx_instruction market_order(int agent, int dir, int64_t volume) {
  tx_instruction in = limit_order(agent, dir, volume, 0);
  in.kind = TX_INSTR_MARKET;
  return in;
}

static inline tx_instruction cancel_order(int agent, uint32_t order_id) {
  tx_instruction in = limit_order(agent, 0, 0, 0);
  in.kind = TX_INSTR_CANCEL;
  in.order_id = order_id;
  return in;
}

/* Cancels `volume` of the order (TX_IF_PARTIAL). */
static inline tx_instruction partial_cancel(int agent, uint32_t order_id, int64_t volume) {
  tx_instruction in = cancel_order(agent, order_id);
  in.flags = TX_IF_PARTIAL;
  in.volume = volume;
  return in;
}

/* Events of the last `run` call. */
static tx_event events[4096];
static size_t event_count;

static inline void drain(tx_exchange *ex) {
  event_count = tx_drain_events(ex, events, sizeof events / sizeof *events);
}

static uint64_t clock_ns = 0;

/* Submits one instruction at the current test clock and captures its events. */
static inline void run(tx_exchange *ex, tx_instruction in) {
  int rc = tx_submit(ex, clock_ns, &in, 1);
  if (rc != TX_OK) {
    failures++;
    fprintf(stderr, "tx_submit: %s\n", tx_errstr(rc));
  }
  drain(ex);
}

/* The k-th event of a type in the last capture, or NULL. */
static inline const tx_event *nth_event(int type, int k) {
  for (size_t i = 0; i < event_count; i++) {
    if (events[i].type == type && k-- == 0) return &events[i];
  }
  return NULL;
}

static inline int count_events(int type) {
  int n = 0;
  for (size_t i = 0; i < event_count; i++) n += events[i].type == type;
  return n;
}

/* The reason of the last capture's rejection, or -1 when nothing was rejected. */
static inline int rejection(void) {
  const tx_event *e = nth_event(TX_EV_REJECTED, 0);
  return e == NULL ? -1 : e->reason;
}

/* The order id of the last capture's acceptance, or -1. */
static inline long long accepted_id(void) {
  const tx_event *e = nth_event(TX_EV_ACCEPTED, 0);
  return e == NULL ? -1 : (long long)e->order_id;
}

static inline tx_balances balances(tx_exchange *ex, int agent, uint32_t book) {
  tx_balances b;
  memset(&b, 0, sizeof b);
  int rc = tx_balances_get(ex, agent, book, &b);
  if (rc != TX_OK) {
    failures++;
    fprintf(stderr, "tx_balances_get(%d): %s\n", agent, tx_errstr(rc));
  }
  return b;
}

static inline void check_invariants(tx_exchange *ex) {
  char err[256];
  int rc = tx_check(ex, err, sizeof err);
  if (rc != TX_OK) {
    failures++;
    fprintf(stderr, "tx_check: %s\n", err);
  }
}

#endif
