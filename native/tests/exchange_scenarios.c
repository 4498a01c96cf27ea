/* The exchange specification's conformance scenarios (section 9) at the C level, and the limits
 * of the core's ranges. */
#include "exchange_harness.h"
/* Only to start a book near the end of its order ids. */
#include "../src/exchange_internal.h"

#define EXPECT_BAL(ex, agent, bf, br, qf, qr)                                                      \
  do {                                                                                             \
    tx_balances b_ = balances(ex, agent, 0);                                                       \
    EXPECT_EQ(b_.base_free, bf);                                                                   \
    EXPECT_EQ(b_.base_reserved, br);                                                               \
    EXPECT_EQ(b_.quote_free, qf);                                                                  \
    EXPECT_EQ(b_.quote_reserved, qr);                                                              \
  } while (0)

/* Levels of one side as flat (price, volume) pairs, best first; returns the level count. */
static int64_t levels(tx_exchange *ex, int side, int64_t *prices, int64_t *volumes) {
  return tx_book_levels(ex, 0, side, prices, volumes, 16);
}

static tx_exchange *fresh(int zero_fee) {
  clock_ns = SEC(1);
  tx_config c = config_t(zero_fee, 1);
  return open_exchange(&c);
}

static tx_instruction with_leverage(tx_instruction in, int64_t leverage_e9) {
  in.leverage_e9 = leverage_e9;
  return in;
}

static tx_instruction with_time_in_force(tx_instruction in, int time_in_force) {
  in.time_in_force = (uint8_t)time_in_force;
  return in;
}

static tx_instruction with_stp(tx_instruction in, int stp) {
  in.stp = (uint8_t)stp;
  return in;
}

/* Advances the exchange to `t` (the test clock stays) and captures the events. */
static void advance_to(tx_exchange *ex, uint64_t t) {
  EXPECT_EQ(tx_advance(ex, t), TX_OK);
  drain(ex);
}

/* Moves the test clock on by `ns`, advances the exchange to it and captures the events. */
static void advance_by(tx_exchange *ex, uint64_t ns) {
  clock_ns += ns;
  advance_to(ex, clock_ns);
}

static void expect_trade(const tx_event *t, uint32_t aggr, uint32_t rest, int64_t vol,
                         int64_t price, int64_t maker_fee, int64_t taker_fee, int line) {
  if (t == NULL) {
    failures++;
    fprintf(stderr, "line %d: trade missing\n", line);
    return;
  }
  if (t->order_id != aggr || t->resting_order_id != rest || t->volume != vol ||
      t->price != price || t->maker_fee != maker_fee || t->taker_fee != taker_fee) {
    failures++;
    fprintf(stderr,
            "line %d: trade aggr %u rest %u vol %lld price %lld fM %lld fT %lld; expected %u %u "
            "%lld %lld %lld %lld\n",
            line, t->order_id, t->resting_order_id, (long long)t->volume, (long long)t->price,
            (long long)t->maker_fee, (long long)t->taker_fee, aggr, rest, (long long)vol,
            (long long)price, (long long)maker_fee, (long long)taker_fee);
  }
}
#define EXPECT_TRADE(k, ...) expect_trade(nth_event(TX_EV_TRADE, k), __VA_ARGS__, __LINE__)

static void s01_resting_buy(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(A, TX_BUY, B(2), P(100)));
  EXPECT_EQ(accepted_id(), 0);
  EXPECT_EQ(count_events(TX_EV_PLACED), 1);
  EXPECT_BAL(ex, A, B(100), 0, Q(9799.8), Q(200.2));
  int64_t p[16], v[16];
  EXPECT_EQ(levels(ex, TX_BUY, p, v), 1);
  EXPECT_EQ(p[0], P(100));
  EXPECT_EQ(v[0], B(2));
  check_invariants(ex);
  tx_close(ex);
}

static void s02_resting_sell(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(C, TX_SELL, B(3), P(101)));
  EXPECT_BAL(ex, C, B(97), B(3), Q(10000), 0);
  int64_t p[16], v[16];
  EXPECT_EQ(levels(ex, TX_SELL, p, v), 1);
  EXPECT_EQ(p[0], P(101));
  tx_close(ex);
}

static void s03_crossing_sell(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(A, TX_BUY, B(2), P(100)));
  run(ex, limit_order(BB, TX_SELL, B(3), P(99)));
  EXPECT_TRADE(0, 1, 0, B(2), P(100), Q(0.2), Q(0.4));
  EXPECT_EQ(nth_event(TX_EV_TRADE, 0)->direction, TX_SELL);
  /* Event order: trade, place (remainder 1), accepted. */
  EXPECT_EQ(events[0].type, TX_EV_TRADE);
  EXPECT_EQ(events[1].type, TX_EV_PLACED);
  EXPECT_EQ(events[1].remaining, B(1));
  EXPECT_EQ(events[2].type, TX_EV_ACCEPTED);
  EXPECT_BAL(ex, A, B(102), 0, Q(9799.8), 0);
  EXPECT_BAL(ex, BB, B(97), B(1), Q(10199.6), 0);
  int64_t p[16], v[16];
  EXPECT_EQ(levels(ex, TX_BUY, p, v), 0);
  EXPECT_EQ(levels(ex, TX_SELL, p, v), 1);
  EXPECT_EQ(p[0], P(99));
  EXPECT_EQ(v[0], B(1));
  check_invariants(ex);
  tx_close(ex);
}

static void s04_crossing_buy(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(C, TX_SELL, B(1), P(100)));
  run(ex, limit_order(A, TX_BUY, B(3), P(101)));
  EXPECT_TRADE(0, 1, 0, B(1), P(100), Q(0.1), Q(0.2));
  EXPECT_BAL(ex, A, B(101), 0, Q(9697.598), Q(202.202));
  EXPECT_BAL(ex, C, B(99), 0, Q(10099.9), 0);
  int64_t p[16], v[16];
  EXPECT_EQ(levels(ex, TX_BUY, p, v), 1);
  EXPECT_EQ(p[0], P(101));
  EXPECT_EQ(v[0], B(2));
  EXPECT_EQ(levels(ex, TX_SELL, p, v), 0);
  check_invariants(ex);
  tx_close(ex);
}

static void s05_market_sweep(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(C, TX_SELL, B(1), P(100)));
  run(ex, limit_order(C, TX_SELL, B(2), P(101)));
  run(ex, limit_order(C, TX_SELL, B(3), P(102)));
  run(ex, market_order(A, TX_BUY, B(2.5)));
  EXPECT_EQ(accepted_id(), 3);
  EXPECT_EQ(count_events(TX_EV_TRADE), 2);
  EXPECT_TRADE(0, 3, 0, B(1), P(100), Q(0.1), Q(0.2));
  EXPECT_TRADE(1, 3, 1, B(1.5), P(101), Q(0.1515), Q(0.303));
  EXPECT_EQ(count_events(TX_EV_PLACED), 0);
  EXPECT_EQ(count_events(TX_EV_REMAINDER_DROPPED), 0);
  EXPECT_BAL(ex, A, B(102.5), 0, Q(9747.997), 0);
  EXPECT_BAL(ex, C, B(94), B(3.5), Q(10251.2485), 0);
  int64_t p[16], v[16];
  EXPECT_EQ(levels(ex, TX_SELL, p, v), 2);
  EXPECT_EQ(v[0], B(0.5));
  EXPECT_EQ(p[1], P(102));
  check_invariants(ex);
  tx_close(ex);
}

static void s06_market_larger_than_book(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(C, TX_SELL, B(1), P(100)));
  run(ex, limit_order(C, TX_SELL, B(1), P(101)));
  run(ex, market_order(A, TX_BUY, B(5)));
  EXPECT_EQ(count_events(TX_EV_TRADE), 2);
  EXPECT_EQ(rejection(), -1);
  const tx_event *drop = nth_event(TX_EV_REMAINDER_DROPPED, 0);
  EXPECT(drop != NULL && drop->volume == B(3));
  EXPECT_BAL(ex, A, B(102), 0, Q(9798.598), 0);
  EXPECT_BAL(ex, C, B(98), 0, Q(10200.799), 0);
  int64_t p[16], v[16];
  EXPECT_EQ(levels(ex, TX_SELL, p, v), 0);
  check_invariants(ex);
  tx_close(ex);
}

static void s07_market_sell_larger_than_book(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(C, TX_BUY, B(1), P(99)));
  EXPECT_BAL(ex, C, B(100), 0, Q(10000 - 99.099), Q(99.099));
  run(ex, market_order(A, TX_SELL, B(3)));
  EXPECT_TRADE(0, 1, 0, B(1), P(99), Q(0.099), Q(0.198));
  EXPECT_BAL(ex, A, B(99), 0, Q(10098.802), 0);
  EXPECT_BAL(ex, C, B(101), 0, Q(9900.901), 0);
  check_invariants(ex);
  tx_close(ex);
}

static void s08_market_buy_in_quote(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(C, TX_SELL, B(2), P(100)));
  run(ex, limit_order(C, TX_SELL, B(2), P(101)));
  tx_instruction in = market_order(A, TX_BUY, Q(250));
  in.currency = TX_CURRENCY_QUOTE;
  run(ex, in);
  EXPECT_EQ(nth_event(TX_EV_ACCEPTED, 0)->volume, B(2.495));
  EXPECT_TRADE(0, 2, 0, B(2), P(100), Q(0.2), Q(0.4));
  EXPECT_TRADE(1, 2, 1, B(0.495), P(101), Q(0.049995), Q(0.09999));
  EXPECT_EQ(nth_event(TX_EV_TRADE, 1)->notional, Q(49.995));
  EXPECT_BAL(ex, A, B(102.495), 0, Q(9749.50501), 0);
  EXPECT_BAL(ex, C, B(96), B(1.505), Q(10249.745005), 0);
  int64_t p[16], v[16];
  EXPECT_EQ(levels(ex, TX_SELL, p, v), 1);
  EXPECT_EQ(v[0], B(1.505));
  check_invariants(ex);
  tx_close(ex);
  /* The amount is reserved with the taker fee: Q(250) at 0.2 % needs Q(250.5) free, and one unit
   * less is refused with nothing traded. */
  ex = fresh(0);
  run(ex, limit_order(C, TX_SELL, B(2), P(100)));
  run(ex, limit_order(C, TX_SELL, B(2), P(101)));
  EXPECT_EQ(tx_set_balances(ex, A, 0, B(100), Q(250.5) - 1), TX_OK);
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_INSUFFICIENT_QUOTE);
  EXPECT_EQ(count_events(TX_EV_TRADE), 0);
  EXPECT_EQ(tx_set_balances(ex, A, 0, B(100), Q(250.5)), TX_OK);
  run(ex, in);
  EXPECT_EQ(count_events(TX_EV_TRADE), 2);
  EXPECT_BAL(ex, A, B(102.495), 0, Q(250.5 - 250.49499), 0);
  check_invariants(ex);
  tx_close(ex);
}

static void s09_ioc_partial(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(C, TX_SELL, B(1), P(100)));
  run(ex, limit_order(C, TX_SELL, B(2), P(102)));
  tx_instruction in = with_time_in_force(limit_order(A, TX_BUY, B(3), P(101)), TX_IOC);
  run(ex, in);
  EXPECT_EQ(nth_event(TX_EV_ACCEPTED, 0)->volume, B(1));
  EXPECT_TRADE(0, 2, 0, B(1), P(100), Q(0.1), Q(0.2));
  EXPECT_EQ(count_events(TX_EV_PLACED), 0);
  EXPECT_BAL(ex, A, B(101), 0, Q(9899.8), 0);
  EXPECT_BAL(ex, C, B(97), B(2), Q(10099.9), 0);
  check_invariants(ex);
  tx_close(ex);
}

static void s10_ioc_nothing(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(C, TX_SELL, B(1), P(102)));
  tx_instruction in = with_time_in_force(limit_order(A, TX_BUY, B(1), P(101)), TX_IOC);
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_CONTRACT_VIOLATION);
  tx_book_info info;
  tx_book_info_get(ex, 0, &info);
  EXPECT_EQ(info.next_order_id, 1);
  EXPECT_BAL(ex, A, B(100), 0, Q(10000), 0);
  tx_close(ex);
}

static void s11_fok_success(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(C, TX_SELL, B(1), P(100)));
  run(ex, limit_order(C, TX_SELL, B(2), P(101)));
  tx_instruction in = with_time_in_force(limit_order(A, TX_BUY, B(2), P(101)), TX_FOK);
  run(ex, in);
  EXPECT_EQ(count_events(TX_EV_TRADE), 2);
  EXPECT_BAL(ex, A, B(102), 0, Q(9798.598), 0);
  EXPECT_BAL(ex, C, B(97), B(1), Q(10200.799), 0);
  int64_t p[16], v[16];
  EXPECT_EQ(levels(ex, TX_SELL, p, v), 1);
  EXPECT_EQ(v[0], B(1));
  check_invariants(ex);
  tx_close(ex);
}

static void s12_fok_failure(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(C, TX_SELL, B(1), P(100)));
  run(ex, limit_order(C, TX_SELL, B(2), P(102)));
  tx_instruction in = with_time_in_force(limit_order(A, TX_BUY, B(2), P(101)), TX_FOK);
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_CONTRACT_VIOLATION);
  EXPECT_BAL(ex, A, B(100), 0, Q(10000), 0);
  tx_close(ex);
  /* Variant: the book runs out before the limit (strict fill-or-kill). */
  ex = fresh(0);
  run(ex, limit_order(C, TX_SELL, B(1), P(100)));
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_CONTRACT_VIOLATION);
  in.stp = TX_STP_NONE;
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_CONTRACT_VIOLATION);
  /* One lot (B(0.0001)) more than the book holds within the limit is refused as well, and the
   * book is left whole. */
  in.volume = B(1.0001);
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_CONTRACT_VIOLATION);
  EXPECT_EQ(count_events(TX_EV_TRADE), 0);
  EXPECT_BAL(ex, A, B(100), 0, Q(10000), 0);
  int64_t p[16], v[16];
  EXPECT_EQ(levels(ex, TX_SELL, p, v), 1);
  EXPECT_EQ(v[0], B(1));
  tx_close(ex);
}

static void s13_post_only(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(C, TX_SELL, B(1), P(100)));
  tx_instruction in = limit_order(A, TX_BUY, B(1), P(100));
  in.post_only = 1;
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_CONTRACT_VIOLATION);
  in.price = P(99.99);
  run(ex, in);
  EXPECT_EQ(accepted_id(), 1);
  in.price = P(100);
  in.time_in_force = TX_IOC;
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_CONTRACT_VIOLATION);
  EXPECT_BAL(ex, A, B(100), 0, Q(10000 - 100.08999), Q(100.08999));
  int64_t p[16], v[16];
  EXPECT_EQ(levels(ex, TX_BUY, p, v), 1);
  EXPECT_EQ(p[0], P(99.99));
  EXPECT_EQ(levels(ex, TX_SELL, p, v), 1);
  check_invariants(ex);
  tx_close(ex);
}

static void s14_gtt_expiry(void) {
  tx_exchange *ex = fresh(0);
  /* A GTT order that crosses (placed by the general path) rests its remainder until exactly its
   * expiry, not a nanosecond less. */
  clock_ns = SEC(10);
  run(ex, limit_order(C, TX_SELL, B(1), P(99)));
  tx_instruction crossing = with_time_in_force(limit_order(A, TX_BUY, B(2), P(99)), TX_GTT);
  crossing.expiry_ns = SEC(60);
  run(ex, crossing);
  EXPECT_EQ(count_events(TX_EV_TRADE), 1);
  advance_to(ex, SEC(70) - 1);
  EXPECT_EQ(event_count, 0);
  advance_to(ex, SEC(70));
  const tx_event *expired = nth_event(TX_EV_EXPIRED, 0);
  EXPECT(expired != NULL && expired->order_id == 1 && expired->volume == B(1));
  tx_close(ex);
  ex = fresh(0);
  clock_ns = SEC(10);
  tx_instruction in = with_time_in_force(limit_order(A, TX_BUY, B(1), P(99)), TX_GTT);
  in.expiry_ns = SEC(60);
  run(ex, in);
  EXPECT_BAL(ex, A, B(100), 0, Q(10000 - 99.099), Q(99.099));
  advance_to(ex, SEC(69));
  EXPECT_EQ(event_count, 0);
  advance_to(ex, SEC(70));
  const tx_event *e = nth_event(TX_EV_EXPIRED, 0);
  EXPECT(e != NULL && e->order_id == 0 && e->volume == B(1) && e->instruction == TX_NONE);
  EXPECT_BAL(ex, A, B(100), 0, Q(10000), 0);
  check_invariants(ex);
  tx_close(ex);
  /* Variant: filled before expiry -> "does not exist", naming the order as placed. */
  ex = fresh(0);
  clock_ns = SEC(10);
  in.client_order_id = 77;
  run(ex, in);
  clock_ns = SEC(20);
  run(ex, market_order(C, TX_SELL, B(1)));
  advance_to(ex, SEC(70));
  e = nth_event(TX_EV_REJECTED, 0);
  EXPECT(e != NULL && e->reason == TX_R_ORDER_NOT_FOUND && (e->flags & TX_EVF_EXPIRY));
  EXPECT(e != NULL && e->order_id == 0 && e->client_order_id == 77 && e->direction == TX_BUY &&
         e->agent_id == A);
  tx_close(ex);
}

/* Book of scenarios 15-19: A SELL 1 @ 100 (id0); C SELL 1 @ 100 (id1), SELL 1 @ 101 (id2). */
static tx_exchange *stp_book(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(A, TX_SELL, B(1), P(100)));
  run(ex, limit_order(C, TX_SELL, B(1), P(100)));
  run(ex, limit_order(C, TX_SELL, B(1), P(101)));
  return ex;
}

static void s15_stp_co(void) {
  tx_exchange *ex = stp_book();
  run(ex, limit_order(A, TX_BUY, B(2), P(101)));
  EXPECT_EQ(events[0].type, TX_EV_CANCELLED);
  EXPECT_EQ(events[0].order_id, 0);
  EXPECT_EQ(events[0].volume, B(1));
  EXPECT_EQ(events[0].reason, TX_CAUSE_STP);
  EXPECT_EQ(events[1].type, TX_EV_TRADE);
  EXPECT_TRADE(0, 3, 1, B(1), P(100), Q(0.1), Q(0.2));
  EXPECT_TRADE(1, 3, 2, B(1), P(101), Q(0.101), Q(0.202));
  EXPECT_BAL(ex, A, B(102), 0, Q(9798.598), 0);
  EXPECT_BAL(ex, C, B(98), 0, Q(10200.799), 0);
  tx_book_info info;
  tx_book_info_get(ex, 0, &info);
  EXPECT_EQ(info.order_count, 0);
  check_invariants(ex);
  tx_close(ex);
}

static void s16_stp_cn(void) {
  tx_exchange *ex = stp_book();
  tx_instruction in = with_stp(limit_order(A, TX_BUY, B(2), P(101)), TX_STP_CN);
  run(ex, in);
  EXPECT_EQ(accepted_id(), 3);
  EXPECT_EQ(count_events(TX_EV_TRADE), 0);
  EXPECT_EQ(count_events(TX_EV_CANCELLED), 0);
  EXPECT_EQ(count_events(TX_EV_STP_REDUCED), 1);
  EXPECT_BAL(ex, A, B(99), B(1), Q(10000), 0);
  tx_book_info info;
  tx_book_info_get(ex, 0, &info);
  EXPECT_EQ(info.order_count, 3);
  check_invariants(ex);
  tx_close(ex);
}

static void s17_stp_cb(void) {
  tx_exchange *ex = stp_book();
  tx_instruction in = with_stp(limit_order(A, TX_BUY, B(2), P(101)), TX_STP_CB);
  run(ex, in);
  EXPECT_EQ(count_events(TX_EV_TRADE), 0);
  const tx_event *e = nth_event(TX_EV_CANCELLED, 0);
  EXPECT(e != NULL && e->order_id == 0 && e->volume == B(1));
  EXPECT_BAL(ex, A, B(100), 0, Q(10000), 0);
  int64_t p[16], v[16];
  EXPECT_EQ(levels(ex, TX_SELL, p, v), 2);
  check_invariants(ex);
  tx_close(ex);
}

static void s18_stp_dc_resting_smaller(void) {
  tx_exchange *ex = stp_book();
  tx_instruction in = with_stp(limit_order(A, TX_BUY, B(2), P(101)), TX_STP_DC);
  run(ex, in);
  const tx_event *e = nth_event(TX_EV_CANCELLED, 0);
  EXPECT(e != NULL && e->order_id == 0 && e->volume == B(1));
  EXPECT_EQ(count_events(TX_EV_TRADE), 1);
  EXPECT_TRADE(0, 3, 1, B(1), P(100), Q(0.1), Q(0.2));
  EXPECT_BAL(ex, A, B(101), 0, Q(9899.8), 0);
  EXPECT_BAL(ex, C, B(98), B(1), Q(10099.9), 0);
  int64_t p[16], v[16];
  EXPECT_EQ(levels(ex, TX_SELL, p, v), 1);
  EXPECT_EQ(p[0], P(101));
  check_invariants(ex);
  tx_close(ex);
}

static void s19_stp_dc_resting_larger(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(A, TX_SELL, B(3), P(100)));
  tx_instruction in = with_stp(limit_order(A, TX_BUY, B(1), P(100)), TX_STP_DC);
  run(ex, in);
  EXPECT_EQ(count_events(TX_EV_TRADE), 0);
  const tx_event *e = nth_event(TX_EV_CANCELLED, 0);
  EXPECT(e != NULL && e->order_id == 0 && e->volume == B(1) && e->remaining == B(2) &&
         (e->flags & TX_EVF_PARTIAL));
  EXPECT_BAL(ex, A, B(98), B(2), Q(10000), 0);
  check_invariants(ex);
  tx_close(ex);
}

/* Decrement-and-cancel against a leveraged resting order whose matchable volume is larger but
 * whose own volume the decrement takes whole: a 3x sell of 2 units (8 matchable) filled 1 holds
 * 7 matchable and trunc(7 / 4) = 1 own; a buy of 6 by its owner takes trunc(6 / 4) = 1 own from
 * it, so it leaves the book (cancelled by STP, its reservation released), and the buy is
 * reduced by all 6. */
static void stp_dc_takes_a_leveraged_resting_order_whole(void) {
  tx_exchange *ex = fresh(1);
  tx_instruction sell = with_leverage(limit_order(A, TX_SELL, 2, P(100)), 3000000000LL);
  run(ex, sell);
  run(ex, limit_order(BB, TX_BUY, 1, P(100)));
  tx_order o;
  EXPECT_EQ(tx_order_get(ex, 0, 0, &o), TX_OK);
  EXPECT_EQ(o.volume, 1);
  tx_instruction buy = with_stp(limit_order(A, TX_BUY, 6, P(100)), TX_STP_DC);
  run(ex, buy);
  EXPECT_EQ(count_events(TX_EV_TRADE), 0);
  const tx_event *cancelled = nth_event(TX_EV_CANCELLED, 0);
  EXPECT(cancelled != NULL && cancelled->order_id == 0 && cancelled->volume == 1 &&
         cancelled->remaining == 0 && cancelled->reason == TX_CAUSE_STP &&
         !(cancelled->flags & TX_EVF_PARTIAL));
  const tx_event *reduced = nth_event(TX_EV_STP_REDUCED, 0);
  EXPECT(reduced != NULL && reduced->order_id == 2 && reduced->volume == 6 &&
         reduced->remaining == 0);
  EXPECT_EQ(tx_agent_orders(ex, A, 0, NULL, 0), 0);
  EXPECT_EQ(tx_order_get(ex, 0, 0, &o), TX_ERR_NOT_FOUND);
  tx_balances b = balances(ex, A, 0);
  EXPECT_EQ(b.base_reserved, 0);
  EXPECT_EQ(b.quote_reserved, 0);
  check_invariants(ex);
  tx_close(ex);
}

static void s20_stp_none(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(A, TX_SELL, B(1), P(100)));
  tx_instruction in = with_stp(limit_order(A, TX_BUY, B(1), P(100)), TX_STP_NONE);
  run(ex, in);
  EXPECT_TRADE(0, 1, 0, B(1), P(100), Q(0.1), Q(0.2));
  EXPECT_BAL(ex, A, B(100), 0, Q(9999.7), 0);
  check_invariants(ex);
  tx_close(ex);
}

static void s21_cancel_full(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(A, TX_BUY, B(2), P(100)));
  run(ex, cancel_order(A, 0));
  const tx_event *e = nth_event(TX_EV_CANCELLED, 0);
  EXPECT(e != NULL && e->order_id == 0 && e->volume == B(2) && e->remaining == 0);
  EXPECT_BAL(ex, A, B(100), 0, Q(10000), 0);
  tx_book_info info;
  tx_book_info_get(ex, 0, &info);
  EXPECT_EQ(info.bid_levels, 0);
  check_invariants(ex);
  tx_close(ex);
}

static void s22_cancel_partial_then_fill(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(A, TX_BUY, B(2), P(100)));
  run(ex, partial_cancel(A, 0, B(0.5)));
  const tx_event *e = nth_event(TX_EV_CANCELLED, 0);
  EXPECT(e != NULL && e->volume == B(0.5) && e->remaining == B(1.5));
  EXPECT_BAL(ex, A, B(100), 0, Q(10000 - 150.15), Q(150.15));
  run(ex, market_order(C, TX_SELL, B(1.5)));
  EXPECT_TRADE(0, 1, 0, B(1.5), P(100), Q(0.15), Q(0.3));
  EXPECT_BAL(ex, A, B(101.5), 0, Q(9849.85), 0);
  EXPECT_BAL(ex, C, B(98.5), 0, Q(10149.7), 0);
  /* A zero partial cancel succeeds and changes nothing. */
  run(ex, limit_order(A, TX_BUY, B(1), P(90)));
  run(ex, partial_cancel(A, 2, 0));
  e = nth_event(TX_EV_CANCELLED, 0);
  EXPECT(e != NULL && e->volume == 0 && e->remaining == B(1));
  check_invariants(ex);
  tx_close(ex);
}

static void s23_cancel_unknown(void) {
  tx_exchange *ex = fresh(0);
  run(ex, cancel_order(A, 999));
  EXPECT_EQ(rejection(), TX_R_ORDER_NOT_FOUND);
  EXPECT_EQ(nth_event(TX_EV_REJECTED, 0)->order_id, 999);
  run(ex, limit_order(A, TX_BUY, B(2), P(100)));
  tx_instruction batch[2] = {cancel_order(A, 0), cancel_order(A, 7)};
  EXPECT_EQ(tx_submit(ex, clock_ns, batch, 2), TX_OK);
  drain(ex);
  EXPECT_EQ(count_events(TX_EV_CANCELLED), 1);
  EXPECT_EQ(nth_event(TX_EV_CANCELLED, 0)->instruction, 0);
  EXPECT_EQ(nth_event(TX_EV_REJECTED, 0)->instruction, 1);
  /* Another agent's order counts as missing. */
  run(ex, limit_order(A, TX_BUY, B(2), P(100)));
  run(ex, cancel_order(BB, 1));
  EXPECT_EQ(rejection(), TX_R_ORDER_NOT_FOUND);
  /* An agent without an account is told so, whoever owns the id. */
  run(ex, cancel_order(42, 1));
  EXPECT_EQ(rejection(), TX_R_NONEXISTENT_ACCOUNT);
  check_invariants(ex);
  tx_close(ex);
}

static void s24_insufficient_funds(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(A, TX_BUY, B(100), P(100)));
  EXPECT_EQ(rejection(), TX_R_INSUFFICIENT_QUOTE);
  run(ex, limit_order(A, TX_SELL, B(100.0001), P(100)));
  EXPECT_EQ(rejection(), TX_R_INSUFFICIENT_BASE);
  run(ex, market_order(A, TX_SELL, B(1)));
  EXPECT_EQ(rejection(), TX_R_EMPTY_BOOK);
  tx_config c = config_t(0, 1);
  c.default_base = B(1000);
  tx_close(ex);
  ex = open_exchange(&c);
  run(ex, limit_order(C, TX_SELL, B(200), P(100)));
  run(ex, market_order(A, TX_BUY, B(100)));
  EXPECT_EQ(rejection(), TX_R_INSUFFICIENT_QUOTE);
  tx_book_info info;
  tx_book_info_get(ex, 0, &info);
  EXPECT_EQ(info.next_order_id, 1);
  EXPECT_BAL(ex, A, B(1000), 0, Q(10000), 0);
  tx_close(ex);
}

/* A cash buy's funds check can skip walking the book: a bound priced at the worst price the buy
 * may reach (the side's worst level for a market buy, the limit for a limit buy) decides when the
 * account can afford it; otherwise the exact walked amount does. Both give the same outcome. */
static void buy_funds_bound(void) {
  /* Against asks 1 @ 100 and 1 @ 200: a market buy of 2 costs 300 + 0.6 taker fee; a limit buy
   * of 3 @ 200 takes both and rests 1 @ 200, 300.6 + 200.2 with the maker fee. Each is given too
   * little quote, enough for the exact amount but not the bound, and enough for the bound. */
  tx_instruction market = market_order(A, TX_BUY, B(2)), limit = limit_order(A, TX_BUY, B(3), P(200));
  struct {
    tx_instruction buy;
    int64_t quotes[3], cost, rests;
  } cases[] = {{market, {Q(250), Q(350), Q(1000)}, Q(300.6), 0},
               {limit, {Q(500), Q(501), Q(700)}, Q(500.8), Q(200.2)}};
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    for (int i = 0; i < 3; i++) {
      tx_exchange *ex = fresh(0);
      run(ex, limit_order(C, TX_SELL, B(1), P(100)));
      run(ex, limit_order(C, TX_SELL, B(1), P(200)));
      int64_t quote = cases[c].quotes[i];
      EXPECT_EQ(tx_set_balances(ex, A, 0, B(100), quote), TX_OK);
      tx_instruction buy = cases[c].buy;
      buy.stp = TX_STP_NONE;
      run(ex, buy);
      if (i == 0) {
        EXPECT_EQ(rejection(), TX_R_INSUFFICIENT_QUOTE);
        EXPECT_BAL(ex, A, B(100), 0, quote, 0);
      } else {
        EXPECT_EQ(count_events(TX_EV_TRADE), 2);
        EXPECT_BAL(ex, A, B(102), 0, quote - cases[c].cost, cases[c].rests);
      }
      check_invariants(ex);
      tx_close(ex);
    }
  }
}

static void s25_26_27_validation(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(A, TX_BUY, B(1), P(-1)));
  EXPECT_EQ(rejection(), TX_R_INVALID_PRICE);
  run(ex, limit_order(A, TX_BUY, B(1), 0));
  EXPECT_EQ(rejection(), TX_R_INVALID_PRICE);
  run(ex, limit_order(A, TX_BUY, 0, P(100)));
  EXPECT_EQ(rejection(), TX_R_INVALID_VOLUME);
  run(ex, limit_order(A, TX_BUY, -5, P(100)));
  EXPECT_EQ(rejection(), TX_R_INVALID_VOLUME);
  tx_instruction in = with_leverage(limit_order(A, TX_BUY, B(1), P(100)), 4500000000LL);
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_INVALID_LEVERAGE);
  in.leverage_e9 = -100000000LL;
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_INVALID_LEVERAGE);
  /* Leverage is truncated to the volume decimals: 0.12345 -> 0.1234. */
  in = with_leverage(limit_order(A, TX_BUY, B(1), P(100)), 123450000LL);
  run(ex, in);
  EXPECT_EQ(nth_event(TX_EV_ACCEPTED, 0)->leverage_e9, 123400000LL);
  /* Garbage is rejected per instruction. */
  in = limit_order(A, TX_BUY, B(1), P(100));
  in.book_id = 7;
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_INVALID_BOOK);
  in = limit_order(42, TX_BUY, B(1), P(100));
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_NONEXISTENT_ACCOUNT);
  in = limit_order(A, 5, B(1), P(100));
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_INVALID_INSTRUCTION);
  in = limit_order(A, TX_BUY, B(1), P(100));
  in.kind = 99;
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_INVALID_INSTRUCTION);
  tx_close(ex);
  /* Lot truncation: volume decimals 2 with base decimals 4. */
  tx_config c = config_t(0, 1);
  c.volume_decimals = 2;
  ex = open_exchange(&c);
  run(ex, limit_order(A, TX_BUY, B(1.2345), P(100)));
  EXPECT_EQ(nth_event(TX_EV_ACCEPTED, 0)->volume, B(1.23));
  /* A partial cancel is truncated to the lot as well: B(0.015) takes B(0.01) off. */
  run(ex, partial_cancel(A, 0, B(0.015)));
  const tx_event *cancelled = nth_event(TX_EV_CANCELLED, 0);
  EXPECT(cancelled != NULL && cancelled->volume == B(0.01) && cancelled->remaining == B(1.22));
  EXPECT_BAL(ex, A, B(100), 0, Q(10000 - 122.122), Q(122.122)); /* 100 * 1.22 * 1.001 */
  run(ex, limit_order(A, TX_BUY, B(0.0004), P(100)));
  EXPECT_EQ(rejection(), TX_R_INVALID_VOLUME);
  check_invariants(ex);
  tx_close(ex);
}

/* tx_advance_before: the rolls due by the instant and the expiries before it, not those at it. */
static void advance_before_leaves_the_instants_expiries(void) {
  tx_exchange *ex = fresh(0);
  clock_ns = SEC(10);
  tx_instruction in = with_time_in_force(limit_order(A, TX_BUY, B(1), P(99)), TX_GTT);
  in.expiry_ns = SEC(60);
  run(ex, in);
  in.expiry_ns = SEC(60) - 1;
  run(ex, in);
  EXPECT_EQ(tx_advance_before(ex, SEC(70)), TX_OK);
  drain(ex);
  EXPECT_EQ(event_count, 1);
  const tx_event *e = nth_event(TX_EV_EXPIRED, 0);
  EXPECT(e != NULL && e->order_id == 1 && e->timestamp == SEC(70) - 1);
  EXPECT_EQ(tx_advance_before(ex, SEC(70)), TX_OK); /* the same instant again: still waiting */
  drain(ex);
  EXPECT_EQ(event_count, 0);
  advance_to(ex, SEC(70));
  e = nth_event(TX_EV_EXPIRED, 0);
  EXPECT(e != NULL && e->order_id == 0 && e->timestamp == SEC(70));
  EXPECT_EQ(tx_advance_before(ex, SEC(69)), TX_ERR_TIME);
  EXPECT_BAL(ex, A, B(100), 0, Q(10000), 0);
  check_invariants(ex);
  tx_close(ex);
  /* The fee slot ending at the instant is rolled. */
  ex = fresh(0);
  clock_ns = SEC(1000);
  run(ex, limit_order(C, TX_SELL, B(13), P(100)));
  run(ex, market_order(A, TX_BUY, B(12)));
  tx_fee_state fs;
  tx_fee_state_get(ex, A, 0, &fs);
  EXPECT_EQ(fs.volume, Q(1200));
  EXPECT_EQ(fs.tier, 0);
  EXPECT_EQ(tx_advance_before(ex, SEC(3600)), TX_OK);
  tx_fee_state_get(ex, A, 0, &fs);
  EXPECT_EQ(fs.tier, 1);
  check_invariants(ex);
  tx_close(ex);
}

static void s28_fee_tiers(void) {
  tx_exchange *ex = fresh(0);
  clock_ns = SEC(1000);
  run(ex, limit_order(C, TX_SELL, B(13), P(100)));
  run(ex, market_order(A, TX_BUY, B(12)));
  EXPECT_TRADE(0, 1, 0, B(12), P(100), Q(1.2), Q(2.4));
  tx_fee_state fs;
  tx_fee_state_get(ex, A, 0, &fs);
  EXPECT_EQ(fs.volume, Q(1200));
  EXPECT_EQ(fs.tier, 0);
  clock_ns = SEC(4000);
  run(ex, market_order(A, TX_BUY, B(1)));
  EXPECT_TRADE(0, 2, 0, B(1), P(100), Q(0.05), Q(0.1));
  tx_fee_state_get(ex, A, 0, &fs);
  EXPECT_EQ(fs.tier, 1);
  EXPECT_EQ(fs.taker_e9, 1000000);
  EXPECT_EQ(tx_advance(ex, SEC(7200) - 1), TX_OK);
  tx_fee_state_get(ex, A, 0, &fs);
  EXPECT_EQ(fs.volume, Q(1300));
  EXPECT_EQ(tx_advance(ex, SEC(7200)), TX_OK);
  tx_fee_state_get(ex, A, 0, &fs);
  EXPECT_EQ(fs.tier, 1);
  EXPECT_EQ(fs.volume, Q(100));
  EXPECT_EQ(tx_advance(ex, SEC(10800)), TX_OK);
  tx_fee_state_get(ex, A, 0, &fs);
  EXPECT_EQ(fs.tier, 0);
  tx_book_info info;
  tx_book_info_get(ex, 0, &info);
  EXPECT_EQ(info.fees_collected, Q(1.2 + 2.4 + 0.05 + 0.1));
  EXPECT_EQ(tx_advance(ex, SEC(10)), TX_ERR_TIME);
  check_invariants(ex);
  tx_close(ex);
}

static void s33_price_time_priority(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(C, TX_SELL, B(1), P(100)));
  run(ex, limit_order(BB, TX_SELL, B(1), P(100)));
  run(ex, limit_order(C, TX_SELL, B(1), P(99.5)));
  run(ex, market_order(A, TX_BUY, B(2)));
  EXPECT_TRADE(0, 3, 2, B(1), P(99.5), Q(0.0995), Q(0.199));
  EXPECT_TRADE(1, 3, 0, B(1), P(100), Q(0.1), Q(0.2));
  EXPECT_BAL(ex, A, B(102), 0, Q(9800.101), 0);
  tx_order o[4];
  EXPECT_EQ(tx_level_orders(ex, 0, TX_SELL, 0, o, 4), 1);
  EXPECT_EQ(o[0].order_id, 1);
  check_invariants(ex);
  tx_close(ex);
}

static void s34_books_isolated(void) {
  clock_ns = SEC(1);
  tx_config c = config_t(0, 2);
  tx_exchange *ex = open_exchange(&c);
  EXPECT_EQ(tx_set_balances(ex, A, 1, B(100), 0), TX_OK);
  tx_instruction in = limit_order(A, TX_BUY, B(1), P(100));
  in.book_id = 1;
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_INSUFFICIENT_QUOTE);
  in.agent_id = BB;
  run(ex, in);
  EXPECT_EQ(accepted_id(), 0);
  run(ex, limit_order(BB, TX_BUY, B(1), P(100)));
  EXPECT_EQ(accepted_id(), 0);
  check_invariants(ex);
  tx_close(ex);
}

static void s35_reset(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(A, TX_BUY, B(2), P(100)));
  run(ex, limit_order(C, TX_SELL, B(1), P(100.5)));
  run(ex, market_order(A, TX_BUY, B(1)));
  tx_instruction in = limit_order(A, 0, 0, 0);
  in.kind = TX_INSTR_RESET;
  run(ex, in);
  const tx_event *e = nth_event(TX_EV_CANCELLED, 0);
  EXPECT(e != NULL && e->order_id == 0 && e->volume == B(2) && e->reason == TX_CAUSE_RESET);
  EXPECT_EQ(count_events(TX_EV_RESET), 1);
  EXPECT_BAL(ex, A, B(100), 0, Q(10000), 0);
  tx_fee_state fs;
  tx_fee_state_get(ex, A, 0, &fs);
  EXPECT_EQ(fs.volume, 0);
  in.agent_id = 77;
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_NONEXISTENT_ACCOUNT);
  check_invariants(ex);
  tx_close(ex);
}

static void s29_leveraged_long_buy(tx_exchange **out) {
  tx_exchange *ex = fresh(1);
  run(ex, limit_order(C, TX_SELL, B(10), P(100)));
  tx_instruction in = with_leverage(limit_order(A, TX_BUY, B(2), P(100)), 1000000000LL);
  run(ex, in);
  EXPECT_EQ(accepted_id(), 1);
  EXPECT_TRADE(0, 1, 0, B(4), P(100), 0, 0);
  tx_balances b = balances(ex, A, 0);
  EXPECT_EQ(b.base_free, B(104));
  EXPECT_EQ(b.quote_free, Q(9800));
  EXPECT_EQ(b.quote_reserved, 0);
  EXPECT_EQ(b.quote_loan, Q(400));
  EXPECT_EQ(b.quote_collateral, Q(200));
  tx_loan loan;
  EXPECT_EQ(tx_agent_loans(ex, A, 0, &loan, 1), 1);
  EXPECT_EQ(loan.order_id, 1);
  EXPECT_EQ(loan.amount, Q(400));
  EXPECT_EQ(loan.direction, TX_BUY);
  EXPECT_EQ(loan.call_price, 5555); /* 100 * 1 / (2 * 0.9) = 55.5555... */
  EXPECT_BAL(ex, C, B(90), B(6), Q(10400), 0);
  check_invariants(ex);
  *out = ex;
}

/* tx_advance_before makes no margin check, even for a breach from an earlier instant: a run of
 * such calls leaves it to the next tx_submit or tx_advance. */
static void advance_before_leaves_the_margin_check(void) {
  tx_exchange *ex;
  s29_leveraged_long_buy(&ex);
  clock_ns += SEC(5);
  run(ex, limit_order(C, TX_BUY, B(10), P(50)));
  EXPECT_EQ(count_events(TX_EV_MARGIN_CALL), 0);
  EXPECT_EQ(tx_advance_before(ex, clock_ns + SEC(1)), TX_OK);
  drain(ex);
  EXPECT_EQ(count_events(TX_EV_MARGIN_CALL), 0);
  EXPECT_EQ(tx_advance_before(ex, clock_ns + SEC(2)), TX_OK);
  drain(ex);
  EXPECT_EQ(count_events(TX_EV_MARGIN_CALL), 0);
  clock_ns += SEC(2);
  advance_by(ex, 0);
  const tx_event *call = nth_event(TX_EV_MARGIN_CALL, 0);
  EXPECT(call != NULL && call->agent_id == A && call->timestamp == clock_ns);
  check_invariants(ex);
  tx_close(ex);
}

static void s30_margin_call_long(void) {
  tx_exchange *ex;
  s29_leveraged_long_buy(&ex);
  clock_ns += SEC(5);
  run(ex, limit_order(C, TX_BUY, B(10), P(50)));
  EXPECT_EQ(count_events(TX_EV_MARGIN_CALL), 0);
  advance_by(ex, SEC(5));
  const tx_event *call = nth_event(TX_EV_MARGIN_CALL, 0);
  EXPECT(call != NULL && call->agent_id == A && call->amount == Q(400) && call->price == P(50));
  EXPECT_TRADE(0, 3, 2, B(8), P(50), 0, 0);
  EXPECT_EQ(nth_event(TX_EV_TRADE, 0)->direction, TX_SELL);
  tx_balances b = balances(ex, A, 0);
  EXPECT_EQ(b.base_free, B(96));
  EXPECT_EQ(b.quote_free, Q(10000));
  EXPECT_EQ(b.quote_loan, 0);
  EXPECT_EQ(b.quote_collateral, 0);
  EXPECT_EQ(tx_agent_loans(ex, A, 0, NULL, 0), 0);
  EXPECT_BAL(ex, C, B(98), B(6), Q(9900), Q(100));
  int64_t p[16], v[16];
  EXPECT_EQ(tx_book_levels(ex, 0, TX_BUY, p, v, 16), 1);
  EXPECT_EQ(v[0], B(2));
  check_invariants(ex);
  tx_close(ex);
}

static tx_exchange *s31_short_sell(void) {
  tx_exchange *ex = fresh(1);
  run(ex, limit_order(C, TX_BUY, B(4), P(100)));
  tx_instruction in = with_leverage(limit_order(BB, TX_SELL, B(2), P(100)), 1000000000LL);
  run(ex, in);
  EXPECT_TRADE(0, 1, 0, B(4), P(100), 0, 0);
  tx_balances b = balances(ex, BB, 0);
  EXPECT_EQ(b.base_free, B(98));
  EXPECT_EQ(b.base_reserved, 0);
  EXPECT_EQ(b.quote_free, Q(10400));
  EXPECT_EQ(b.base_loan, B(4));
  EXPECT_EQ(b.base_collateral, B(2));
  tx_loan loan;
  EXPECT_EQ(tx_agent_loans(ex, BB, 0, &loan, 1), 1);
  EXPECT_EQ(loan.call_price, 13636); /* 100 * 3 / (2 * 1.1) = 136.3636... */
  EXPECT_BAL(ex, C, B(104), 0, Q(9600), 0);
  check_invariants(ex);
  return ex;
}

static void s31_buy_back(void) {
  tx_exchange *ex = s31_short_sell();
  run(ex, limit_order(D, TX_SELL, B(4), P(90)));
  run(ex, limit_order(BB, TX_BUY, B(4), P(90)));
  tx_balances b = balances(ex, BB, 0);
  EXPECT_EQ(b.base_free, B(100));
  EXPECT_EQ(b.quote_free, Q(10040));
  EXPECT_EQ(b.base_loan, 0);
  EXPECT_EQ(b.base_collateral, 0);
  check_invariants(ex);
  tx_close(ex);
}

static void s32_margin_call_short(void) {
  tx_exchange *ex = s31_short_sell();
  run(ex, limit_order(D, TX_SELL, B(5), P(140)));
  advance_by(ex, SEC(5));
  EXPECT_EQ(count_events(TX_EV_MARGIN_CALL), 1);
  EXPECT_TRADE(0, 3, 2, B(4), P(140), 0, 0);
  tx_balances b = balances(ex, BB, 0);
  EXPECT_EQ(b.base_free, B(100));
  EXPECT_EQ(b.quote_free, Q(9840));
  EXPECT_EQ(b.base_loan, 0);
  EXPECT_BAL(ex, D, B(95), B(1), Q(10560), 0);
  check_invariants(ex);
  tx_close(ex);
}

/* A loan is called once the best price is past its call price, not at it (the reference takes the
 * loans whose call price is above the best bid, or below the best ask). With maintenance margin
 * 0.1 and leverage 1, a long at 90 calls at 90 / 1.8 = 50.00 exactly and a short at 110 at
 * 110 * 3 / 2.2 = 150.00 exactly, so each boundary is a whole tick. */
static void margin_call_only_past_call_price(void) {
  /* The owner opens 1 at `price` against the counterparty's 2; the quoter then rests 1 on the
   * owner's side at the call price, and after that one tick past it. */
  const struct {
    int32_t owner, counterparty, quoter;
    int dir;
    int64_t price, call_price, past_it;
  } sides[2] = {{A, C, D, TX_BUY, P(90), P(50), P(49.99)},
                {BB, D, C, TX_SELL, P(110), P(150), P(150.01)}};
  for (int i = 0; i < 2; i++) {
    tx_exchange *ex = fresh(1);
    run(ex, limit_order(sides[i].counterparty, !sides[i].dir, B(2), sides[i].price));
    run(ex, with_leverage(limit_order(sides[i].owner, sides[i].dir, B(1), sides[i].price),
                          1000000000LL));
    tx_loan loan;
    EXPECT_EQ(tx_agent_loans(ex, sides[i].owner, 0, &loan, 1), 1);
    EXPECT_EQ(loan.call_price, sides[i].call_price);
    run(ex, limit_order(sides[i].quoter, sides[i].dir, B(1), sides[i].call_price));
    long long at_call = accepted_id();
    advance_by(ex, SEC(5));
    EXPECT_EQ(count_events(TX_EV_MARGIN_CALL), 0);
    run(ex, cancel_order(sides[i].quoter, (uint32_t)at_call));
    run(ex, limit_order(sides[i].quoter, sides[i].dir, B(1), sides[i].past_it));
    advance_by(ex, SEC(5));
    EXPECT_EQ(count_events(TX_EV_MARGIN_CALL), 1);
    check_invariants(ex);
    tx_close(ex);
  }
}

/* A short whose owner cannot buy the whole loan back buys what its quote affords: its 0.02 quote,
 * exactly one lot (0.0001) at the best ask of 200.00, still buys that lot after the 0.0002 of the
 * loan (0.04 quote) is refused, and the collateral repays the last lot. */
static void short_liquidation_spends_exactly_one_lot(void) {
  tx_exchange *ex = fresh(1);
  EXPECT_EQ(tx_add_account(ex, -1, B(2), 0), TX_OK);
  run(ex, limit_order(D, TX_BUY, B(4), P(100)));
  tx_instruction in = with_leverage(limit_order(-1, TX_SELL, B(2), P(100)), 1000000000LL);
  run(ex, in);
  tx_balances b = balances(ex, -1, 0);
  EXPECT_EQ(b.base_loan, B(4));
  EXPECT_EQ(b.quote_free, Q(400));
  run(ex, limit_order(C, TX_SELL, B(3.9998), P(100)));
  run(ex, limit_order(-1, TX_BUY, B(3.9998), P(100)));
  b = balances(ex, -1, 0);
  EXPECT_EQ(b.base_loan, B(0.0002));
  EXPECT_EQ(b.quote_free, Q(0.02));
  run(ex, limit_order(C, TX_SELL, B(1), P(200)));
  advance_by(ex, SEC(5));
  EXPECT_EQ(count_events(TX_EV_MARGIN_CALL), 1);
  EXPECT_EQ(count_events(TX_EV_TRADE), 1);
  const tx_event *bought = nth_event(TX_EV_TRADE, 0);
  EXPECT(bought != NULL && bought->volume == B(0.0001) && bought->price == P(200) &&
         bought->direction == TX_BUY);
  const tx_event *settled = nth_event(TX_EV_LOAN_SETTLED, 0);
  EXPECT(settled != NULL && settled->amount == 0 && !(settled->flags & TX_EVF_WRITE_OFF));
  b = balances(ex, -1, 0);
  EXPECT_EQ(b.base_loan, 0);
  EXPECT_EQ(b.base_collateral, 0);
  EXPECT_EQ(b.base_free, B(1.9999));
  EXPECT_EQ(b.quote_free, 0);
  check_invariants(ex);
  tx_close(ex);
}

static void leverage_limits(void) {
  tx_exchange *ex = fresh(1);
  run(ex, limit_order(C, TX_SELL, B(100), P(100)));
  /* maxLoan 10000: borrowing 9000 more than that allows once 2000 are already lent. */
  /* collateral 3000, borrows 12000 > 10000 */
  tx_instruction in = with_leverage(limit_order(A, TX_BUY, B(30), P(100)), 4000000000LL);
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_EXCEEDING_LOAN);
  in.volume = B(20); /* collateral 2000, borrows 8000 */
  run(ex, in);
  EXPECT_EQ(accepted_id(), 1);
  in.volume = B(10);
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_EXCEEDING_LOAN);
  check_invariants(ex);
  tx_close(ex);
}

/* Account -1, given `base` and `quote`, opens a position of 2 at 4x, 10 traded at 100, against C's
 * ask (a long, `dir` TX_BUY) or D's bid (a short); its balances then go to *opened. */
static tx_exchange *open_4x_position(int dir, int64_t base, int64_t quote, tx_balances *opened) {
  tx_exchange *ex = fresh(1);
  EXPECT_EQ(tx_add_account(ex, -1, base, quote), TX_OK);
  run(ex, limit_order(dir == TX_BUY ? C : D, !dir, B(10), P(100)));
  run(ex, with_leverage(limit_order(-1, dir, B(2), P(100)), 4000000000LL));
  EXPECT_EQ(nth_event(TX_EV_TRADE, 0)->volume, B(10));
  *opened = balances(ex, -1, 0);
  return ex;
}

/* `agent` rests 100 on the position's side at `price`, out of its cover: 5 s on, account -1's
 * loan is called, and the liquidation's own order is refused for `refused` (it cannot pay it). */
static void margin_call_past_cover(tx_exchange *ex, int agent, int dir, int64_t price,
                                   int refused) {
  run(ex, limit_order(agent, dir, B(100), price));
  advance_by(ex, SEC(5));
  EXPECT_EQ(count_events(TX_EV_MARGIN_CALL), 1);
  EXPECT_EQ(rejection(), refused);
}

/* The call wrote off `amount` of account -1's loan and left the account nothing: no loan, no
 * collateral, no free base or quote. */
static void expect_written_off(tx_exchange *ex, int64_t amount) {
  const tx_event *settled = nth_event(TX_EV_LOAN_SETTLED, 0);
  EXPECT(settled != NULL && settled->amount == amount && (settled->flags & TX_EVF_WRITE_OFF));
  tx_balances b = balances(ex, -1, 0);
  EXPECT_EQ(b.base_free, 0);
  EXPECT_EQ(b.base_collateral, 0);
  EXPECT_EQ(b.base_loan, 0);
  EXPECT_EQ(b.quote_free, 0);
  EXPECT_EQ(b.quote_collateral, 0);
  EXPECT_EQ(b.quote_loan, 0);
  EXPECT_EQ(tx_agent_loans(ex, -1, 0, NULL, 0), 0);
}

/* A long the account cannot cover: the liquidation sells all it has, the collateral and then the
 * free quote repay what they can and the rest of the loan is written off; no balance goes
 * negative. */
static void margin_write_off(void) {
  tx_balances b;
  tx_exchange *ex = open_4x_position(TX_BUY, 0, Q(200), &b);
  EXPECT_EQ(b.quote_loan, Q(1000));
  EXPECT_EQ(b.quote_collateral, Q(200));
  margin_call_past_cover(ex, D, TX_BUY, P(10), TX_R_INSUFFICIENT_BASE);
  EXPECT_TRADE(0, 3, 2, B(10), P(10), 0, 0);
  /* 100 of proceeds repaid, releasing 20 of the collateral; the other 180 and those 20 repay
   * 200 more (giving the 20 back to the account would write off 720). */
  expect_written_off(ex, Q(700));
  /* No further margin call for a loan that no longer exists. */
  advance_by(ex, SEC(5));
  EXPECT_EQ(event_count, 0);
  check_invariants(ex);
  tx_close(ex);
}

/* A long whose collateral is base (its owner had no quote): when the loan cannot be covered, that
 * base is sold with the rest, not handed back while the loan is written off. */
static void margin_write_off_sells_base_collateral(void) {
  tx_balances b;
  tx_exchange *ex = open_4x_position(TX_BUY, B(2), 0, &b);
  EXPECT_EQ(b.quote_loan, Q(1000));
  EXPECT_EQ(b.base_collateral, B(2));
  EXPECT_EQ(b.base_free, B(10));
  margin_call_past_cover(ex, D, TX_BUY, P(10), TX_R_INSUFFICIENT_BASE);
  /* The 10 bought and the 2 of collateral: 120 repaid, 880 written off (not the 10 alone sold,
   * 900 written off and 1.8 base given back to the account). */
  EXPECT_TRADE(0, 3, 2, B(12), P(10), 0, 0);
  expect_written_off(ex, Q(880));
  check_invariants(ex);
  tx_close(ex);
}

/* The short side: collateral in quote (its owner had no base) buys back with the rest. */
static void margin_write_off_spends_quote_collateral(void) {
  tx_balances b;
  tx_exchange *ex = open_4x_position(TX_SELL, 0, Q(200), &b);
  EXPECT_EQ(b.base_loan, B(10));
  EXPECT_EQ(b.quote_collateral, Q(200));
  EXPECT_EQ(b.quote_free, Q(1000));
  margin_call_past_cover(ex, C, TX_SELL, P(1000), TX_R_INSUFFICIENT_QUOTE);
  /* The 1000 of proceeds and the 200 of collateral buy 1.2 back; 8.8 is written off. */
  EXPECT_TRADE(0, 3, 2, B(1.2), P(1000), 0, 0);
  expect_written_off(ex, B(8.8));
  check_invariants(ex);
  tx_close(ex);
}

static void leveraged_partial_cancel(void) {
  tx_exchange *ex = fresh(1);
  tx_instruction in = with_leverage(limit_order(A, TX_BUY, B(2), P(100)), 1000000000LL);
  run(ex, in);
  EXPECT_BAL(ex, A, B(100), 0, Q(9800), Q(200));
  int64_t p[4], v[4];
  EXPECT_EQ(tx_book_levels(ex, 0, TX_BUY, p, v, 4), 1);
  EXPECT_EQ(v[0], B(4)); /* levels hold total (leveraged) volume */
  run(ex, partial_cancel(A, 0, B(1)));
  const tx_event *e = nth_event(TX_EV_CANCELLED, 0);
  EXPECT(e != NULL && e->volume == B(1) && e->remaining == B(1));
  EXPECT_BAL(ex, A, B(100), 0, Q(9900), Q(100));
  EXPECT_EQ(tx_book_levels(ex, 0, TX_BUY, p, v, 4), 1);
  EXPECT_EQ(v[0], B(2));
  run(ex, cancel_order(A, 0));
  EXPECT_BAL(ex, A, B(100), 0, Q(10000), 0);
  /* At 0.5x the total of 9999 units, 14998.5, is cut to 14998; its own volume is still the 9999
   * kept, not the 9998 that 14998 / 1.5 would give back: a cancel removes what it asks. */
  in = with_leverage(limit_order(A, TX_BUY, B(1), P(100)), 500000000LL);
  run(ex, in);
  run(ex, partial_cancel(A, 1, 1));
  e = nth_event(TX_EV_CANCELLED, 0);
  EXPECT(e != NULL && e->volume == 1 && e->remaining == B(1) - 1);
  check_invariants(ex);
  tx_close(ex);
}

static tx_instruction post_only(int agent, int dir, int64_t volume, int64_t price, int stp) {
  tx_instruction in = limit_order(agent, dir, volume, price);
  in.post_only = 1;
  in.stp = (uint8_t)stp;
  return in;
}

/* Post-only under each self-trade rule (spec 3.6). */
static void post_only_modes(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(A, TX_SELL, B(1), P(100)));
  run(ex, post_only(A, TX_BUY, B(1), P(100), TX_STP_CO)); /* crosses only its own order */
  EXPECT_EQ(accepted_id(), 1);
  EXPECT_EQ(nth_event(TX_EV_CANCELLED, 0)->order_id, 0);
  EXPECT_EQ(count_events(TX_EV_TRADE), 0);
  run(ex, limit_order(C, TX_SELL, B(1), P(100.5)));
  run(ex, post_only(A, TX_BUY, B(1), P(100.5), TX_STP_CO)); /* a foreign order would trade */
  EXPECT_EQ(rejection(), TX_R_CONTRACT_VIOLATION);
  run(ex, post_only(A, TX_BUY, B(1), P(100.5), TX_STP_NONE));
  EXPECT_EQ(rejection(), TX_R_CONTRACT_VIOLATION);
  run(ex, post_only(A, TX_BUY, B(1), P(100.5), TX_STP_CB));
  EXPECT_EQ(rejection(), TX_R_CONTRACT_VIOLATION);
  check_invariants(ex);
  tx_close(ex);

  ex = fresh(0);
  run(ex, limit_order(A, TX_SELL, B(1), P(100)));
  /* Under CN meeting an own order cancels the new one, so a post-only order crossing only its own
   * order is refused, unlike under CO. */
  run(ex, post_only(A, TX_BUY, B(1), P(100), TX_STP_CN));
  EXPECT_EQ(rejection(), TX_R_CONTRACT_VIOLATION);
  run(ex, post_only(A, TX_BUY, B(1), P(100), TX_STP_DC)); /* own volume absorbs it all */
  EXPECT_EQ(rejection(), TX_R_CONTRACT_VIOLATION);
  run(ex, post_only(A, TX_BUY, B(2), P(100), TX_STP_DC));
  EXPECT_EQ(accepted_id(), 1);
  EXPECT_EQ(nth_event(TX_EV_PLACED, 0)->remaining, B(1));
  run(ex, limit_order(A, TX_SELL, B(1), P(101)));
  run(ex, post_only(A, TX_BUY, B(1), P(101), TX_STP_CB)); /* best head is its own */
  EXPECT_EQ(accepted_id(), 3);
  check_invariants(ex);
  tx_close(ex);
}

/* IOC and FOK under CN: meeting an own order stops the fill (spec 3.5). */
static void tif_with_self_trade(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(C, TX_SELL, B(1), P(100)));
  run(ex, limit_order(A, TX_SELL, B(1), P(100.5)));
  run(ex, limit_order(C, TX_SELL, B(1), P(101)));
  tx_instruction in =
      with_stp(with_time_in_force(limit_order(A, TX_BUY, B(3), P(101)), TX_IOC), TX_STP_CN);
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_CONTRACT_VIOLATION);
  in.time_in_force = TX_FOK;
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_CONTRACT_VIOLATION);
  in.stp = TX_STP_CO; /* own order skipped: 2 fillable of 3 */
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_CONTRACT_VIOLATION);
  in.volume = B(2);
  run(ex, in);
  EXPECT_EQ(count_events(TX_EV_TRADE), 2);
  EXPECT_EQ(nth_event(TX_EV_CANCELLED, 0)->order_id, 1);
  /* without an expiry: like GTC */
  in = with_time_in_force(limit_order(A, TX_BUY, B(1), P(90)), TX_GTT);
  run(ex, in);
  advance_to(ex, clock_ns + SEC(100000));
  EXPECT_EQ(count_events(TX_EV_EXPIRED), 0);
  check_invariants(ex);
  tx_close(ex);
}

/* Limit orders sized in quote (spec 3.4). */
static void limit_orders_in_quote(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(C, TX_SELL, B(1), P(100)));
  tx_instruction in = limit_order(A, TX_BUY, Q(250), P(101));
  in.currency = TX_CURRENCY_QUOTE;
  run(ex, in);
  EXPECT_EQ(nth_event(TX_EV_ACCEPTED, 0)->volume, B(2.4851));
  EXPECT_TRADE(0, 1, 0, B(1), P(100), Q(0.1), Q(0.2));
  EXPECT_EQ(nth_event(TX_EV_PLACED, 0)->remaining, B(1.4851));
  /* The rest keeps trunc(101 * 1.4851 * 1.001) reserved. */
  EXPECT_BAL(ex, A, B(101), 0, Q(10000) - Q(100.2) - 1501450951000LL, 1501450951000LL);
  check_invariants(ex);
  tx_close(ex);

  ex = fresh(0);
  run(ex, limit_order(C, TX_BUY, B(1), P(100)));
  in = limit_order(A, TX_SELL, Q(250), P(99));
  in.currency = TX_CURRENCY_QUOTE;
  run(ex, in);
  EXPECT_EQ(nth_event(TX_EV_ACCEPTED, 0)->volume, B(2.5151));
  EXPECT_TRADE(0, 1, 0, B(1), P(100), Q(0.1), Q(0.2));
  EXPECT_BAL(ex, A, B(97.4849), B(1.5151), Q(10099.8), 0);
  check_invariants(ex);
  tx_close(ex);
}

/* A reset drops the agent's loans with its account (spec 5.7). */
static void reset_drops_loans(void) {
  tx_exchange *ex = fresh(1);
  run(ex, limit_order(C, TX_SELL, B(10), P(100)));
  tx_instruction in = with_leverage(limit_order(A, TX_BUY, B(2), P(100)), 1000000000LL);
  run(ex, in);
  EXPECT_EQ(tx_agent_loans(ex, A, 0, NULL, 0), 1);
  in = limit_order(A, 0, 0, 0);
  in.kind = TX_INSTR_RESET;
  run(ex, in);
  EXPECT_EQ(tx_agent_loans(ex, A, 0, NULL, 0), 0);
  tx_balances b = balances(ex, A, 0);
  EXPECT_EQ(b.quote_loan, 0);
  EXPECT_EQ(b.quote_collateral, 0);
  EXPECT_EQ(b.quote_free, Q(10000));
  check_invariants(ex);
  tx_close(ex);
}

static void api_contract(void) {
  tx_config c = config_t(0, 1);
  tx_exchange *ex = NULL;
  char err[128];
  c.fee_tiers[1].volume_required = 0;
  EXPECT_EQ(tx_open(&c, &ex, err, sizeof err), TX_ERR_CONFIG);
  EXPECT(strstr(err, "fee_tiers[1]") != NULL);
  c = config_t(0, 1);
  c.book_count = 0;
  EXPECT_EQ(tx_open(&c, &ex, err, sizeof err), TX_ERR_CONFIG);
  EXPECT(strstr(err, "book_count") != NULL);
  c = config_t(0, 1);
  c.maintenance_margin_e9 = 200000000LL; /* > 1/(2*5) */
  EXPECT_EQ(tx_open(&c, &ex, err, sizeof err), TX_ERR_CONFIG);
  c = config_t(0, 1);
  ex = open_exchange(&c);
  EXPECT_EQ(tx_add_account(ex, A, 1, 1), TX_ERR_EXISTS);
  EXPECT_EQ(tx_add_account(ex, -5, B(1), Q(1)), TX_OK);
  EXPECT_EQ(tx_add_account(ex, 1 << 30, 1, 1), TX_ERR_AGENT);
  EXPECT_EQ(tx_balances_get(ex, -5, 0, &(tx_balances){0}), TX_OK);
  EXPECT_EQ(tx_balances_get(ex, -6, 0, &(tx_balances){0}), TX_ERR_AGENT);
  EXPECT_EQ(tx_book_levels(ex, 3, 0, NULL, NULL, 0), -TX_ERR_BOOK);
  EXPECT_EQ(tx_submit(ex, 0, NULL, 0), TX_OK);
  /* Records at an odd address (a host byte buffer) are read correctly. */
  unsigned char raw[2 * sizeof(tx_instruction) + 1];
  tx_instruction rec = limit_order(A, TX_BUY, B(1), P(90));
  memcpy(raw + 1, &rec, sizeof rec);
  EXPECT_EQ(tx_submit(ex, 0, (const tx_instruction *)(const void *)(raw + 1), 1), TX_OK);
  drain(ex);
  EXPECT_EQ(accepted_id(), 0);
  run(ex, cancel_order(A, 0));
  run(ex, limit_order(-5, TX_SELL, B(1), P(100)));
  EXPECT_EQ(tx_set_balances(ex, -5, 0, 0, 0), TX_ERR_BUSY);
  tx_order o;
  EXPECT_EQ(tx_order_get(ex, 0, 1, &o), TX_OK);
  EXPECT_EQ(o.agent_id, -5);
  EXPECT_EQ(tx_agent_orders(ex, -5, 0, &o, 1), 1);
  EXPECT_EQ(tx_order_get(ex, 0, 0, &o), TX_ERR_NOT_FOUND);
  EXPECT(strcmp(tx_reason_name(TX_R_INSUFFICIENT_QUOTE), "INSUFFICIENT_QUOTE") == 0);
  EXPECT(strcmp(tx_errstr(TX_ERR_TIME), "TX_ERR_TIME") == 0);
  tx_close(ex);
  tx_close(NULL);
}

/* Every out-of-range configuration field is refused with TX_ERR_CONFIG, no handle, and a message
 * that names the field. */
static void config_fields_named(void) {
  for (int i = 0; i < 20; i++) {
    tx_config c = config_t(0, 1);
    const char *field;
    switch (i) {
    case 0: c.price_decimals = 13, field = "price_decimals"; break;
    case 1: c.volume_decimals = 13, field = "volume_decimals"; break;
    case 2: c.base_decimals = 13, field = "base_decimals"; break;
    case 3: c.quote_decimals = 19, field = "quote_decimals"; break;
    case 4: c.agent_count = (1u << 20) + 1, field = "agent_count"; break;
    case 5: c.default_base = -1, field = "default_base"; break;
    case 6: c.default_quote = -1, field = "default_quote"; break;
    case 7: c.max_leverage_e9 = -1, field = "max_leverage_e9"; break;
    case 8: c.max_leverage_e9 = 1000000000001LL, field = "max_leverage_e9"; break;
    case 9: c.max_loan = -1, field = "max_loan"; break;
    case 10: c.fee_slot_period_ns = 0, field = "fee_slot_period_ns"; break;
    case 11: c.fee_history_slots = 0, field = "fee_history_slots"; break;
    case 12: c.fee_history_slots = 1025, field = "fee_history_slots"; break;
    case 13: c.fee_tier_count = 0, field = "fee_tier_count"; break;
    case 14: c.fee_tier_count = TX_MAX_FEE_TIERS + 1, field = "fee_tier_count"; break;
    case 15: c.fee_tiers[0].volume_required = -1, field = "fee_tiers[0].volume_required"; break;
    case 16: c.fee_tiers[0].maker_e9 = -1000000000LL, field = "fee_tiers[0].maker_e9"; break;
    case 17: c.fee_tiers[1].taker_e9 = 1000000000LL, field = "fee_tiers[1].taker_e9"; break;
    case 18: c.fee_tiers[1].taker_e9 = -1000000000LL, field = "fee_tiers[1].taker_e9"; break;
    default: c.flags = 0x80, field = "flags"; break;
    }
    tx_exchange *ex = (tx_exchange *)&c; /* must come back NULL */
    char err[160] = "";
    EXPECT_EQ(tx_open(&c, &ex, err, sizeof err), TX_ERR_CONFIG);
    EXPECT(ex == NULL);
    if (strstr(err, field) == NULL) {
      fprintf(stderr, "case %d: '%s' does not name %s\n", i, err, field);
      failures++;
    }
  }
}

/* A book's accounts may be given at most TX_MAX_HELD units of each asset in total, so that no
 * trade between them can overflow a balance. */
static void holdings_limit(void) {
  tx_config c = config_t(0, 1);
  tx_exchange *ex = NULL;
  char err[160];
  c.agent_count = 4;
  c.default_quote = TX_MAX_HELD / 4 + 1;
  EXPECT_EQ(tx_open(&c, &ex, err, sizeof err), TX_ERR_CONFIG);
  EXPECT(strstr(err, "default_base/default_quote") != NULL);
  c.default_quote = TX_MAX_HELD / 4;
  ex = open_exchange(&c);
  EXPECT_EQ(tx_add_account(ex, 9, 0, 1), TX_ERR_LIMIT);
  EXPECT_EQ(tx_add_account(ex, 9, 0, 0), TX_OK);
  EXPECT_EQ(tx_set_balances(ex, 9, 0, 0, 1), TX_ERR_LIMIT);
  /* Giving one account less makes room for another. */
  EXPECT_EQ(tx_set_balances(ex, 0, 0, 0, 1000), TX_OK);
  EXPECT_EQ(tx_set_balances(ex, 9, 0, 0, TX_MAX_HELD / 4 - 1000), TX_OK);
  EXPECT_EQ(tx_set_balances(ex, 9, 0, 0, TX_MAX_HELD / 4 - 999), TX_ERR_LIMIT);
  EXPECT(strcmp(tx_errstr(TX_ERR_LIMIT), "TX_ERR_LIMIT") == 0);
  check_invariants(ex);
  tx_close(ex);
}

/* Prices near the 2^40-tick limit: sums of notionals that pass int64 saturate (and so fail the
 * funds checks) instead of wrapping, and a loan far beyond max_loan is refused however its int64
 * value would have wrapped. Run under UBSan: any signed overflow fails the test. */
static void extreme_prices(void) {
  tx_config c = config_t(0, 1);
  tx_exchange *ex = open_exchange(&c);
  const int64_t top = (int64_t)1 << 40;
  run(ex, limit_order(C, TX_SELL, 1000, top - 1));
  run(ex, limit_order(C, TX_SELL, 1000, top));
  run(ex, market_order(A, TX_BUY, 2000));
  EXPECT_EQ(rejection(), TX_R_INSUFFICIENT_QUOTE);
  run(ex, limit_order(A, TX_BUY, 2000, top));
  EXPECT_EQ(rejection(), TX_R_INSUFFICIENT_QUOTE);
  tx_instruction by_quote = market_order(A, TX_BUY, Q(1));
  by_quote.currency = TX_CURRENCY_QUOTE;
  run(ex, by_quote);
  EXPECT_EQ(count_events(TX_EV_TRADE), 0);
  tx_instruction short_sell = with_leverage(limit_order(A, TX_SELL, 3, top), 2000000000);
  EXPECT_EQ(tx_set_balances(ex, A, 0, B(100), 0), TX_OK);
  run(ex, short_sell);
  EXPECT_EQ(rejection(), TX_R_EXCEEDING_LOAN);
  short_sell.volume = 3000; /* its loan in quote wraps int64 */
  run(ex, short_sell);
  EXPECT_EQ(rejection(), TX_R_EXCEEDING_LOAN);
  tx_instruction long_buy = with_leverage(limit_order(BB, TX_BUY, 1, top), 1000000000);
  run(ex, long_buy);
  EXPECT_EQ(rejection(), TX_R_EXCEEDING_LOAN);
  check_invariants(ex);
  tx_close(ex);
}

/* A reset checks its padding and flags as every other instruction does. */
static void reset_well_formed(void) {
  tx_config c = config_t(0, 1);
  tx_exchange *ex = open_exchange(&c);
  tx_instruction r = limit_order(A, 0, 0, 0);
  r.kind = TX_INSTR_RESET;
  r.pad0 = 7;
  run(ex, r);
  EXPECT_EQ(rejection(), TX_R_INVALID_INSTRUCTION);
  EXPECT_EQ(count_events(TX_EV_RESET), 0);
  r.pad0 = 0;
  r.reserved = 123;
  run(ex, r);
  EXPECT_EQ(rejection(), TX_R_INVALID_INSTRUCTION);
  r.reserved = 0;
  run(ex, r);
  EXPECT_EQ(count_events(TX_EV_RESET), 1);
  tx_close(ex);
}

/* Submits the instructions in one call at the test clock and captures their events. */
static void run_all(tx_exchange *ex, tx_instruction *in, size_t n) {
  EXPECT_EQ(tx_submit(ex, clock_ns, in, n), TX_OK);
  drain(ex);
}

/* The reason instruction `i` of the last capture was rejected with, or -1. */
static int rejection_of(uint32_t i) {
  for (size_t k = 0; k < event_count; k++) {
    if (events[k].type == TX_EV_REJECTED && events[k].instruction == i) return events[k].reason;
  }
  return -1;
}

/* TX_IF_AFTER_RESET drops an instruction only after a reset of its own agent accepted earlier in
 * the same call: not after a refused one, one of another agent or one in an earlier call, and
 * nothing without the flag. */
static void dropped_after_reset(void) {
  tx_config c = config_t(0, 1);
  tx_exchange *ex = open_exchange(&c);
  tx_instruction reset = limit_order(A, 0, 0, 0);
  reset.kind = TX_INSTR_RESET;
  tx_instruction flagged = limit_order(A, TX_BUY, B(1), P(90));
  flagged.flags = TX_IF_AFTER_RESET;
  tx_instruction garbage = {.agent_id = A, .flags = TX_IF_AFTER_RESET};

  tx_instruction accepted[] = {flagged, reset, flagged, limit_order(A, TX_BUY, B(1), P(90)),
                               garbage};
  run_all(ex, accepted, 5);
  EXPECT_EQ(count_events(TX_EV_RESET), 1);
  EXPECT_EQ(count_events(TX_EV_ACCEPTED), 2); /* instructions 0 and 3 */
  EXPECT_EQ(rejection_of(0), -1);
  EXPECT_EQ(rejection_of(2), TX_R_AGENT_RESET);
  EXPECT_EQ(rejection_of(4), TX_R_AGENT_RESET);
  EXPECT_EQ(count_events(TX_EV_REJECTED), 2);
  const tx_event *dropped = nth_event(TX_EV_REJECTED, 0);
  EXPECT_EQ(dropped->agent_id, A);
  EXPECT_EQ(dropped->volume, B(1));

  /* The next call: the reset was in an earlier one. */
  tx_instruction later[] = {flagged};
  run_all(ex, later, 1);
  EXPECT_EQ(count_events(TX_EV_ACCEPTED), 1);

  /* A refused reset (malformed), and an accepted reset of another agent. */
  tx_instruction refused = reset;
  refused.pad0 = 1;
  tx_instruction other = reset;
  other.agent_id = BB;
  tx_instruction not_dropped[] = {refused, flagged, other, flagged, garbage};
  run_all(ex, not_dropped, 5);
  EXPECT_EQ(rejection_of(0), TX_R_INVALID_INSTRUCTION);
  EXPECT_EQ(count_events(TX_EV_RESET), 1);
  EXPECT_EQ(count_events(TX_EV_ACCEPTED), 2);
  EXPECT_EQ(rejection_of(4), TX_R_INVALID_INSTRUCTION); /* kind 0, not dropped */

  /* A reset of an agent the exchange does not have is refused: its flagged order is judged. */
  tx_instruction absent_reset = reset, absent = flagged;
  absent_reset.agent_id = absent.agent_id = 99;
  tx_instruction no_account[] = {absent_reset, absent};
  run_all(ex, no_account, 2);
  EXPECT_EQ(rejection_of(0), TX_R_NONEXISTENT_ACCOUNT);
  EXPECT_EQ(rejection_of(1), TX_R_NONEXISTENT_ACCOUNT);
  EXPECT(strcmp(tx_reason_name(TX_R_AGENT_RESET), "AGENT_RESET") == 0);
  check_invariants(ex);
  tx_close(ex);
}

/* With TX_IF_SENDER the after-reset drop is judged by `sender_id`, so that a reset of other agents
 * sent by a reset agent is dropped; TX_IF_JOINED records share the fate of the record before them,
 * so that a response which resets its own sender still runs whole. */
static void dropped_after_reset_of_sender(void) {
  tx_config c = config_t(0, 1);
  tx_exchange *ex = open_exchange(&c);
  tx_instruction reset_a = limit_order(A, 0, 0, 0);
  reset_a.kind = TX_INSTR_RESET;
  tx_instruction reset_d = reset_a;
  reset_d.agent_id = D;
  /* A reset of BB then C, one response sent by A. */
  tx_instruction by_a = reset_a;
  by_a.agent_id = BB;
  by_a.flags = TX_IF_AFTER_RESET | TX_IF_SENDER;
  by_a.sender_id = A;
  tx_instruction joined = reset_a;
  joined.agent_id = C;
  joined.flags = TX_IF_JOINED;

  tx_instruction dropped[] = {reset_a, by_a, joined};
  run_all(ex, dropped, 3);
  EXPECT_EQ(count_events(TX_EV_RESET), 1);
  EXPECT_EQ(rejection_of(1), TX_R_AGENT_RESET);
  EXPECT_EQ(rejection_of(2), TX_R_AGENT_RESET);
  EXPECT_EQ(nth_event(TX_EV_REJECTED, 0)->agent_id, BB);

  /* Another agent's reset drops nothing of A's. */
  tx_instruction other[] = {reset_d, by_a, joined};
  run_all(ex, other, 3);
  EXPECT_EQ(count_events(TX_EV_RESET), 3);
  EXPECT_EQ(count_events(TX_EV_REJECTED), 0);

  /* A response that resets its sender first and then others runs whole; a response after it is
   * dropped. */
  tx_instruction self = reset_a;
  self.flags = TX_IF_AFTER_RESET | TX_IF_SENDER;
  self.sender_id = A;
  tx_instruction joined_b = joined;
  joined_b.agent_id = BB;
  tx_instruction itself[] = {self, joined_b, joined, by_a};
  run_all(ex, itself, 4);
  EXPECT_EQ(count_events(TX_EV_RESET), 3);
  EXPECT_EQ(rejection_of(3), TX_R_AGENT_RESET);
  EXPECT_EQ(count_events(TX_EV_REJECTED), 1);

  /* The sender decides, not the agent named: BB's reset drops nothing A sent for BB. */
  tx_instruction reset_b = reset_a;
  reset_b.agent_id = BB;
  tx_instruction bid_b = limit_order(BB, TX_BUY, B(1), P(90));
  bid_b.flags = TX_IF_AFTER_RESET | TX_IF_SENDER;
  bid_b.sender_id = A;
  tx_instruction by_sender[] = {reset_b, bid_b};
  run_all(ex, by_sender, 2);
  EXPECT_EQ(count_events(TX_EV_ACCEPTED), 1);

  /* TX_IF_JOINED on a call's first record, or after a record that ran, runs; a malformed record
   * joined to a dropped one is dropped with it. */
  tx_instruction bid_a = limit_order(A, TX_BUY, B(1), P(90));
  tx_instruction joined_bid = bid_a;
  joined_bid.flags = TX_IF_JOINED;
  tx_instruction joined_garbage = {.flags = TX_IF_JOINED};
  tx_instruction joins[] = {joined_bid, bid_a, joined_bid, reset_a, by_a, joined_garbage};
  run_all(ex, joins, 6);
  EXPECT_EQ(count_events(TX_EV_ACCEPTED), 3);
  EXPECT_EQ(rejection_of(4), TX_R_AGENT_RESET);
  EXPECT_EQ(rejection_of(5), TX_R_AGENT_RESET);

  /* A dropped response ends where the next one begins: a flagged record of an agent not reset
   * runs, and so does a record without the flags and one joined to it. */
  tx_instruction own_bid_b = limit_order(BB, TX_BUY, B(1), P(90));
  own_bid_b.flags = TX_IF_AFTER_RESET;
  tx_instruction after_dropped[] = {reset_a, by_a, own_bid_b, reset_a, by_a, bid_a, joined_bid};
  run_all(ex, after_dropped, 7);
  EXPECT_EQ(rejection_of(1), TX_R_AGENT_RESET);
  EXPECT_EQ(rejection_of(4), TX_R_AGENT_RESET);
  EXPECT_EQ(count_events(TX_EV_REJECTED), 2);
  EXPECT_EQ(count_events(TX_EV_ACCEPTED), 3); /* instructions 2, 5 and 6 */

  /* sender_id without TX_IF_SENDER is malformed, on the short path too, as is a reserved word
   * that is not 0 (the short path tests the two as one 8-byte word); TX_IF_SENDER alone changes
   * nothing. */
  tx_instruction stray = bid_a;
  stray.sender_id = BB;
  tx_instruction named = stray;
  named.flags = TX_IF_SENDER;
  tx_instruction reserved = bid_a;
  reserved.reserved = 1;
  tx_instruction senders[] = {stray, named, reserved};
  run_all(ex, senders, 3);
  EXPECT_EQ(rejection_of(0), TX_R_INVALID_INSTRUCTION);
  EXPECT_EQ(rejection_of(2), TX_R_INVALID_INSTRUCTION);
  EXPECT_EQ(count_events(TX_EV_ACCEPTED), 1);
  check_invariants(ex);
  tx_close(ex);
}

/* Near the end of the clock: the last fee slot boundaries are rolled once each, and a clock that
 * stays put rolls nothing more. */
static void fee_rolls_at_clock_end(void) {
  tx_config c = config_t(0, 1);
  tx_exchange *ex = open_exchange(&c);
  clock_ns = UINT64_MAX - SEC(1);
  EXPECT_EQ(tx_advance(ex, clock_ns), TX_OK);
  run(ex, limit_order(C, TX_SELL, B(12), P(100)));
  run(ex, market_order(A, TX_BUY, B(12)));
  tx_fee_state fees;
  EXPECT_EQ(tx_fee_state_get(ex, A, 0, &fees), TX_OK);
  EXPECT_EQ(fees.volume, Q(1200));
  for (int i = 0; i < 3; i++) {
    EXPECT_EQ(tx_advance(ex, clock_ns), TX_OK);
    EXPECT_EQ(tx_fee_state_get(ex, A, 0, &fees), TX_OK);
    EXPECT_EQ(fees.volume, Q(1200));
  }
  EXPECT_EQ(tx_advance(ex, UINT64_MAX), TX_OK);
  EXPECT_EQ(tx_advance(ex, UINT64_MAX), TX_OK);
  EXPECT_EQ(tx_fee_state_get(ex, A, 0, &fees), TX_OK);
  EXPECT_EQ(fees.volume, Q(1200));
  clock_ns = 0;
  tx_close(ex);
}

/* A short loan whose owner can no longer buy one lot back is closed against its collateral at
 * once, instead of being called again (with two rejections) at every later check. */
static void short_liquidation_ends(void) {
  tx_config c = config_t(0, 1);
  c.volume_decimals = 2; /* lot 0.01 base */
  tx_exchange *ex = open_exchange(&c);
  EXPECT_EQ(tx_set_balances(ex, BB, 0, B(2), 0), TX_OK);
  run(ex, limit_order(C, TX_BUY, B(4), P(0.01)));
  tx_instruction short_sell = with_leverage(limit_order(BB, TX_SELL, B(2), P(0.01)), 1000000000);
  run(ex, short_sell);
  run(ex, limit_order(D, TX_SELL, B(10), P(1.00)));
  advance_to(ex, SEC(1));
  EXPECT_EQ(count_events(TX_EV_MARGIN_CALL), 1);
  EXPECT_EQ(count_events(TX_EV_LOAN_SETTLED), 1);
  tx_balances b;
  EXPECT_EQ(tx_balances_get(ex, BB, 0, &b), TX_OK);
  EXPECT_EQ(b.base_loan, 0);
  for (int t = 2; t <= 4; t++) {
    advance_to(ex, SEC(t));
    EXPECT_EQ(event_count, 0);
  }
  check_invariants(ex);
  tx_close(ex);
}

/* A reset gives the initial balances back whatever the account lost: refused once that would take
 * the book's holdings past TX_MAX_HELD. */
static void reset_within_holdings(void) {
  tx_config c = config_t(1, 1);
  c.agent_count = 0;
  c.quote_decimals = 0;
  tx_exchange *ex = open_exchange(&c);
  const int64_t big = (int64_t)1 << 61, chunk = (int64_t)1 << 53;
  EXPECT_EQ(tx_add_account(ex, 0, big, 0), TX_OK);
  EXPECT_EQ(tx_add_account(ex, 1, 0, big), TX_OK);
  uint64_t t = 1;
  int refused = 0;
  for (int round = 0; round < 3 && refused == 0; round++) {
    /* Agent 0 sells all its base to agent 1 at price 1, then asks for a reset. */
    for (int i = 0; i < 256; i++) {
      tx_instruction pair[2] = {limit_order(1, TX_BUY, chunk, 1), market_order(0, TX_SELL, chunk)};
      pair[0].stp = pair[1].stp = TX_STP_NONE;
      EXPECT_EQ(tx_submit(ex, t++, pair, 2), TX_OK);
      tx_discard_events(ex, tx_pending_events(ex));
    }
    tx_instruction reset = limit_order(0, 0, 0, 0);
    reset.kind = TX_INSTR_RESET;
    clock_ns = t++;
    run(ex, reset);
    if (rejection() == TX_R_HOLDINGS_LIMIT) refused = round + 1;
    check_invariants(ex);
  }
  EXPECT_EQ(refused, 2); /* the first reset fits (2^61 + 2^61), the second would not */
  EXPECT(strcmp(tx_reason_name(TX_R_HOLDINGS_LIMIT), "HOLDINGS_LIMIT") == 0);
  clock_ns = 0;
  tx_close(ex);
}

/* Traded volume has no bound: the fee history saturates instead of overflowing (UBSan). */
static void fee_volume_saturates(void) {
  tx_config c = config_t(1, 1);
  tx_exchange *ex = open_exchange(&c);
  const int64_t quote = (int64_t)1 << 61;
  EXPECT_EQ(tx_add_account(ex, 10, B(100), quote), TX_OK);
  const int64_t price = quote / 10000000000LL; /* B(100) at this price costs about 2^61 */
  for (int i = 0; i < 3; i++) {
    tx_instruction sell = with_stp(limit_order(10, TX_SELL, B(100), price), TX_STP_NONE);
    tx_instruction buy = with_stp(market_order(10, TX_BUY, B(100)), TX_STP_NONE);
    run(ex, sell);
    run(ex, buy);
    EXPECT_EQ(count_events(TX_EV_TRADE), 1);
  }
  tx_fee_state fees;
  EXPECT_EQ(tx_fee_state_get(ex, 10, 0, &fees), TX_OK);
  EXPECT_EQ(fees.volume, INT64_MAX);
  check_invariants(ex);
  tx_close(ex);
}

/* Ids map to orders through pages of X_ID_PAGE ids, a page freed once all its ids are issued and
 * none is in use. An order that takes a page's last id and, matching, fills the page's last resting
 * order still holds its id: its remainder rests under it (the page was freed under it before, and
 * resting wrote through a null page). Placed as a market order instead, it gives the page up. */
static void id_page_outlives_its_last_fill(void) {
  for (int market = 0; market < 2; market++) {
    tx_exchange *ex = fresh(0);
    run(ex, limit_order(C, TX_SELL, B(1), P(100)));
    for (uint32_t id = 1; id < X_ID_PAGE - 1; id++) {
      run(ex, limit_order(A, TX_BUY, B(1), P(90)));
      run(ex, cancel_order(A, id));
    }
    run(ex, market ? market_order(A, TX_BUY, B(2)) : limit_order(A, TX_BUY, B(2), P(100)));
    EXPECT_EQ(accepted_id(), X_ID_PAGE - 1);
    EXPECT_EQ(count_events(TX_EV_TRADE), 1);
    tx_order o;
    EXPECT_EQ(tx_order_get(ex, 0, X_ID_PAGE - 1, &o), market ? TX_ERR_NOT_FOUND : TX_OK);
    if (!market) {
      EXPECT_EQ(o.volume, B(1));
      run(ex, cancel_order(A, X_ID_PAGE - 1));
      EXPECT_EQ(count_events(TX_EV_CANCELLED), 1);
    }
    run(ex, limit_order(A, TX_BUY, B(1), P(90)));
    EXPECT_EQ(accepted_id(), X_ID_PAGE);
    check_invariants(ex);
    tx_close(ex);
  }
}

/* A side's resting volume is an int64 sum: at 1 tick and quote of 6 decimals a few quote units buy
 * 9e15 base units, so enough such bids would overflow it. The order that would take the side past
 * TX_MAX_HELD is refused; one that cannot rest is judged as before. */
static void book_volume_limit(void) {
  tx_config c = config_t(1, 1);
  c.price_decimals = c.volume_decimals = c.base_decimals = 8;
  c.quote_decimals = 6;
  c.default_quote = 1000000000000LL;
  tx_exchange *ex = open_exchange(&c);
  const int64_t volume = 9000000000000000LL;
  int accepted = 0, refused = 0;
  for (int i = 0; i < 600; i++) {
    run(ex, limit_order(A, TX_BUY, volume, 1 + i % 3));
    accepted += count_events(TX_EV_PLACED);
    refused += rejection() == TX_R_BOOK_VOLUME_LIMIT;
  }
  EXPECT_EQ(accepted, TX_MAX_HELD / volume); /* 512 */
  EXPECT_EQ(refused, 600 - TX_MAX_HELD / volume);
  tx_book_info info;
  EXPECT_EQ(tx_book_info_get(ex, 0, &info), TX_OK);
  EXPECT_EQ(info.bid_volume, (TX_MAX_HELD / volume) * volume);
  tx_instruction ioc = with_time_in_force(limit_order(A, TX_BUY, volume, 1), TX_IOC);
  run(ex, ioc);
  EXPECT_EQ(rejection(), TX_R_CONTRACT_VIOLATION);
  EXPECT(strcmp(tx_reason_name(TX_R_BOOK_VOLUME_LIMIT), "BOOK_VOLUME_LIMIT") == 0);
  check_invariants(ex);
  tx_close(ex);
}

/* A book issues order ids up to X_MAX_ORDER_ID (TX_NONE is none). Past the last, placements are
 * refused. */
static void order_ids_exhausted(void) {
  tx_config c = config_t(0, 1);
  tx_exchange *ex = open_exchange(&c);
  ex->books[0].next_order_id = X_MAX_ORDER_ID;
  run(ex, limit_order(A, TX_BUY, B(1), P(90)));
  EXPECT_EQ(accepted_id(), (long long)X_MAX_ORDER_ID);
  run(ex, limit_order(A, TX_BUY, B(1), P(91)));
  EXPECT_EQ(rejection(), TX_R_ORDER_IDS_EXHAUSTED);
  run(ex, market_order(C, TX_SELL, B(1)));
  EXPECT_EQ(rejection(), TX_R_ORDER_IDS_EXHAUSTED);
  run(ex, cancel_order(A, X_MAX_ORDER_ID));
  EXPECT_EQ(count_events(TX_EV_CANCELLED), 1);
  EXPECT(strcmp(tx_reason_name(TX_R_ORDER_IDS_EXHAUSTED), "ORDER_IDS_EXHAUSTED") == 0);
  check_invariants(ex);
  tx_close(ex);
}

/* Trade ids count per book and, after the last below TX_NONE, start again at 0: no trade is ever
 * given the id that means none. */
static void trade_ids_skip_none(void) {
  tx_config c = config_t(0, 1);
  tx_exchange *ex = open_exchange(&c);
  ex->books[0].next_trade_id = TX_NONE - 1;
  uint32_t expected[] = {TX_NONE - 1, 0, 1};
  for (int i = 0; i < 3; i++) {
    run(ex, limit_order(A, TX_SELL, B(1), P(100)));
    run(ex, market_order(C, TX_BUY, B(1)));
    const tx_event *trade = nth_event(TX_EV_TRADE, 0);
    EXPECT(trade != NULL);
    if (trade != NULL) EXPECT_EQ(trade->trade_id, expected[i]);
  }
  check_invariants(ex);
  tx_close(ex);
}

/* Maker rebates create quote: an agent trading with itself at a 90 % rebate grows its quote only
 * until the book holds TX_MAX_HELD, the bound that keeps balances from overflowing. */
static void rebates_within_holdings(void) {
  tx_config c = config_t(1, 1);
  c.fee_tiers[0] = (tx_fee_tier){0, -900000000LL, 0};
  tx_exchange *ex = open_exchange(&c);
  tx_balances first = balances(ex, A, 0), b = first;
  for (int i = 0; i < 40; i++) {
    int64_t price = b.quote_free / (b.base_free * 10000); /* the whole quote buys the base back */
    if (price > ((int64_t)1 << 40)) price = (int64_t)1 << 40;
    clock_ns = (uint64_t)i;
    run(ex, limit_order(A, TX_SELL, b.base_free, price));
    tx_instruction buy_back = with_stp(market_order(A, TX_BUY, b.base_free), TX_STP_NONE);
    run(ex, buy_back);
    b = balances(ex, A, 0);
    EXPECT(b.quote_free >= 0 && b.quote_free <= TX_MAX_HELD);
  }
  /* Rebates are paid while there is room, and a maker rebate is cut to exactly the room left
   * (no rounding unit is let through for a seller's rebate): the book ends at the bound, and A
   * holds all of it but the other three agents' untouched Q(10000) each. */
  EXPECT(b.quote_free > first.quote_free);
  EXPECT_EQ(b.quote_free, TX_MAX_HELD - 3 * Q(10000));
  int64_t total = 0;
  for (int agent = 0; agent < 4; agent++) {
    tx_balances other = balances(ex, agent, 0);
    total += other.quote_free + other.quote_reserved;
  }
  EXPECT_EQ(total, TX_MAX_HELD);
  check_invariants(ex);
  clock_ns = 0;
  tx_close(ex);
}

/* At a rebate rate a buy reserves less than its notional: a 90 % rebate lets 10^18 quote units
 * reserve a buy of 10^19, whose fill would pay the seller past int64 (it wrapped to a negative
 * balance). A cash buy whose notional passes TX_MAX_HELD is refused (HOLDINGS_LIMIT), resting or
 * crossing, as a limit or a market order; one just within the bound trades. */
static void rebate_buy_notional_within_holdings(void) {
  tx_config c = config_t(1, 1);
  c.fee_tiers[0] = (tx_fee_tier){0, -900000000LL, -900000000LL};
  tx_exchange *ex = open_exchange(&c);
  EXPECT_EQ(tx_set_balances(ex, A, 0, 0, 1000000000000000000LL), TX_OK);
  const int64_t price = 1000000000LL; /* 10^7 quote a base: B(100) is worth Q(10^9) = 10^19 */
  run(ex, limit_order(A, TX_BUY, B(100), price)); /* reserves 10^18: all A holds */
  EXPECT_EQ(rejection(), TX_R_HOLDINGS_LIMIT);
  run(ex, limit_order(C, TX_SELL, B(100), price));
  EXPECT_EQ(count_events(TX_EV_PLACED), 1);
  run(ex, limit_order(A, TX_BUY, B(100), price)); /* crossing, at the taker rebate */
  EXPECT_EQ(rejection(), TX_R_HOLDINGS_LIMIT);
  run(ex, market_order(A, TX_BUY, B(100)));
  EXPECT_EQ(rejection(), TX_R_HOLDINGS_LIMIT);
  run(ex, cancel_order(C, 0));
  /* B(40) rests: notional 4 * 10^18 <= 2^62, reserving trunc(4 * 10^18 * 0.1) = 4 * 10^17. C's
   * market sell fills it: the maker rebate, 3.6 * 10^18, fits the room the book has (2^62 less
   * the 10^18 + 3 * 10^14 it holds); the taker rebate gets what is left. */
  run(ex, limit_order(A, TX_BUY, B(40), price));
  EXPECT_EQ(count_events(TX_EV_PLACED), 1);
  run(ex, market_order(C, TX_SELL, B(40)));
  const int64_t room = TX_MAX_HELD - 1000000000000000000LL - 3 * Q(10000);
  const tx_event *t = nth_event(TX_EV_TRADE, 0);
  EXPECT(t != NULL);
  if (t != NULL) {
    EXPECT_EQ(t->notional, 4000000000000000000LL);
    EXPECT_EQ(t->maker_fee, -3600000000000000000LL);
    EXPECT_EQ(t->taker_fee, -(room - 3600000000000000000LL));
  }
  EXPECT_EQ(balances(ex, A, 0).quote_free, 600000000000000000LL);
  EXPECT_EQ(balances(ex, C, 0).quote_free,
            Q(10000) + 4000000000000000000LL + (room - 3600000000000000000LL));
  check_invariants(ex);
  tx_close(ex);
}

/* The quote a book's four accounts hold. */
static int64_t book_quote(tx_exchange *ex) {
  int64_t total = 0;
  for (int32_t agent = A; agent <= D; agent++) {
    tx_balances b = balances(ex, agent, 0);
    total += b.quote_free + b.quote_reserved;
  }
  return total;
}

/* A book whose accounts hold exactly TX_MAX_HELD quote, `buyer_quote` of it A's, with fee tier
 * (maker, taker). */
static tx_exchange *book_at_the_bound(int64_t maker_e9, int64_t taker_e9, int64_t buyer_quote) {
  tx_config c = config_t(1, 1);
  c.fee_tiers[0] = (tx_fee_tier){0, maker_e9, taker_e9};
  tx_exchange *ex = open_exchange(&c);
  EXPECT_EQ(tx_set_balances(ex, A, 0, 0, buyer_quote), TX_OK);
  EXPECT_EQ(tx_set_balances(ex, C, 0, B(100), TX_MAX_HELD - buyer_quote - 2 * Q(10000)), TX_OK);
  EXPECT_EQ(book_quote(ex), TX_MAX_HELD);
  return ex;
}

/* A resting buy reserved at a maker rebate, whose owner has no other quote, filled in two parts in
 * a book with room for the rebate: each fill is paid the rebate its reservation counted on, out of
 * what the fill frees, and the rest of the order keeps what it needs. */
static void rebate_buy_keeps_the_rest_reserved(void) {
  const int64_t reserve = Q(199.8); /* trunc(100 * 2 * 0.999) */
  tx_exchange *ex = book_at_the_bound(-1000000LL, 0, reserve); /* maker -0.1 % */
  EXPECT_EQ(tx_set_balances(ex, D, 0, B(100), 0), TX_OK); /* room: Q(10000) */
  run(ex, limit_order(A, TX_BUY, B(2), P(100)));
  EXPECT_EQ(balances(ex, A, 0).quote_free, 0);
  for (int fill = 0; fill < 2; fill++) {
    run(ex, market_order(C, TX_SELL, B(1)));
    const tx_event *t = nth_event(TX_EV_TRADE, 0);
    EXPECT(t != NULL);
    if (t != NULL) EXPECT_EQ(t->maker_fee, -Q(0.1));
    tx_order o;
    int rc = tx_order_get(ex, 0, 0, &o);
    if (fill == 0) {
      EXPECT_EQ(rc, TX_OK);
      EXPECT_EQ(o.reserved_quote, Q(99.9)); /* trunc(100 * 1 * 0.999) */
    } else {
      EXPECT(rc != TX_OK); /* filled */
    }
  }
  tx_balances a = balances(ex, A, 0);
  EXPECT_EQ(a.quote_free + a.quote_reserved, 0);
  EXPECT_EQ(a.base_free, B(2));
  check_invariants(ex);
  tx_close(ex);
}

/* A resting buy reserved at a maker rebate, in a book at the holdings bound, reached while its
 * owner has no free quote: its freed reservation is the notional less the rebate, the bound has
 * no room for the rebate and the buyer nothing else to pay with. Paying the rebate anyway took
 * the book past the bound, unguarded, so that enough such fills could overflow a balance. The
 * buy is cancelled instead (cause UNFUNDED), its reservation released, and the sell goes
 * on to the next bid. One unit of rounding is let through, so a rebate of one unit still trades
 * and leaves the book one unit past the bound; the next is refused. */
static void rebate_buy_past_the_bound_is_cancelled(void) {
  const int64_t reserve = Q(199.8); /* trunc(100 * 2 * 0.999) */
  tx_exchange *ex = book_at_the_bound(-1000000LL, 0, reserve); /* maker -0.1 % */
  run(ex, limit_order(A, TX_BUY, B(2), P(100)));
  EXPECT_EQ(balances(ex, A, 0).quote_free, 0);
  run(ex, limit_order(BB, TX_BUY, B(1), P(99))); /* no rebate needed: BB has free quote */
  run(ex, market_order(C, TX_SELL, B(1)));
  EXPECT_EQ(count_events(TX_EV_CANCELLED), 1);
  const tx_event *cancel = nth_event(TX_EV_CANCELLED, 0);
  if (cancel != NULL) {
    EXPECT_EQ(cancel->order_id, 0);
    EXPECT_EQ(cancel->volume, B(2));
    EXPECT_EQ(cancel->reason, TX_CAUSE_UNFUNDED);
  }
  EXPECT_EQ(count_events(TX_EV_TRADE), 1);
  const tx_event *t = nth_event(TX_EV_TRADE, 0);
  if (t != NULL) {
    EXPECT_EQ(t->resting_order_id, 1);
    EXPECT_EQ(t->price, P(99));
    EXPECT_EQ(t->maker_fee, 0); /* BB's rebate finds no room either, and BB can pay */
  }
  tx_balances a = balances(ex, A, 0);
  EXPECT_EQ(a.quote_free, reserve);
  EXPECT_EQ(a.quote_reserved, 0);
  EXPECT_EQ(a.base_free, 0);
  EXPECT_EQ(book_quote(ex), TX_MAX_HELD);
  check_invariants(ex);
  tx_close(ex);

  /* A rebate of one unit: B(0.001) at 100 is 10^9 quote units, at a maker rate of -10^-9. */
  const int64_t unit_reserve = 999999999; /* trunc(10^9 * (1 - 10^-9)) */
  ex = book_at_the_bound(-1, 0, 2 * unit_reserve);
  run(ex, limit_order(A, TX_BUY, B(0.001), P(100)));
  run(ex, limit_order(A, TX_BUY, B(0.001), P(100)));
  EXPECT_EQ(balances(ex, A, 0).quote_free, 0);
  run(ex, market_order(C, TX_SELL, B(0.001)));
  t = nth_event(TX_EV_TRADE, 0);
  EXPECT(t != NULL);
  if (t != NULL) EXPECT_EQ(t->maker_fee, -1);
  EXPECT_EQ(book_quote(ex), TX_MAX_HELD + 1);
  run(ex, market_order(C, TX_SELL, B(0.001)));
  EXPECT_EQ(count_events(TX_EV_TRADE), 0);
  cancel = nth_event(TX_EV_CANCELLED, 0);
  EXPECT(cancel != NULL && cancel->order_id == 1 && cancel->reason == TX_CAUSE_UNFUNDED);
  EXPECT_EQ(count_events(TX_EV_REMAINDER_DROPPED), 1);
  a = balances(ex, A, 0);
  EXPECT_EQ(a.quote_free, unit_reserve);
  EXPECT_EQ(a.base_free, B(0.001));
  EXPECT_EQ(book_quote(ex), TX_MAX_HELD + 1);
  check_invariants(ex);
  tx_close(ex);
}

/* An IOC sell whose fillable volume counted a resting buy that the bound then cancels as unfunded
 * trades what is left within its limit and drops the rest: an IOC order never rests, whatever
 * stopped it. */
static void ioc_remainder_after_unfunded_cancel_is_dropped(void) {
  const int64_t reserve = Q(199.8); /* trunc(100 * 2 * 0.999) */
  tx_exchange *ex = book_at_the_bound(-1000000LL, 0, reserve); /* maker -0.1 % */
  run(ex, limit_order(A, TX_BUY, B(2), P(100)));
  run(ex, limit_order(BB, TX_BUY, B(1), P(99)));
  tx_instruction ioc = with_time_in_force(limit_order(C, TX_SELL, B(3), P(99)), TX_IOC);
  run(ex, ioc);
  EXPECT_EQ(count_events(TX_EV_REJECTED), 0);
  const tx_event *cancel = nth_event(TX_EV_CANCELLED, 0);
  EXPECT(cancel != NULL && cancel->order_id == 0 && cancel->reason == TX_CAUSE_UNFUNDED);
  EXPECT_EQ(count_events(TX_EV_TRADE), 1);
  EXPECT_EQ(count_events(TX_EV_PLACED), 0);
  const tx_event *dropped = nth_event(TX_EV_REMAINDER_DROPPED, 0);
  EXPECT(dropped != NULL && dropped->volume == B(2));
  int64_t p[16], v[16];
  EXPECT_EQ(levels(ex, TX_SELL, p, v), 0);
  EXPECT_EQ(levels(ex, TX_BUY, p, v), 0);
  tx_balances c = balances(ex, C, 0);
  EXPECT_EQ(c.base_free, B(99));
  EXPECT_EQ(c.base_reserved, 0);
  check_invariants(ex);
  tx_close(ex);
}

/* A crossing limit buy at a taker rebate, its owner holding just what the buy reserves: each fill
 * takes from the reservation at most what it set aside for that fill (its cost at the rebate), so
 * what the remainder needs stays reserved. Here the first fill costs one unit more than that
 * (trunc(N) + trunc(N * t) against trunc(N * (1 + t)) at t = -10^-9): the fee absorbs the unit,
 * and the remainder rests fully reserved. Before, the fill took the unit from the remainder's
 * part, which rested a unit short and was given the unit back as a "rebate" at a maker rate of 0
 * when a sell reached it. At the holdings bound, a fill whose refused rebate the buyer cannot pay
 * halts the buy instead of resting its remainder short (here nothing trades). */
static void crossing_rebate_buy_keeps_its_remainder_reserved(void) {
  tx_config c = config_t(1, 1);
  c.fee_tiers[0] = (tx_fee_tier){0, 0, -1};
  tx_exchange *ex = open_exchange(&c);
  const int64_t notional = 100010000; /* B(0.0001) at 100.01 */
  EXPECT_EQ(tx_set_balances(ex, A, 0, 0, 2 * notional - 1), TX_OK);
  run(ex, limit_order(C, TX_SELL, B(0.0001), P(100.01)));
  run(ex, limit_order(A, TX_BUY, B(0.0002), P(100.01)));
  const tx_event *t = nth_event(TX_EV_TRADE, 0);
  EXPECT(t != NULL);
  if (t != NULL) {
    EXPECT_EQ(t->notional, notional);
    EXPECT_EQ(t->taker_fee, -1);
  }
  tx_order o;
  EXPECT_EQ(tx_order_get(ex, 0, 1, &o), TX_OK);
  EXPECT_EQ(o.reserved_quote, notional);
  EXPECT_EQ(balances(ex, A, 0).quote_free, 0);
  run(ex, market_order(C, TX_SELL, B(0.0001)));
  t = nth_event(TX_EV_TRADE, 0);
  EXPECT(t != NULL);
  if (t != NULL) EXPECT_EQ(t->maker_fee, 0);
  tx_balances a = balances(ex, A, 0);
  EXPECT_EQ(a.quote_free + a.quote_reserved, 0);
  EXPECT_EQ(a.base_free, B(0.0002));
  check_invariants(ex);
  tx_close(ex);

  const int64_t reserve = Q(199.9); /* B(1) at 100 at the taker rebate, B(1) resting at 0 % */
  ex = book_at_the_bound(0, -1000000LL, reserve);
  run(ex, limit_order(C, TX_SELL, B(1), P(100)));
  run(ex, limit_order(A, TX_BUY, B(2), P(100)));
  EXPECT_EQ(count_events(TX_EV_TRADE), 0);
  EXPECT_EQ(count_events(TX_EV_PLACED), 0);
  const tx_event *dropped = nth_event(TX_EV_REMAINDER_DROPPED, 0);
  EXPECT(dropped != NULL && dropped->volume == B(2));
  EXPECT_EQ(balances(ex, A, 0).quote_free, reserve);
  EXPECT_EQ(book_quote(ex), TX_MAX_HELD);
  check_invariants(ex);
  tx_close(ex);
}

/* Two accounts of `base` and `quote` (quote at 4 decimals), 98x leverage allowed on loans limited
 * by nothing else. */
static tx_config lending_at_98x(int64_t base, int64_t quote) {
  tx_config c = config_t(1, 1);
  c.quote_decimals = 4;
  c.agent_count = 2;
  c.default_base = base;
  c.default_quote = quote;
  c.max_leverage_e9 = 98000000000LL;
  c.max_loan = 9000000000000000000LL;
  c.maintenance_margin_e9 = 1000000LL;
  return c;
}

/* Two accounts of 2^61 quote units and 200000000 base at 98x: a 99x buy can borrow past the
 * book's lending limit. */
static tx_exchange *book_lending_at_98x(void) {
  tx_config c = lending_at_98x(B(200000000), (int64_t)1 << 61);
  return open_exchange(&c);
}

/* Loans create the quote they lend: at 99x, a leveraged buy of 700 000 base at 10^7 would pay its
 * seller 6.93 * 10^18 quote units on top of the 2^61 it holds, past int64 (a negative balance
 * before). A fill whose loan would take what the book has lent past X_LENT_LIMIT (2^61) is
 * refused and the aggressor halted; 200 000 base (1.98 * 10^18 lent) trades, and the same again
 * is refused while that loan is open. */
static void lending_stays_within_its_limit(void) {
  tx_exchange *ex = book_lending_at_98x();
  const int64_t price = P(10000000);
  run(ex, limit_order(BB, TX_SELL, B(70000000), price));
  tx_instruction buy = with_leverage(limit_order(A, TX_BUY, B(700000), price), 98000000000LL);
  run(ex, buy);
  EXPECT_EQ(count_events(TX_EV_ACCEPTED), 1);
  EXPECT_EQ(count_events(TX_EV_TRADE), 0);
  EXPECT_EQ(count_events(TX_EV_PLACED), 0);
  EXPECT_EQ(count_events(TX_EV_REMAINDER_DROPPED), 1);
  tx_balances a = balances(ex, A, 0), b = balances(ex, BB, 0);
  EXPECT_EQ(a.quote_free, (int64_t)1 << 61);
  EXPECT_EQ(a.quote_loan, 0);
  EXPECT_EQ(b.quote_free, (int64_t)1 << 61);
  buy.volume = B(200000);
  run(ex, buy);
  const tx_event *t = nth_event(TX_EV_TRADE, 0);
  EXPECT(t != NULL);
  if (t != NULL) EXPECT_EQ(t->volume, B(19800000));
  EXPECT_EQ(balances(ex, BB, 0).quote_free, ((int64_t)1 << 61) + 1980000000000000000LL);
  EXPECT_EQ(balances(ex, A, 0).quote_loan, 1980000000000000000LL); /* the whole cost */
  run(ex, buy);
  EXPECT_EQ(count_events(TX_EV_TRADE), 0);
  EXPECT_EQ(count_events(TX_EV_REMAINDER_DROPPED), 1);
  check_invariants(ex);
  tx_close(ex);
}

/* The lending limit is inclusive: a fill that takes what the book has lent to exactly
 * X_LENT_LIMIT (2^61) trades, one unit more is refused. A 99x buy of 200 000 base at
 * 11 645 666.72 lends trunc(1164566672 * 99 * 2 * 10^9 / 100) = 2^61 - 998 653 693 952 units; a
 * 2x buy of 998 653 693 952 base units at 1.00 then lends exactly the rest. */
static void lending_reaches_its_limit_exactly(void) {
  const int64_t rest = 998653693952LL;
  for (int past = 0; past <= 1; past++) {
    tx_exchange *ex = book_lending_at_98x();
    const int64_t price = 1164566672LL;
    run(ex, limit_order(BB, TX_SELL, B(70000000), price));
    tx_instruction first = with_leverage(limit_order(A, TX_BUY, B(200000), price), 98000000000LL);
    run(ex, first);
    EXPECT_EQ(count_events(TX_EV_TRADE), 1);
    EXPECT_EQ(balances(ex, A, 0).quote_loan, ((int64_t)1 << 61) - rest);
    run(ex, limit_order(BB, TX_SELL, rest + 2 * past, P(1)));
    tx_instruction second =
        with_leverage(limit_order(A, TX_BUY, rest / 2 + past, P(1)), 1000000000LL);
    run(ex, second);
    EXPECT_EQ(count_events(TX_EV_TRADE), past ? 0 : 1);
    EXPECT_EQ(count_events(TX_EV_REMAINDER_DROPPED), past ? 1 : 0);
    EXPECT_EQ(balances(ex, A, 0).quote_loan,
              past ? ((int64_t)1 << 61) - rest : (int64_t)1 << 61);
    check_invariants(ex);
    tx_close(ex);
  }
}

/* The same for base, where an order is at most 2^53 units: shorts of 2^53 base at 98x, 98x and
 * 57x sell 99, 99 and 58 times 2^53 at one tick, borrowing exactly 2^61 base, and trade; a 1x
 * short of one unit after them is refused. */
static void base_lending_reaches_its_limit_exactly(void) {
  const int64_t most = (int64_t)1 << 53;
  tx_config c = lending_at_98x((int64_t)1 << 60, (int64_t)1 << 61);
  tx_exchange *ex = open_exchange(&c);
  for (int i = 0; i < 257; i++) run(ex, limit_order(BB, TX_BUY, most, 1));
  const int64_t leverages[3] = {98000000000LL, 98000000000LL, 57000000000LL};
  for (int i = 0; i < 3; i++) {
    tx_instruction sell = with_leverage(limit_order(A, TX_SELL, most, 1), leverages[i]);
    run(ex, sell);
    EXPECT_EQ(count_events(TX_EV_REMAINDER_DROPPED), 0);
    EXPECT_EQ(count_events(TX_EV_PLACED), 0);
  }
  EXPECT_EQ(balances(ex, A, 0).base_loan, (int64_t)1 << 61);
  tx_instruction past = with_leverage(limit_order(A, TX_SELL, 1, 1), 1000000000LL);
  run(ex, past);
  EXPECT_EQ(count_events(TX_EV_TRADE), 0);
  EXPECT_EQ(count_events(TX_EV_REMAINDER_DROPPED), 1);
  EXPECT_EQ(balances(ex, A, 0).base_loan, (int64_t)1 << 61);
  check_invariants(ex);
  tx_close(ex);
}

/* What is written off stays lent: a 99x long that lends 2^61 - 998 653 693 952 quote units and
 * is written off at a crash leaves the book short of room for a 2x buy of 1 000 000 base at the
 * same price (2.3 * 10^17 lent), which is refused; counting the write-off as repaid, the book
 * would lend it. */
static void written_off_loans_stay_lent(void) {
  tx_config c = lending_at_98x(B(200000000), (int64_t)1 << 60);
  tx_exchange *ex = open_exchange(&c);
  const int64_t price = 1164566672LL;
  EXPECT_EQ(tx_add_account(ex, -1, 0, 24000000000000000LL), TX_OK);
  run(ex, limit_order(BB, TX_SELL, B(70000000), price));
  tx_instruction first = with_leverage(limit_order(-1, TX_BUY, B(200000), price), 98000000000LL);
  run(ex, first);
  EXPECT_EQ(balances(ex, -1, 0).quote_loan, ((int64_t)1 << 61) - 998653693952LL);
  run(ex, limit_order(BB, TX_BUY, B(20000000), P(1)));
  advance_by(ex, SEC(5));
  const tx_event *settled = nth_event(TX_EV_LOAN_SETTLED, 0);
  EXPECT(settled != NULL && (settled->flags & TX_EVF_WRITE_OFF));
  EXPECT_EQ(balances(ex, -1, 0).quote_loan, 0);
  tx_instruction second = with_leverage(limit_order(A, TX_BUY, B(1000000), price), 1000000000LL);
  run(ex, second);
  EXPECT_EQ(count_events(TX_EV_TRADE), 0);
  EXPECT_EQ(count_events(TX_EV_REMAINDER_DROPPED), 1);
  EXPECT_EQ(balances(ex, A, 0).quote_loan, 0);
  check_invariants(ex);
  tx_close(ex);
}

/* The same for an aggressing buy whose reservation counted on its taker rebate: it stops at the
 * fill it cannot pay, and what is left of it is dropped, not rested (it still crosses), for a
 * limit as for a market order. */
static void rebate_buy_past_the_bound_halts(void) {
  const int64_t reserve = Q(199.8); /* trunc(100 * 2 * 0.999) */
  tx_exchange *ex = book_at_the_bound(0, -1000000LL, reserve); /* taker -0.1 % */
  run(ex, limit_order(C, TX_SELL, B(2), P(100)));
  const tx_instruction buys[2] = {limit_order(A, TX_BUY, B(2), P(100)),
                                  market_order(A, TX_BUY, B(2))};
  for (int i = 0; i < 2; i++) {
    run(ex, buys[i]);
    EXPECT_EQ(count_events(TX_EV_ACCEPTED), 1);
    EXPECT_EQ(count_events(TX_EV_TRADE), 0);
    EXPECT_EQ(count_events(TX_EV_PLACED), 0);
    const tx_event *dropped = nth_event(TX_EV_REMAINDER_DROPPED, 0);
    EXPECT(dropped != NULL);
    if (dropped != NULL) EXPECT_EQ(dropped->volume, B(2));
    tx_balances a = balances(ex, A, 0);
    EXPECT_EQ(a.quote_free, reserve);
    EXPECT_EQ(a.quote_reserved, 0);
    EXPECT_EQ(a.base_free, 0);
  }
  tx_book_info info;
  EXPECT_EQ(tx_book_info_get(ex, 0, &info), TX_OK);
  EXPECT_EQ(info.bid_levels, 0);
  EXPECT_EQ(info.ask_volume, B(2));
  EXPECT_EQ(book_quote(ex), TX_MAX_HELD);
  check_invariants(ex);
  tx_close(ex);
}

/* A fill-or-kill order must fill whole or not at all, but a fill the holdings bound or the lending
 * limit refuses stops an aggressor part-way (or cancels a resting buy its fillable volume
 * counted). Near those bounds such an order is refused up front (HOLDINGS_LIMIT); with room it
 * fills whole. Before, each of these filled in part, the rest dropped. */
static void fill_or_kill_stays_whole_near_the_bounds(void) {
  /* A buy at a taker rebate with nothing but its reservation. */
  const int64_t reserve = Q(199.8); /* trunc(100 * 2 * 0.999) */
  tx_exchange *ex = book_at_the_bound(0, -1000000LL, reserve);
  run(ex, limit_order(C, TX_SELL, B(1), P(100)));
  run(ex, limit_order(C, TX_SELL, B(1), P(100)));
  tx_instruction fok = with_time_in_force(limit_order(A, TX_BUY, B(2), P(100)), TX_FOK);
  run(ex, fok);
  EXPECT_EQ(count_events(TX_EV_TRADE), 0);
  const tx_event *r = nth_event(TX_EV_REJECTED, 0);
  EXPECT(r != NULL && r->reason == TX_R_HOLDINGS_LIMIT);
  EXPECT_EQ(balances(ex, A, 0).quote_free, reserve);
  /* With room (D gives up its Q(10000)), the same order fills whole at the rebate. */
  EXPECT_EQ(tx_set_balances(ex, D, 0, B(100), 0), TX_OK);
  run(ex, fok);
  EXPECT_EQ(count_events(TX_EV_TRADE), 2);
  EXPECT_EQ(count_events(TX_EV_REMAINDER_DROPPED), 0);
  tx_balances a = balances(ex, A, 0);
  EXPECT_EQ(a.base_free, B(2));
  EXPECT_EQ(a.quote_free, reserve - Q(199.8));
  check_invariants(ex);
  tx_close(ex);

  /* A sell whose walk counts a resting buy reserved at a maker rebate that cannot be paid. */
  ex = book_at_the_bound(-1000000LL, 0, reserve);
  run(ex, limit_order(A, TX_BUY, B(2), P(100)));
  run(ex, limit_order(BB, TX_BUY, B(1), P(99)));
  fok = with_time_in_force(limit_order(C, TX_SELL, B(3), P(99)), TX_FOK);
  run(ex, fok);
  EXPECT_EQ(count_events(TX_EV_TRADE), 0);
  EXPECT_EQ(count_events(TX_EV_CANCELLED), 0);
  r = nth_event(TX_EV_REJECTED, 0);
  EXPECT(r != NULL && r->reason == TX_R_HOLDINGS_LIMIT);
  tx_book_info info;
  EXPECT_EQ(tx_book_info_get(ex, 0, &info), TX_OK);
  EXPECT_EQ(info.bid_volume, B(3));
  check_invariants(ex);
  tx_close(ex);

  /* A leveraged buy whose second fill would take the book's lending past its limit. */
  ex = book_lending_at_98x();
  const int64_t price = P(10000000);
  run(ex, limit_order(BB, TX_SELL, B(19800000), price));
  run(ex, limit_order(BB, TX_SELL, B(9900000), price));
  /* 99x: B(29700000) matchable */
  fok = with_time_in_force(
      with_leverage(limit_order(A, TX_BUY, B(300000), price), 98000000000LL), TX_FOK);
  run(ex, fok);
  EXPECT_EQ(count_events(TX_EV_TRADE), 0);
  r = nth_event(TX_EV_REJECTED, 0);
  EXPECT(r != NULL && r->reason == TX_R_HOLDINGS_LIMIT);
  EXPECT_EQ(balances(ex, A, 0).quote_loan, 0);
  /* A small one fills whole. */
  fok.volume = B(1000);
  run(ex, fok);
  EXPECT_EQ(count_events(TX_EV_TRADE), 1);
  EXPECT_EQ(count_events(TX_EV_REMAINDER_DROPPED), 0);
  check_invariants(ex);
  tx_close(ex);
}

/* The scale of the collateral splits past 128 bits below: quote at 0 decimals (a base unit at
 * BIG_PRICE ticks is worth BIG_PRICE / 10^6 quote units), 1x leverage, no loan limit. */
#define BIG_VOLUME 1125900686220920LL
#define BIG_PRICE 1124729223LL
#define BIG_REPAID 406276302426202LL

static tx_exchange *open_past_128_bits(void) {
  tx_config c = config_t(1, 1);
  c.quote_decimals = 0;
  c.max_leverage_e9 = 1000000000LL;
  c.max_loan = INT64_MAX;
  return open_exchange(&c);
}

/* A, holding `base` and `quote`, shorts BIG_VOLUME / 2 at 1x into BB's buy of BIG_VOLUME (its
 * loan, as opened, goes to *opened), then buys BIG_REPAID back from C at the same price. */
static tx_exchange *short_bought_back_past_128_bits(int64_t base, int64_t quote,
                                                    tx_loan *opened) {
  tx_exchange *ex = open_past_128_bits();
  EXPECT_EQ(tx_set_balances(ex, A, 0, base, quote), TX_OK);
  EXPECT_EQ(tx_set_balances(ex, BB, 0, 0, 2000000000000000000LL), TX_OK);
  EXPECT_EQ(tx_set_balances(ex, C, 0, BIG_REPAID, 0), TX_OK);
  run(ex, limit_order(BB, TX_BUY, BIG_VOLUME, BIG_PRICE));
  tx_instruction sell =
      with_leverage(limit_order(A, TX_SELL, BIG_VOLUME / 2, BIG_PRICE), 1000000000LL);
  run(ex, sell);
  EXPECT_EQ(count_events(TX_EV_TRADE), 1);
  EXPECT_EQ(tx_agent_loans(ex, A, 0, opened, 1), 1);
  run(ex, limit_order(C, TX_SELL, BIG_REPAID, BIG_PRICE));
  run(ex, market_order(A, TX_BUY, BIG_REPAID));
  EXPECT_EQ(count_events(TX_EV_TRADE), 1);
  return ex;
}

/* A partial repayment whose collateral split needs more than 128 bits: the short holds
 * 562950343110460 base; buying back s = BIG_REPAID releases trunc(562950343110460 * s /
 * 1125900686220920) = 203138151213101, computed in 256 bits (price * collateral * s is about
 * 2^128). Valuing the collateral in whole quote units first would release one unit less. */
static void collateral_split_past_128_bits(void) {
  const int64_t collateral = BIG_VOLUME / 2, released = 203138151213101LL;
  tx_loan loan;
  tx_exchange *ex = short_bought_back_past_128_bits(600000000000000LL, 0, &loan);
  EXPECT_EQ(tx_agent_loans(ex, A, 0, &loan, 1), 1);
  EXPECT_EQ(loan.amount, BIG_VOLUME - BIG_REPAID);
  EXPECT_EQ(loan.collateral_base, collateral - released);
  EXPECT_EQ(loan.collateral_quote, 0);
  tx_balances a = balances(ex, A, 0);
  EXPECT_EQ(a.base_free, 600000000000000LL - collateral + released);
  EXPECT_EQ(a.base_collateral, collateral - released);
  check_invariants(ex);
  tx_close(ex);
}

/* Partial repayments past 128 bits of loans whose collateral is in both currencies: the share
 * repaid, s / amount of the collateral's value V, comes back from the other currency first (a long
 * gives back base, a short quote) while it is less than that part.
 * - A long at 1x of 562950343110460 base, funded with 3 * 10^17 quote and 296219476813764 base,
 *   borrows 1266333403988422157 quote; selling s = BIG_REPAID base at the same price repays
 *   456950829951135190 and releases trunc(V * repaid / amount / price) = 203138151213101 base.
 * - A short at 1x of 562950343110460 base, funded with 3 * 10^14 base and 295747935094211079
 *   quote, borrows 1125900686220920 base; buying s back releases trunc(V * s / amount) =
 *   228475414975567595 quote. */
static void mixed_collateral_split_past_128_bits(void) {
  tx_loan loan;
  tx_exchange *ex = open_past_128_bits();
  EXPECT_EQ(tx_set_balances(ex, A, 0, 400000000000000LL, 300000000000000000LL), TX_OK);
  EXPECT_EQ(tx_set_balances(ex, BB, 0, BIG_VOLUME, 0), TX_OK);
  EXPECT_EQ(tx_set_balances(ex, C, 0, 0, 500000000000000000LL), TX_OK);
  run(ex, limit_order(BB, TX_SELL, BIG_VOLUME, BIG_PRICE));
  tx_instruction buy =
      with_leverage(limit_order(A, TX_BUY, BIG_VOLUME / 2, BIG_PRICE), 1000000000LL);
  run(ex, buy);
  EXPECT_EQ(tx_agent_loans(ex, A, 0, &loan, 1), 1);
  EXPECT_EQ(loan.amount, 1266333403988422157LL);
  EXPECT_EQ(loan.collateral_base, 296219476813764LL);
  EXPECT_EQ(loan.collateral_quote, 300000000000000000LL);
  run(ex, limit_order(C, TX_BUY, BIG_REPAID, BIG_PRICE));
  run(ex, market_order(A, TX_SELL, BIG_REPAID));
  EXPECT_EQ(count_events(TX_EV_TRADE), 1);
  EXPECT_EQ(tx_agent_loans(ex, A, 0, &loan, 1), 1);
  EXPECT_EQ(loan.amount, 1266333403988422157LL - 456950829951135190LL);
  EXPECT_EQ(loan.collateral_base, 296219476813764LL - 203138151213101LL);
  EXPECT_EQ(loan.collateral_quote, 300000000000000000LL);
  EXPECT_EQ(balances(ex, A, 0).base_collateral, 296219476813764LL - 203138151213101LL);
  check_invariants(ex);
  tx_close(ex);

  ex = short_bought_back_past_128_bits(300000000000000LL, 400000000000000000LL, &loan);
  EXPECT_EQ(loan.amount, BIG_VOLUME);
  EXPECT_EQ(loan.collateral_base, 300000000000000LL);
  EXPECT_EQ(loan.collateral_quote, 295747935094211079LL);
  EXPECT_EQ(tx_agent_loans(ex, A, 0, &loan, 1), 1);
  EXPECT_EQ(loan.amount, BIG_VOLUME - BIG_REPAID);
  EXPECT_EQ(loan.collateral_base, 300000000000000LL);
  EXPECT_EQ(loan.collateral_quote, 295747935094211079LL - 228475414975567595LL);
  EXPECT_EQ(balances(ex, A, 0).quote_collateral, 295747935094211079LL - 228475414975567595LL);
  check_invariants(ex);
  tx_close(ex);
}

/* A leveraged order sized in quote walks trunc(volume * (1 + L)) quote and owns the base that buys
 * divided by 1 + L, truncated to the lot; from then on it is the leveraged order sized in base of
 * that own volume: the same events, balances, loans and book. The quote amounts here walk whole
 * lots, so that the two reserve the same collateral (the quote order's is its walked quote with
 * fees, divided by 1 + L). */
static void leveraged_quote_order_trades_as_sized_in_base(void) {
  static const struct {
    int dir;
    int64_t price; /* 0: market */
    int64_t quote, own;
  } cases[] = {
      {TX_BUY, 0, Q(200), B(2)},      /* 400 quote at 100: 4 base, own 2 */
      {TX_SELL, 0, Q(198), B(2)},     /* 396 quote at 99: 4 base, own 2 */
      {TX_BUY, P(101), Q(601), B(6)}, /* 1202: 10 base for 1000 at 100, 2 rest at 101 */
      {TX_SELL, P(98), Q(593), B(6)}, /* 1186: 10 base for 990 at 99, 2 rest at 98 */
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    static tx_event seen[2][32];
    size_t seen_n[2] = {0, 0};
    tx_balances held[2];
    tx_loan loans[2][4];
    int64_t loan_n[2], prices[2][2][16] = {{{0}}}, volumes[2][2][16] = {{{0}}}, level_n[2][2];
    for (int by_quote = 0; by_quote < 2; by_quote++) {
      tx_exchange *ex = fresh(0);
      run(ex, limit_order(C, TX_SELL, B(10), P(100)));
      run(ex, limit_order(D, TX_BUY, B(10), P(99)));
      tx_instruction in = cases[c].price == 0
                              ? market_order(A, cases[c].dir, cases[c].own)
                              : limit_order(A, cases[c].dir, cases[c].own, cases[c].price);
      in = with_leverage(in, 1000000000LL);
      if (by_quote) {
        in.volume = cases[c].quote;
        in.currency = TX_CURRENCY_QUOTE;
      }
      run(ex, in);
      EXPECT_EQ(rejection(), -1);
      EXPECT_EQ(nth_event(TX_EV_ACCEPTED, 0)->volume, cases[c].own);
      EXPECT_EQ(count_events(TX_EV_PLACED), cases[c].price == 0 ? 0 : 1);
      EXPECT(count_events(TX_EV_TRADE) > 0);
      seen_n[by_quote] = event_count < 32 ? event_count : 32;
      memcpy(seen[by_quote], events, seen_n[by_quote] * sizeof *events);
      held[by_quote] = balances(ex, A, 0);
      memset(loans[by_quote], 0, sizeof loans[by_quote]);
      loan_n[by_quote] = tx_agent_loans(ex, A, 0, loans[by_quote], 4);
      for (int side = 0; side < 2; side++) {
        level_n[by_quote][side] = levels(ex, side, prices[by_quote][side], volumes[by_quote][side]);
      }
      check_invariants(ex);
      tx_close(ex);
    }
    EXPECT_EQ(seen_n[1], seen_n[0]);
    for (size_t i = 0; i < seen_n[0] && i < seen_n[1]; i++) {
      EXPECT(memcmp(&seen[0][i], &seen[1][i], sizeof seen[0][i]) == 0);
    }
    EXPECT(memcmp(&held[0], &held[1], sizeof held[0]) == 0);
    EXPECT_EQ(loan_n[0], 1);
    EXPECT_EQ(loan_n[1], loan_n[0]);
    EXPECT(memcmp(loans[0], loans[1], sizeof loans[0]) == 0);
    for (int side = 0; side < 2; side++) {
      EXPECT_EQ(level_n[1][side], level_n[0][side]);
      EXPECT(memcmp(prices[0][side], prices[1][side], sizeof prices[0][side]) == 0);
      EXPECT(memcmp(volumes[0][side], volumes[1][side], sizeof volumes[0][side]) == 0);
    }
  }
}

/* The own volume of a leveraged quote order is truncated to the lot before its matchable volume
 * follows from it; an own volume under a lot is too small, even where the same quote unleveraged
 * buys one. */
static void leveraged_quote_order_below_a_lot(void) {
  tx_exchange *ex = fresh(0);
  run(ex, limit_order(C, TX_SELL, B(10), P(100)));
  /* 0.01 at 0.5x walks 0.015: 0.0001 base, whose own share 0.0000666 is under the lot. */
  tx_instruction in = with_leverage(market_order(A, TX_BUY, Q(0.01)), 500000000LL);
  in.currency = TX_CURRENCY_QUOTE;
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_INVALID_VOLUME);
  EXPECT_EQ(count_events(TX_EV_TRADE), 0);
  EXPECT_BAL(ex, A, B(100), 0, Q(10000), 0);
  /* The quote walked is truncated, not rounded up: 0.0133333333 at 0.5x is 0.01999999995, cut to
   * 0.0199999999, which buys one lot at 100 (own 0: refused); 0.02 would buy two and own one. */
  in.volume = 133333333;
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_INVALID_VOLUME);
  EXPECT_EQ(count_events(TX_EV_TRADE), 0);
  /* 0.004 at 1x walks 0.008, which the ask could take in full but which buys no lot: too small
   * (not an empty book), judged on the quote walked, leverage included. */
  in = with_leverage(market_order(A, TX_BUY, Q(0.004)), 1000000000LL);
  in.currency = TX_CURRENCY_QUOTE;
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_INVALID_VOLUME);
  /* Immediate-or-cancel, its size of 0 is refused as such before anything is looked up to fill. */
  in = with_time_in_force(with_leverage(limit_order(A, TX_BUY, Q(0.01), P(100)), 500000000LL),
                          TX_IOC);
  in.currency = TX_CURRENCY_QUOTE;
  run(ex, in);
  EXPECT_EQ(rejection(), TX_R_INVALID_VOLUME);
  in = market_order(A, TX_BUY, Q(0.01));
  in.currency = TX_CURRENCY_QUOTE;
  run(ex, in);
  EXPECT_EQ(nth_event(TX_EV_TRADE, 0)->volume, B(0.0001));
  /* 0.015 at 1x walks 0.03: 0.0003 base, own 0.0001 (0.00015 truncated), trading 0.0002. */
  in = with_leverage(market_order(A, TX_BUY, Q(0.015)), 1000000000LL);
  in.currency = TX_CURRENCY_QUOTE;
  run(ex, in);
  EXPECT_EQ(nth_event(TX_EV_ACCEPTED, 0)->volume, B(0.0001));
  EXPECT_EQ(count_events(TX_EV_TRADE), 1);
  EXPECT_EQ(nth_event(TX_EV_TRADE, 0)->volume, B(0.0002));
  check_invariants(ex);
  tx_close(ex);
}

/* With base at 6 decimals and lots of 0.0001, the collateral of a leveraged quote sell is its
 * walked base divided by 1 + L, not its matchable volume's: 149.00495 quote at leverage 1 limit 99
 * walks 298.0099, 1 base at 100 and 2.0001 at 99; it owns trunc_v(3.0001 / 2) = 1.5 and trades 3,
 * but reserves trunc(3.0001 / 2) = 1.50005 base: the fill of 1 takes 0.5 of it as collateral, and
 * 1.00005 stays reserved for the 2 (1 own) resting at 99. */
static void leveraged_quote_sell_holds_its_walked_base(void) {
  clock_ns = SEC(1);
  tx_config c = config_t(1, 1);
  c.base_decimals = 6;
  c.default_base = 100000000;
  tx_exchange *ex = open_exchange(&c);
  run(ex, limit_order(D, TX_BUY, 1000000, P(100)));
  tx_instruction in =
      with_leverage(limit_order(A, TX_SELL, 1490049500000LL, P(99)), 1000000000LL);
  in.currency = TX_CURRENCY_QUOTE;
  run(ex, in);
  EXPECT_EQ(rejection(), -1);
  EXPECT_EQ(nth_event(TX_EV_ACCEPTED, 0)->volume, 1500000);
  EXPECT_EQ(count_events(TX_EV_TRADE), 1);
  tx_balances held = balances(ex, A, 0);
  EXPECT_EQ(held.base_free, 98499950);
  EXPECT_EQ(held.base_reserved, 1000050);
  EXPECT_EQ(held.base_collateral, 500000);
  check_invariants(ex);
  tx_close(ex);

  /* 149.007425 walks 298.01485: 2.00015 base at 99, cut with the 1 at 100 to the lot 3.0001, so it
   * reserves 1.50005 as before (3.00015 uncut would reserve 1.500075). */
  ex = open_exchange(&c);
  run(ex, limit_order(D, TX_BUY, 1000000, P(100)));
  in.volume = 1490074250000LL;
  run(ex, in);
  EXPECT_EQ(rejection(), -1);
  EXPECT_EQ(balances(ex, A, 0).base_reserved, 1000050);
  check_invariants(ex);
  tx_close(ex);
}

int main(void) {
  collateral_split_past_128_bits();
  mixed_collateral_split_past_128_bits();
  fill_or_kill_stays_whole_near_the_bounds();
  rebate_buy_notional_within_holdings();
  rebate_buy_keeps_the_rest_reserved();
  rebate_buy_past_the_bound_is_cancelled();
  ioc_remainder_after_unfunded_cancel_is_dropped();
  rebate_buy_past_the_bound_halts();
  crossing_rebate_buy_keeps_its_remainder_reserved();
  lending_stays_within_its_limit();
  lending_reaches_its_limit_exactly();
  base_lending_reaches_its_limit_exactly();
  written_off_loans_stay_lent();
  rebates_within_holdings();
  reset_within_holdings();
  fee_volume_saturates();
  order_ids_exhausted();
  trade_ids_skip_none();
  short_liquidation_ends();
  fee_rolls_at_clock_end();
  extreme_prices();
  reset_well_formed();
  dropped_after_reset();
  dropped_after_reset_of_sender();
  holdings_limit();
  s01_resting_buy();
  s02_resting_sell();
  s03_crossing_sell();
  s04_crossing_buy();
  s05_market_sweep();
  s06_market_larger_than_book();
  s07_market_sell_larger_than_book();
  s08_market_buy_in_quote();
  s09_ioc_partial();
  s10_ioc_nothing();
  s11_fok_success();
  s12_fok_failure();
  s13_post_only();
  s14_gtt_expiry();
  advance_before_leaves_the_instants_expiries();
  advance_before_leaves_the_margin_check();
  s15_stp_co();
  s16_stp_cn();
  s17_stp_cb();
  s18_stp_dc_resting_smaller();
  s19_stp_dc_resting_larger();
  s20_stp_none();
  stp_dc_takes_a_leveraged_resting_order_whole();
  s21_cancel_full();
  s22_cancel_partial_then_fill();
  s23_cancel_unknown();
  s24_insufficient_funds();
  buy_funds_bound();
  id_page_outlives_its_last_fill();
  book_volume_limit();
  s25_26_27_validation();
  s28_fee_tiers();
  s33_price_time_priority();
  s34_books_isolated();
  s35_reset();
  s30_margin_call_long();
  s31_buy_back();
  s32_margin_call_short();
  margin_call_only_past_call_price();
  short_liquidation_spends_exactly_one_lot();
  leverage_limits();
  margin_write_off();
  margin_write_off_sells_base_collateral();
  margin_write_off_spends_quote_collateral();
  leveraged_partial_cancel();
  post_only_modes();
  tif_with_self_trade();
  limit_orders_in_quote();
  reset_drops_loans();
  api_contract();
  config_fields_named();
  leveraged_quote_order_trades_as_sized_in_base();
  leveraged_quote_order_below_a_lot();
  leveraged_quote_sell_holds_its_walked_base();
  if (failures > 0) {
    fprintf(stderr, "exchange scenarios: %d failures\n", failures);
    return 1;
  }
  printf("exchange scenarios: all passed\n");
  return 0;
}
