/* Decision rules of each background agent type on a constructed book, the event loop's
 * determinism across thread counts, and conservation of cash and holdings in a seeded run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_harness.h"

static void test_initialization_ladder(void) {
  taos_sim *sim = create_with(CHANGES({"init_count", 3}));
  sim_book *book = empty_book(sim);
  book->now = 0;
  sim_msg start = {.kind = MSG_INIT_START};
  sim_agents_handle(book, &start);
  int bids = 0, asks = 0;
  double bid_notional = 0, ask_volume = 0;
  int64_t max_bid = 0;
  uint32_t slot = sim->local_base; /* first initialization agent */
  for (size_t i = 0; i < book->heap.size; i++) {
    const sim_msg *m = &book->heap.items[i];
    CHECK(m->kind == MSG_PLACE_LIMIT && m->time == 0);
    CHECK(m->price > 0); /* never a bid at price 0 */
    if (m->slot != slot) continue;
    if (m->dir == 0) {
      bids++;
      CHECK(m->price < 30000);
      CHECK(m->volume <= 500000); /* a bid is at most Q / P0 / 2 = 50 units */
      bid_notional += m->price * 0.01 * m->volume * 1e-4;
      max_bid = m->volume > max_bid ? m->volume : max_bid;
    } else {
      asks++;
      CHECK(m->price > 30000 && m->price <= 60000);
      CHECK(m->volume <= 500000); /* an ask is at most B / 2 = 50 units */
      ask_volume += m->volume * 1e-4;
    }
  }
  CHECK(bids >= 2 && asks >= 2);
  CHECK(max_bid > 100000); /* the cap is not met by mere small draws (U(0, 50) units) */
  CHECK(bid_notional <= 30000 + 1e-6);
  CHECK(ask_volume <= 100 + 1e-9);
  taos_sim_destroy(sim);
}

/* At an initial price of three ticks every bid is drawn below two ticks and floored to a tick: one
 * drawn below one tick is placed at one tick, never at price 0 (about half of them). */
static void test_initialization_never_bids_at_zero(void) {
  taos_sim *sim = create_with(CHANGES({"init_count", 3}, {"initial_price", 0.03}));
  sim_book *book = empty_book(sim);
  book->now = 0;
  sim_msg start = {.kind = MSG_INIT_START};
  sim_agents_handle(book, &start);
  int bids = 0;
  for (size_t i = 0; i < book->heap.size; i++) {
    const sim_msg *m = &book->heap.items[i];
    if (m->kind != MSG_PLACE_LIMIT || m->dir != 0) continue;
    bids++;
    CHECK(m->price == 1);
  }
  CHECK(bids >= 20);
  taos_sim_destroy(sim);
}

/* One stylized trader that follows the fundamental only, without noise. */
static taos_sim *one_fundamentalist(void) {
  return create_with(
      CHANGES({"sty_count", 1}, {"sty_sigma_f", 1}, {"sty_sigma_c", 0}, {"sty_sigma_eps", 0}));
}

/* Stylized trader with strong fundamentalist weight and no chartist or noise term: its forecast
 * p_hat lies beyond the spread on the fundamental's side, so every order it sends is priced
 * there (aggressive buys / passive sells above the ask when the fundamental is higher, and the
 * mirror image); the side follows the CARA demand (cash vs holdings) and the random price draw. */
static void test_stylized_follows_fundamental(void) {
  for (int up = 0; up <= 1; up++) {
    taos_sim *sim = one_fundamentalist();
    sim_book *book = quoted_book(sim);
    book->fund_value = up ? 330.0 : 270.0;
    uint32_t slot = sim->local_base + sim->off_sty;
    sim_msg poll = {.time = book->now, .kind = MSG_POLL, .slot = slot};
    int orders = 0, buys = 0;
    for (int i = 0; i < 50; i++) {
      book->heap.size = 0;
      book->sty[0].order_in_flight = false;
      sim_agents_handle(book, &poll);
      CHECK(queued(book, slot, MSG_POLL, NULL) == 1); /* next snapshot scheduled */
      sim_msg order = {0};
      if (queued(book, slot, MSG_PLACE_LIMIT, &order) == 0) continue;
      orders++;
      buys += order.dir == 0;
      CHECK(up ? order.price > 30010 : order.price < 29990);
      CHECK(order.volume > 0);
      /* a sell below the bid: the demand there is negative, so the volume is all the holdings */
      if (!up && order.dir == 1) CHECK(order.volume == sim_account_of(book, slot).base_free);
      CHECK(order.time - book->now >= 90000000ull && order.time - book->now <= 300000000ull);
      CHECK(book->sty[0].order_in_flight);
      /* while the order is in flight the agent does not decide again */
      book->heap.size = 0;
      sim_agents_handle(book, &poll);
      CHECK(queued(book, slot, MSG_PLACE_LIMIT, NULL) == 0);
    }
    CHECK(orders >= 10);
    CHECK(up ? buys > 0 : buys < orders); /* the aggressive side does occur */
    taos_sim_destroy(sim);
  }
}

/* A flat return history makes the CARA demand curve so steep that rounding the limit price to
 * the tick turns the sell volume into about -1e19 lots: the agent sends nothing then, and the
 * conversion to lots stays in range (it was out of int64's range, undefined behaviour). */
static void test_stylized_steep_demand_sends_no_negative_order(void) {
  taos_sim *sim = one_fundamentalist();
  sim_book *book = empty_book(sim);
  rest(book, 0, 29900, 50000); /* 299 / 301 */
  rest(book, 1, 30100, 50000);
  book->fund_value = 301.0;
  sim_sty_book *st = &book->sty[0];
  uint32_t slot = sim->local_base + sim->off_sty;
  sim_msg poll = {.time = book->now, .kind = MSG_POLL, .slot = slot};
  /* each poll adds a zero return: the variance shrinks further as the ring fills with them */
  for (uint32_t k = 0; k < st->filled; k++) st->returns[k] = (k % 2) * 1e-9;
  for (int i = 0; i < 2000; i++) {
    st->last_price = 300.0; /* the poll's own return is 0 */
    st->order_in_flight = false;
    book->heap.size = 0;
    sim_agents_handle(book, &poll);
    CHECK(queued(book, slot, MSG_POLL, NULL) == 1);
    sim_msg order = {0};
    if (queued(book, slot, MSG_PLACE_LIMIT, &order) > 0) CHECK(order.volume > 0);
  }
  taos_sim_destroy(sim);
}

/* With regime switching on, a one-sided book (imbalance 1) moves the agent into the regime and
 * its fundamentalist horizon becomes tauFRegime; off (production), nothing changes. */
static void test_stylized_regime_switch(void) {
  for (int on = 0; on <= 1; on++) {
    taos_sim *sim = create_with(CHANGES({"sty_count", 1}, {"sty_regime_flag", on},
                                        {"sty_regime_prob", 0.75}, {"sty_tau_f_regime", 15}));
    sim_book *book = empty_book(sim);
    rest(book, 0, 29990, 50000);
    uint32_t slot = sim->local_base + sim->off_sty;
    sim_msg poll = {.time = book->now, .kind = MSG_POLL, .slot = slot};
    book->sty[0].order_in_flight = true; /* observe the regime only */
    sim_agents_handle(book, &poll);
    CHECK(book->sty[0].regime == (on == 1));
    CHECK(book->sty[0].tau_f == (on ? 15.0 : 1.0));
    taos_sim_destroy(sim);
  }
}

/* A stylized poll's selection rounds placed among precomputed draws agree with the Rayleigh
 * quantile's own: at the draws next to each bin's edge, just outside the band where the quantile
 * decides, and at a million seeded draws, for scales that put the edges from 1e-9 to 1 - 1e-16.
 * A draw has more than k rounds when its quantile passes k 5/9, and the quantile of the largest
 * draw, 1 - 2^-53, is 8.57 times the scale: at scale 0.2 (production) 0 to 4 rounds occur (4 when
 * 1 - u < 8.5e-16), at 0.01 only 0 and 1. */
static void test_stylized_rounds_agree_with_the_quantile(void) {
  const double scales[] = {0.01, 0.2, 0.9, 5, 1e4};
  const int expected_edges[] = {1, 4, 10, 10, 10};
  for (size_t i = 0; i < sizeof scales / sizeof scales[0]; i++) {
    taos_sim *sim = create_with(CHANGES({"sty_count", 1}, {"sty_scale_r", scales[i]}));
    int edges = 0;
    for (int k = 0; k < SIM_STY_MAX_ROUNDS; k++) {
      double edge = sim->sty_rounds_above[k];
      if (!isfinite(edge)) continue;
      edges++;
      CHECK(sim_stylized_rounds_of_quantile(scales[i], edge) > k);
      if (edge > 0x1.0p-53) {
        CHECK(sim_stylized_rounds_of_quantile(scales[i], edge - 0x1.0p-53) <= k);
      }
      /* the draws on the grid of 2^-53 just beyond the band, on each side */
      const double bands[] = {edge * (1 - 1e-9), edge * (1 + 1e-9)};
      for (int side = 0; side < 2; side++) {
        double base = floor(bands[side] * 0x1.0p53) * 0x1.0p-53;
        for (int step = -50; step <= 50; step++) {
          double u = base + step * 0x1.0p-53;
          if (u < 0 || u >= 1) continue;
          CHECK(sim_stylized_rounds(sim, u) == sim_stylized_rounds_of_quantile(scales[i], u));
        }
      }
    }
    CHECK(edges == expected_edges[i]);
    sim_rng rng;
    sim_rng_seed(&rng, 7, 0, 0, 0);
    for (int n = 0; n < 1000000; n++) {
      double u = sim_uniform(&rng);
      CHECK(sim_stylized_rounds(sim, u) == sim_stylized_rounds_of_quantile(scales[i], u));
    }
    CHECK(sim_stylized_rounds(sim, 0) == 0);
    taos_sim_destroy(sim);
  }
}

/* With an imbalance of 0.5 a NORMAL agent enters the regime half the time under the reference's
 * dynamics (its two draws are one number) and a quarter of the time under the intended ones. */
static void test_stylized_regime_entry_rate(void) {
  for (int reference = 0; reference <= 1; reference++) {
    taos_sim *sim = create_with(CHANGES({"sty_count", 1}, {"sty_regime_flag", 1},
                                        {"sty_tau_f_regime", 15},
                                        {"reference_dynamics", reference}));
    sim_book *book = empty_book(sim);
    rest(book, 0, 29990, 30000); /* 3 units bid, 1 asked: imbalance 0.5 */
    rest(book, 1, 30010, 10000);
    uint32_t slot = sim->local_base + sim->off_sty;
    sim_msg poll = {.time = book->now, .kind = MSG_POLL, .slot = slot};
    int entered = 0, trials = 4000;
    for (int i = 0; i < trials; i++) {
      book->sty[0].regime = false;
      book->sty[0].order_in_flight = true; /* observe the regime only */
      book->heap.size = 0;
      sim_agents_handle(book, &poll);
      entered += book->sty[0].regime;
    }
    double rate = (double)entered / trials, expected = reference ? 0.5 : 0.25;
    CHECK(fabs(rate - expected) < 0.04); /* 5 standard errors at most */
    taos_sim_destroy(sim);
  }
}

/* The prices of the bid and the ask the agent in `slot` has queued (-1 for a side it did not
 * quote). */
static void queued_quotes(const sim_book *book, uint32_t slot, int64_t *bid, int64_t *ask) {
  *bid = *ask = -1;
  for (size_t i = 0; i < book->heap.size; i++) {
    const sim_msg *m = &book->heap.items[i];
    if (m->slot != slot || m->kind != MSG_PLACE_LIMIT) continue;
    if (m->dir == 0) *bid = m->price;
    else *ask = m->price;
  }
}

/* Adds the sides of the limit orders queued to *bids and *asks. */
static void count_queued_sides(const sim_book *book, int *bids, int *asks) {
  for (size_t j = 0; j < book->heap.size; j++) {
    const sim_msg *m = &book->heap.items[j];
    if (m->kind == MSG_PLACE_LIMIT) m->dir == 0 ? (*bids)++ : (*asks)++;
  }
}

/* Rests a bid at 299.90 and an ask at 300.10 on the first book and delivers one poll to the first
 * HFT agent, whose slot goes to *slot. */
static sim_book *poll_hft(taos_sim *sim, uint32_t *slot) {
  sim_book *book = quoted_book(sim);
  *slot = sim->local_base + sim->off_hft;
  sim_msg poll = {.time = book->now, .kind = MSG_POLL, .slot = *slot};
  sim_agents_handle(book, &poll);
  return book;
}

static void test_hft_quotes_and_inventory(void) {
  taos_sim *sim = create_with(CHANGES({"hft_count", 1}));
  uint32_t slot;
  sim_book *book = poll_hft(sim, &slot);
  sim_msg poll = {.time = book->now, .kind = MSG_POLL, .slot = slot};
  int64_t bid, ask;
  queued_quotes(book, slot, &bid, &ask);
  CHECK(bid > 0 && ask > 0 && bid < ask);
  CHECK(bid > 29900 && ask < 30100); /* quotes around the reservation price (mid, no inventory) */
  sim_msg next = {0};
  CHECK(queued(book, slot, MSG_POLL, &next) == 1);
  /* flat: 5 s / (1 + e^-100) is 5 s exactly in double, and the poll comes 1 ns after it */
  CHECK(next.time - book->now == 5000000001ull);
  /* long inventory beyond psi: fast polling and never a bid (its volume v0 (0.5 - I/psi) is
   * negative, as in the reference; the inventory cancel has a test of its own) */
  book->hft[0].inventory = 150;
  int bids = 0, asks = 0;
  for (int i = 0; i < 40; i++) {
    book->heap.size = 0;
    sim_agents_handle(book, &poll);
    CHECK(queued(book, slot, MSG_POLL, &next) == 1);
    CHECK(next.time - book->now == 50000001ull); /* the 50 ms floor, and 1 ns */
    count_queued_sides(book, &bids, &asks);
  }
  CHECK(asks == 40);
  CHECK(bids == 0);
  taos_sim_destroy(sim);
}

/* Short inventory beyond psi is the mirror image of long: fast polling (the delta shrinks with
 * |inventory|) and never an ask (its volume v0 (0.5 + I/psi) is negative). */
static void test_hft_short_inventory(void) {
  taos_sim *sim = create_with(CHANGES({"hft_count", 1}));
  uint32_t slot;
  sim_book *book = poll_hft(sim, &slot);
  sim_msg poll = {.time = book->now, .kind = MSG_POLL, .slot = slot};
  book->hft[0].inventory = -150;
  int bids = 0, asks = 0;
  for (int i = 0; i < 40; i++) {
    book->heap.size = 0;
    sim_agents_handle(book, &poll);
    sim_msg next = {0};
    CHECK(queued(book, slot, MSG_POLL, &next) == 1);
    /* 5 s / (1 + e^50) is far below the 50 ms floor: the floor, and the poll's 1 ns after it */
    CHECK(next.time - book->now == 50000001ull);
    count_queued_sides(book, &bids, &asks);
  }
  CHECK(bids == 40);
  CHECK(asks == 0);
  taos_sim_destroy(sim);
}

/* An HFT agent prices from the last trade while it is less than 1 s old, then from the mid: a
 * trade at 320 a nanosecond under 1 s ago pulls both quotes above 310; one exactly 1 s ago leaves
 * them around the 300 mid. */
static void test_hft_last_trade_fresh_under_one_second(void) {
  for (int stale = 0; stale <= 1; stale++) {
    taos_sim *sim = create_with(CHANGES({"hft_count", 1}));
    sim_book *book = quoted_book(sim);
    uint32_t slot = sim->local_base + sim->off_hft;
    book->traded = true;
    book->last_trade_price = 320.0;
    book->last_trade_time = book->now - (stale ? 1000000000ull : 999999999ull);
    sim_msg poll = {.time = book->now, .kind = MSG_POLL, .slot = slot};
    sim_agents_handle(book, &poll);
    int64_t bid, ask;
    queued_quotes(book, slot, &bid, &ask);
    CHECK(bid > 0 && ask > 0);
    if (stale) CHECK(bid > 29900 && ask < 30100);
    else CHECK(bid > 31000 && ask > 31000);
    taos_sim_destroy(sim);
  }
}

/* Before the first trade, an empty side counts as the initial price (300): with asks only, at
 * 310, an HFT agent quotes around the 305 mid, not around 155 (an empty side at price 0). */
static void test_empty_side_before_any_trade_is_the_initial_price(void) {
  taos_sim *sim = create_with(CHANGES({"hft_count", 1}));
  sim_book *book = empty_book(sim);
  rest(book, 1, 31000, 50000);
  CHECK(!book->traded);
  uint32_t slot = sim->local_base + sim->off_hft;
  sim_msg poll = {.time = book->now, .kind = MSG_POLL, .slot = slot};
  sim_agents_handle(book, &poll);
  int64_t bid, ask;
  queued_quotes(book, slot, &bid, &ask);
  CHECK(bid > 30000 && bid < 30500);
  CHECK(ask > 30500 && ask < 31000);
  taos_sim_destroy(sim);
}

/* Polls the HFT agent in `slot` 40 times at `inventory` (beyond its limit of 100): every cancel it
 * sends names `order_id`, and three polls in four send one. */
static void expect_inventory_cancels(sim_book *book, uint32_t slot, double inventory,
                                     uint32_t order_id) {
  book->hft[slot - book->sim->local_base - book->sim->off_hft].inventory = inventory;
  sim_msg poll = {.time = book->now, .kind = MSG_POLL, .slot = slot};
  int cancels = 0;
  for (int i = 0; i < 40; i++) {
    book->heap.size = 0;
    sim_agents_handle(book, &poll);
    sim_msg cancel = {0};
    if (queued(book, slot, MSG_CANCEL, &cancel) == 0) continue;
    cancels++;
    CHECK(cancel.a == order_id);
  }
  CHECK(cancels > 15);
}

/* Above its inventory limit an HFT agent cancels its order closest to the best price of the side it
 * is long or short in, the newest of equally close ones, however many orders it has resting (the
 * reference keeps every one in its records). */
static void test_hft_inventory_cancel_sees_every_order(void) {
  taos_sim *sim = create_with(CHANGES({"hft_count", 1}));
  sim_book *book = quoted_book(sim);
  uint32_t slot = sim->local_base + sim->off_hft;
  /* 100 bids of 1 unit, two at each price from 297.50 to 297.99: the best two come 50th and last. */
  for (int i = 0; i < 100; i++) {
    rest_for(book, slot, 0, 29750 + (i % 50), 10000);
  }
  CHECK(tx_agent_orders(book->ex, sim_agent_id(sim, slot), 0, NULL, 0) == 100);
  tx_order all[100];
  CHECK(tx_agent_orders(book->ex, sim_agent_id(sim, slot), 0, all, 100) == 100);
  tx_order newest = all[99];
  CHECK(newest.price == 29799);
  expect_inventory_cancels(book, slot, 150, newest.order_id);
  taos_sim_destroy(sim);
}

/* A background agent hears of an accepted order after the order's latency back, of a rejected one
 * at once (after the 1 ns of processing): the exchange's "fast" response. */
static void test_rejections_are_acknowledged_at_once(void) {
  taos_sim *sim = create_with(CHANGES(
      {"init_count", 1} /* 100 base and 30000 quote */
  ));
  sim_book *book = empty_book(sim);
  uint32_t slot = sim->local_base + sim->off_init;
  const uint64_t latency = 5000000;
  sim_msg order = {.time = book->now, .kind = MSG_PLACE_LIMIT, .dir = 0, .price = 29000,
                   .volume = 10000, .slot = slot, .a = SIM_NONE, .aux = latency};
  sim_place_limit(book, &order);
  sim_msg ack = {0};
  CHECK(queued(book, slot, MSG_ACK, &ack) == 1);
  CHECK(ack.a != SIM_NONE && ack.time == book->now + 1 + latency);
  book->heap.size = 0;
  order.volume = 1000000000000; /* far more than the agent can pay for */
  sim_place_limit(book, &order);
  CHECK(queued(book, slot, MSG_ACK, &ack) == 1);
  CHECK(ack.a == SIM_NONE && ack.time == book->now + 1);
  taos_sim_destroy(sim);
}

/* An HFT quote beyond its wealth goes on margin: own volume / (1 + L), leverage L <= maxLeverage,
 * and the exchange core holds it as a leveraged order; without margin it stays a cash order. Quote
 * volumes are lognormal draws, so each seed gives other sizes. Over several seeds, with margin
 * every quote's leverage stays within the maximum and some quote beyond the agent's wealth rests
 * levered; without margin none carries leverage and no oversized one rests. */
static void test_hft_quotes_on_margin(void) {
  enum { SEEDS = 8 };
  for (int margin = 0; margin < 2; margin++) {
    int on_margin = 0, quoted = 0;
    for (int seed = 1; seed <= SEEDS; seed++) {
      taos_sim *sim = create_with(CHANGES(
          {"seed", seed},
          {"hft_count", 1},
          {"hft_bal_a", 2}, /* 2 base and 600 quote: about 1200 of wealth */
          {"hft_bal_b", 600},
          {"hft_order_mean", 2.5}, /* quotes of about 12 base */
          {"max_leverage", margin ? 4 : 0},
          {"max_loan", margin ? 100000 : 0},
          {"maintenance_margin", margin ? 0.1 : 0}
      ));
      uint32_t slot;
      sim_book *book = poll_hft(sim, &slot);
      sim_msg quotes[2];
      int n = 0;
      for (size_t i = 0; i < book->heap.size; i++) {
        const sim_msg *m = &book->heap.items[i];
        if (m->slot == slot && m->kind == MSG_PLACE_LIMIT && n < 2) quotes[n++] = *m;
      }
      CHECK(n == 2);
      quoted += n;
      for (int q = 0; q < n; q++) {
        CHECK(quotes[q].leverage <= (margin ? 4000000u : 0u));
        book->heap.size = 0;
        book->now = quotes[q].time;
        sim_place_limit(book, &quotes[q]);
        sim_msg ack = {0};
        CHECK(queued(book, slot, MSG_ACK, &ack) == 1);
        tx_order o;
        if (ack.a != SIM_NONE && sim_order_get(book, ack.a, &o)) {
          CHECK(o.leverage_e9 == (int64_t)quotes[q].leverage * 1000 / 100000 * 100000);
          on_margin += o.leverage_e9 > 0;
        }
      }
      taos_sim_destroy(sim);
    }
    CHECK(quoted == 2 * SEEDS);
    CHECK(margin ? on_margin >= 1 : on_margin == 0);
  }
}

/* An order size drawn above what is left to execute (a Dirac volume of 1000 units against 312.5
 * left) is cut to it: 312.5 units are 3 125 000 lots. */
static void test_algo_bucket_triggers_execution(void) {
  for (int large = 0; large <= 1; large++) {
    double params[TAOS_SIM_PARAM_COUNT];
    defaults_with(params, CHANGES({"algo_count", 1}));
    if (large) {
      set(params, "algo_volume_kind", TAOS_SIM_VOLUME_DIRAC);
      set(params, "algo_volume_a", 1000);
    }
    taos_sim *sim = create(params);
    sim_book *book = empty_book(sim);
    rest(book, 1, 30010, 5000000);
    uint32_t slot = sim->local_base + sim->off_algo;
    /* 25 000 units of aggressive buying overflow the 20 000 bucket */
    sim_agents_on_trade(book, 0, 1, 0, 30010, 150000000);
    CHECK(book->algo[0].status == 0);
    sim_agents_on_trade(book, 0, 1, 0, 30010, 100000000);
    CHECK(book->algo[0].status == 1);
    CHECK(book->algo[0].dir == 0);
    CHECK(fabs(book->algo[0].to_execute - 0.0125 * 25000) < 1e-6);
    CHECK(fabs(book->algo[0].buy_bucket - 5000) < 1e-6 && book->algo[0].sell_bucket == 0);
    sim_msg wake = {0};
    CHECK(queued(book, slot, MSG_ALGO_WAKEUP, &wake) == 1);
    book->heap.size = 0;
    sim_agents_handle(book, &wake);
    sim_msg order = {0};
    CHECK(book->algo[0].status == 2);
    CHECK(queued(book, slot, MSG_PLACE_MARKET, &order) == 1);
    CHECK(order.dir == 0 && order.volume > 0);
    CHECK(large ? order.volume == 3125000 : order.volume < 3125000);
    taos_sim_destroy(sim);
  }
}

static void test_futures_follow_external_move(void) {
  for (int up = 0; up <= 1; up++) {
    taos_sim *sim = create_with(CHANGES({"fut_count", 1}, {"fut_sigma_eps", 0.01}));
    sim_book *book = quoted_book(sim);
    uint32_t slot = sim->local_base + sim->off_fut;
    sim_msg poll = {.time = book->now, .kind = MSG_POLL, .slot = slot};
    sim_agents_handle(book, &poll); /* first look: remembers the signal, no order */
    CHECK(queued(book, slot, MSG_PLACE_MARKET, NULL) == 0);
    book->ext_count = 1;
    book->ext_value = up ? 303.0 : 297.0;
    sim_agents_handle(book, &poll);
    sim_msg order = {0};
    CHECK(queued(book, slot, MSG_PLACE_MARKET, &order) == 1);
    CHECK(order.dir == (up ? 0 : 1));
    CHECK(fabs(book->fut[0].factor - exp(fabs(log(book->ext_value / 300.0)))) < 1e-12);
    taos_sim_destroy(sim);
  }
}

/* When the external signal follows a recorded or live feed, the initial price it holds before the
 * feed's first sample is no price of the instrument: the first sample (450 against the book's
 * 300) starts the trader's returns and sends no order, and the next one (459) is its first return,
 * ln(459 / 450). */
static void test_futures_take_a_feeds_first_sample_as_their_base(void) {
  for (int live = 0; live <= 1; live++) {
    taos_sim *sim = create_with(CHANGES({"fut_count", 1}, {"fut_sigma_eps", 0.01}));
    const double first[1] = {450.0};
    CHECK((live ? taos_sim_extend_feed(sim, 1, first, 1) : taos_sim_set_feed(sim, 1, first, 1)) ==
          TAOS_SIM_OK);
    sim_book *book = quoted_book(sim);
    uint32_t slot = sim->local_base + sim->off_fut;
    sim_msg poll = {.time = book->now, .kind = MSG_POLL, .slot = slot};
    sim_agents_handle(book, &poll); /* before any sample: the signal holds the initial 300 */
    book->ext_count = 1;
    book->ext_value = 450.0;
    for (int i = 0; i < 200; i++) sim_agents_handle(book, &poll);
    CHECK(queued(book, slot, MSG_PLACE_MARKET, NULL) == 0);
    CHECK(book->fut[0].last_return == 0 && book->fut[0].last_ext == 450.0);
    book->ext_count = 2;
    book->ext_value = 459.0;
    sim_agents_handle(book, &poll);
    CHECK(fabs(book->fut[0].last_return - log(459.0 / 450.0)) < 1e-15);
    sim_msg order = {0};
    CHECK(queued(book, slot, MSG_PLACE_MARKET, &order) == 1 && order.dir == 0);
    taos_sim_destroy(sim);
  }
}

/* A trade moves an HFT agent's inventory by its volume: up when it bought as the aggressor of a buy
 * or was the resting seller's counterpart of a sell, down in the mirror cases. */
static void test_hft_inventory_follows_its_trades(void) {
  taos_sim *sim = create_with(CHANGES({"hft_count", 1}));
  sim_book *book = empty_book(sim);
  uint32_t hft = sim->local_base + sim->off_hft;
  sim_agents_on_trade(book, hft, 0, 0, 30000, 20000); /* bought 2 as the aggressor */
  CHECK(book->hft[0].inventory == 2.0);
  sim_agents_on_trade(book, 0, hft, 0, 30000, 30000); /* its resting ask sold 3 */
  CHECK(book->hft[0].inventory == -1.0);
  sim_agents_on_trade(book, 0, hft, 1, 30000, 50000); /* its resting bid bought 5 */
  CHECK(book->hft[0].inventory == 4.0);
  sim_agents_on_trade(book, hft, 0, 1, 30000, 10000); /* sold 1 as the aggressor */
  CHECK(book->hft[0].inventory == 3.0);
  taos_sim_destroy(sim);
}

/* Short beyond its inventory limit an HFT agent cancels its ask closest to the best ask (the
 * lowest), the newest of equally close ones. */
static void test_hft_short_cancels_its_lowest_ask(void) {
  taos_sim *sim = create_with(CHANGES({"hft_count", 1}));
  sim_book *book = quoted_book(sim);
  uint32_t slot = sim->local_base + sim->off_hft;
  /* 20 asks of 1 unit, two at each price from 302.00 to 302.09, the lowest two placed first */
  for (int i = 0; i < 20; i++) {
    rest_for(book, slot, 1, 30200 + (i % 10), 10000);
  }
  tx_order all[20];
  CHECK(tx_agent_orders(book->ex, sim_agent_id(sim, slot), 0, all, 20) == 20);
  tx_order lowest_newest = all[10];
  CHECK(lowest_newest.price == 30200 && lowest_newest.direction == 1);
  expect_inventory_cancels(book, slot, -150, lowest_newest.order_id);
  taos_sim_destroy(sim);
}

/* At exactly its inventory limit (psi 100) an HFT agent is not beyond it: it never cancels, but its
 * inventory-scaled bid volume v0 (0.5 - 1) is negative, so it sends asks only. */
static void test_hft_at_the_inventory_limit(void) {
  taos_sim *sim = create_with(CHANGES({"hft_count", 1}));
  sim_book *book = quoted_book(sim);
  uint32_t slot = sim->local_base + sim->off_hft;
  rest_for(book, slot, 0, 29800, 10000); /* a resting bid it could cancel */
  book->hft[0].inventory = 100;
  sim_msg poll = {.time = book->now, .kind = MSG_POLL, .slot = slot};
  int bids = 0, asks = 0, cancels = 0;
  for (int i = 0; i < 40; i++) {
    book->heap.size = 0;
    sim_agents_handle(book, &poll);
    cancels += queued(book, slot, MSG_CANCEL, NULL);
    count_queued_sides(book, &bids, &asks);
  }
  CHECK(cancels == 0);
  CHECK(bids == 0);
  CHECK(asks == 40);
  taos_sim_destroy(sim);
}

/* The buckets trigger only once their sum exceeds the bucket size: 20 000 units of selling
 * exactly do not, one unit more does, and the selling side keeps the 1 unit past the bucket. */
static void test_algo_bucket_triggers_past_its_size(void) {
  taos_sim *sim = create_with(CHANGES({"algo_count", 1}));
  sim_book *book = empty_book(sim);
  sim_agents_on_trade(book, 0, 1, 1, 30000, 200000000);
  CHECK(book->algo[0].status == 0);
  CHECK(book->algo[0].sell_bucket == 20000.0);
  sim_agents_on_trade(book, 0, 1, 1, 30000, 10000);
  CHECK(book->algo[0].status == 1);
  CHECK(book->algo[0].dir == 1);
  CHECK(fabs(book->algo[0].sell_bucket - 1.0) < 1e-9 && book->algo[0].buy_bucket == 0);
  /* selling: the target 0.0125 x 20 001 is within its 500 base */
  CHECK(fabs(book->algo[0].to_execute - 0.0125 * 20001) < 1e-9);
  taos_sim_destroy(sim);
}

/* Each acknowledged child order is taken off what is left to execute; the agent goes to sleep once
 * at most 1 unit is left (exactly 1 included), else it wakes again after its feed latency. */
static void test_algo_ack_counts_down_what_is_left(void) {
  taos_sim *sim = create_with(CHANGES({"algo_count", 1}));
  sim_book *book = empty_book(sim);
  uint32_t slot = sim->local_base + sim->off_algo;
  book->algo[0].status = 2;
  book->algo[0].to_execute = 5.0;
  sim_msg ack = {.time = book->now, .kind = MSG_ACK, .slot = slot, .a = 1, .volume = 10000};
  sim_agents_handle(book, &ack);
  CHECK(book->algo[0].to_execute == 4.0);
  CHECK(book->algo[0].status == 2);
  CHECK(queued(book, slot, MSG_ALGO_WAKEUP, NULL) == 1);
  book->heap.size = 0;
  ack.volume = 30000; /* 3 units: exactly 1 left */
  sim_agents_handle(book, &ack);
  CHECK(book->algo[0].to_execute == 1.0);
  CHECK(book->algo[0].status == 0);
  CHECK(queued(book, slot, MSG_ALGO_WAKEUP, NULL) == 0);
  taos_sim_destroy(sim);
}

/* An ALGO trader whose market order is rejected goes back to sleep, waiting for its bucket to
 * fill again, rather than staying in execution with no wake-up to come. A trade on another book
 * moves neither that book's buckets nor its last price. */
static void test_algo_rejection_puts_it_to_sleep(void) {
  taos_sim *sim = create_with(CHANGES({"algo_count", 1}, {"books", 2}));
  sim_book *book = empty_book(sim);
  uint32_t slot = sim->local_base + sim->off_algo;
  book->algo[0].status = 2;
  book->algo[0].to_execute = 5.0;
  sim_msg rejected = {.time = book->now, .kind = MSG_ACK, .slot = slot, .a = SIM_NONE,
                      .volume = 10000};
  sim_agents_handle(book, &rejected);
  CHECK(book->algo[0].status == 0);
  CHECK(queued(book, slot, MSG_ALGO_WAKEUP, NULL) == 0);
  sim_book *other = &sim->books[1];
  other->now = book->now;
  sim_agents_on_trade(other, 0, 1, 0, 31000, 10000);
  CHECK(other->algo[0].last_price == 310.0 && other->algo[0].buy_bucket == 1.0);
  CHECK(book->algo[0].last_price == 300.0 && book->algo[0].buy_bucket == 0);
  taos_sim_destroy(sim);
}

/* A futures trader's volume factor is exp(|r|) capped at 2 (an external move from 300 to 900 has
 * exp(|r|) = 3); under the intended dynamics each poll without news sets it to f0 exp(-lambda c)
 * with c the polls since the news, not compounding. */
static void test_futures_volume_factor_caps_and_decays(void) {
  taos_sim *sim = create_with(CHANGES({"fut_count", 1}, {"fut_lambda", 0.1}));
  sim_book *book = quoted_book(sim);
  uint32_t slot = sim->local_base + sim->off_fut;
  sim_msg poll = {.time = book->now, .kind = MSG_POLL, .slot = slot};
  sim_agents_handle(book, &poll); /* first look: remembers the signal */
  book->ext_count = 1;
  book->ext_value = 900.0;
  sim_agents_handle(book, &poll);
  CHECK(book->fut[0].factor == 2.0);
  for (int c = 1; c <= 3; c++) sim_agents_handle(book, &poll);
  CHECK(fabs(book->fut[0].factor - 2.0 * exp(-0.1 * 3)) < 1e-12);
  taos_sim_destroy(sim);
}

/* A chartist-only stylized trader (no fundamentalist or noise weight) forecasts p exp(mean return
 * per sample): with returns averaging 0.05 its forecast from the 300 mid is 315.38, and its order
 * is priced in [p_min, p_hat], within 1 of the forecast (aV x is tiny), never below the mid. */
static void test_stylized_chartist_follows_the_trend(void) {
  taos_sim *sim = create_with(CHANGES({"sty_count", 1}, {"sty_sigma_f", 0}, {"sty_sigma_c", 1},
                                      {"sty_sigma_n", 0}, {"sty_sigma_eps", 0}));
  sim_book *book = quoted_book(sim);
  sim_sty_book *st = &book->sty[0];
  CHECK(sim->sty_params[0].wf == 0 && sim->sty_params[0].wn == 0 && sim->sty_params[0].wc > 0);
  CHECK(fabs(sim->sty_params[0].wc - 1.0) > 0.05); /* so that an unnormalised forecast differs */
  uint32_t slot = sim->local_base + sim->off_sty;
  sim_msg poll = {.time = book->now, .kind = MSG_POLL, .slot = slot};
  double p_hat = 300.0 * exp(0.05);
  int orders = 0;
  for (int i = 0; i < 20; i++) {
    /* the history alternates 0.04 / 0.06 and the poll's own return is 0.05: the mean stays 0.05 */
    for (uint32_t k = 0; k < st->filled; k++) st->returns[k] = k % 2 ? 0.06 : 0.04;
    if (st->filled % 2) st->returns[st->filled - 1] = 0.05;
    st->last_price = 300.0 / exp(0.05);
    st->order_in_flight = false;
    book->heap.size = 0;
    sim_agents_handle(book, &poll);
    sim_msg order = {0};
    if (queued(book, slot, MSG_PLACE_LIMIT, &order) == 0) continue;
    orders++;
    CHECK(order.price <= llround(p_hat * 100) && order.price >= llround((p_hat - 1) * 100));
  }
  CHECK(orders >= 10);
  taos_sim_destroy(sim);
}

/* An acknowledged order's cancel comes after its lifetime: tau_a exactly for a stylized trader;
 * for an HFT agent tau x delta rounded up (inventory 95 makes 2 x 5 s / (1 + e^-5) fractional). */
static void test_acknowledged_orders_are_cancelled_after_their_lifetime(void) {
  taos_sim *sim = create_with(CHANGES({"sty_count", 1}, {"hft_count", 1}));
  sim_book *book = empty_book(sim);
  uint32_t sty = sim->local_base + sim->off_sty, hft = sim->local_base + sim->off_hft;
  sim_msg ack = {.time = book->now, .kind = MSG_ACK, .slot = sty, .a = 7, .volume = 10000};
  sim_agents_handle(book, &ack);
  sim_msg cancel = {0};
  CHECK(queued(book, sty, MSG_CANCEL, &cancel) == 1);
  CHECK(cancel.a == 7 && cancel.time - book->now == (uint64_t)sim->sty_params[0].tau_a);
  book->heap.size = 0;
  book->hft[0].inventory = 95;
  ack.slot = hft;
  sim_agents_handle(book, &ack);
  CHECK(queued(book, hft, MSG_CANCEL, &cancel) == 1);
  double lifetime = 2.0 * 5e9 / (1.0 + exp(95.0 - 100.0));
  CHECK(lifetime != floor(lifetime));
  CHECK(cancel.a == 7 && cancel.time - book->now == (uint64_t)ceil(lifetime));
  taos_sim_destroy(sim);
}

/* A trade sets the book's last trade price and time (the HFT and stylized traders' fresh spot). */
static void test_a_trade_records_its_price_and_time(void) {
  double params[TAOS_SIM_PARAM_COUNT];
  defaults(params);
  taos_sim *sim = create(params);
  sim_book *book = quoted_book(sim);
  book->traded = false;
  book->last_trade_time = 0;
  rest_for(book, 1, 0, 30010, 10000); /* crosses the ask */
  CHECK(book->traded);
  CHECK(book->last_trade_price == 300.1);
  CHECK(book->last_trade_time == book->now);
  taos_sim_destroy(sim);
}

/* Every background account pays its own group's fee tiers, the first of each group included. */
static void test_each_group_pays_its_own_fees(void) {
  double params[TAOS_SIM_PARAM_COUNT];
  defaults(params);
  const char *groups[] = {"init", "sty", "hft"};
  for (int g = 0; g < 3; g++) {
    char name[64];
    snprintf(name, sizeof name, "%s_count", groups[g]);
    set(params, name, 2);
    snprintf(name, sizeof name, "%s_fee_tier_count", groups[g]);
    set(params, name, 1);
    snprintf(name, sizeof name, "%s_fee_maker_0", groups[g]);
    set(params, name, 0.001 * (g + 1));
  }
  taos_sim *sim = create(params);
  sim_book *book = empty_book(sim);
  const uint32_t first[] = {sim->off_init, sim->off_sty, sim->off_hft};
  for (int g = 0; g < 3; g++) {
    for (uint32_t k = 0; k < 2; k++) {
      double fees[3];
      sim_fee_state(book, sim->local_base + first[g] + k, fees);
      CHECK(fabs(fees[1] - 0.001 * (g + 1)) < 1e-12);
    }
  }
  taos_sim_destroy(sim);
}

/* A stylized trader's history length is ceil(tauHist (1 + wF) / (1 + wC)) clamped to [50, 500]. */
static void test_stylized_history_length_is_clamped(void) {
  const double tau_hist[] = {1, 100000};
  const uint32_t expected[] = {50, 500};
  for (int i = 0; i < 2; i++) {
    taos_sim *sim = create_with(CHANGES({"sty_count", 1}, {"sty_tau_hist", tau_hist[i]}));
    CHECK(sim->sty_params[0].hist_len == expected[i]);
    CHECK(sim->books[0].sty[0].filled == expected[i]);
    taos_sim_destroy(sim);
  }
}

/* Without price noise (noiseRay 1e-9) an HFT agent quotes exactly the reservation price
 * p - gamma I sigmaSqr T minus and plus half the book's 0.20 spread: 299.90 / 300.10 flat, and
 * 0.2 x 50 x 0.01 x (1 - 1000 s / 3600 s) = 0.0722 lower with a long inventory of 50 (under psi,
 * so both quotes go out): 299.8278 / 300.0278, to the tick. */
static void test_hft_quotes_around_the_reservation_price(void) {
  for (int long_inventory = 0; long_inventory <= 1; long_inventory++) {
    taos_sim *sim = create_with(CHANGES({"hft_count", 1}, {"hft_noise_ray", 1e-9},
                                        {"hft_sigma_sqr", 0.01}));
    sim_book *book = quoted_book(sim);
    uint32_t slot = sim->local_base + sim->off_hft;
    book->hft[0].inventory = long_inventory ? 50 : 0;
    sim_msg poll = {.time = book->now, .kind = MSG_POLL, .slot = slot};
    sim_agents_handle(book, &poll);
    int64_t bid, ask;
    queued_quotes(book, slot, &bid, &ask);
    CHECK(bid == (long_inventory ? 29983 : 29990));
    CHECK(ask == (long_inventory ? 30003 : 30010));
    taos_sim_destroy(sim);
  }
}

/* Sums of every account's base and quote on a book (background fees are zero). */
static void totals(const taos_sim *sim, int64_t *base, int64_t *quote) {
  *base = *quote = 0;
  int64_t b[TAOS_SIM_BALANCE_VALUES];
  for (int32_t id = 0; id < 2; id++) {
    taos_sim_balances(sim, id, 0, b);
    CHECK(b[0] >= 0 && b[1] >= 0 && b[3] >= 0 && b[4] >= 0);
    *base += b[2];
    *quote += b[5];
  }
  for (int32_t id = -1; taos_sim_balances(sim, id, 0, b) == TAOS_SIM_OK; id--) {
    CHECK(b[0] >= 0 && b[1] >= 0 && b[3] >= 0 && b[4] >= 0);
    *base += b[2];
    *quote += b[5];
  }
  /* Groups without fee tiers pay the exchange's fees: what the book collected was quote too. */
  tx_book_info info;
  CHECK(tx_book_info_get(sim->books[0].ex, 0, &info) == TX_OK);
  *quote += info.fees_collected;
}

static void small_population(double *params) {
  defaults_with(params, CHANGES({"init_count", 20}, {"sty_count", 50}, {"hft_count", 2},
                                {"algo_count", 1}, {"algo_vbs", 500}, {"fut_count", 5}));
}

static void run_conserves_and_stays_uncrossed(int reference_dynamics) {
  double params[TAOS_SIM_PARAM_COUNT];
  small_population(params);
  set(params, "reference_dynamics", reference_dynamics);
  taos_sim *sim = create(params);
  int64_t base0, quote0, base, quote;
  totals(sim, &base0, &quote0);
  uint64_t now, events, all = 0;
  int rc, trades = 0;
  taos_sim_event ev[4096];
  while ((rc = taos_sim_advance(sim, &now, &events)) >= 0) {
    all += events;
    int64_t bid, ask, v;
    if (taos_sim_levels(sim, 0, 0, 1, &bid, &v) && taos_sim_levels(sim, 0, 1, 1, &ask, &v)) {
      CHECK(bid < ask);
    }
    size_t n = taos_sim_events(sim, 0, ev, 4096);
    for (size_t i = 0; i < n && i < 4096; i++) {
      if (ev[i].kind == TAOS_SIM_EV_TRADE) {
        trades++;
        CHECK(ev[i].price > 0 && ev[i].volume > 0);
      }
    }
    totals(sim, &base, &quote);
    CHECK(base == base0);
    CHECK(quote == quote0);
    if (rc == 0) break;
  }
  CHECK(rc == 0);
  CHECK(all > 10000 && trades > 100);
  CHECK(taos_sim_advance(sim, &now, &events) == TAOS_SIM_ERR_ENDED);
  double values[2];
  taos_sim_process_values(sim, 0, values);
  CHECK(values[0] > 200 && values[0] < 400);
  taos_sim_destroy(sim);
}

static void test_run_conserves_and_stays_uncrossed(void) {
  run_conserves_and_stays_uncrossed(0);
  run_conserves_and_stays_uncrossed(1);
}

/* Two runs of the small population with the same seed, books and duration: runs[0] on one
 * thread, runs[1] on `threads`. */
static void create_twins(taos_sim *runs[2], int books, double duration, int threads) {
  for (int r = 0; r < 2; r++) {
    double params[TAOS_SIM_PARAM_COUNT];
    small_population(params);
    set(params, "books", books);
    set(params, "duration", duration);
    set(params, "threads", r == 0 ? 1 : threads);
    runs[r] = create(params);
  }
}

/* Same seed: identical event streams with 1 and 3 threads over 3 books. */
static void test_thread_count_does_not_matter(void) {
  taos_sim *runs[2];
  create_twins(runs, 3, 600e9, 3);
  static taos_sim_event a[1 << 14], b[1 << 14];
  int rc0, rc1;
  do {
    uint64_t n0, n1, e0, e1;
    rc0 = taos_sim_advance(runs[0], &n0, &e0);
    rc1 = taos_sim_advance(runs[1], &n1, &e1);
    CHECK(rc0 == rc1 && n0 == n1 && e0 == e1);
    for (uint32_t book = 0; book < 3; book++) {
      size_t c0 = taos_sim_events(runs[0], book, a, 1 << 14);
      size_t c1 = taos_sim_events(runs[1], book, b, 1 << 14);
      CHECK(c0 == c1);
      if (c0 == c1 && c0 <= (1 << 14)) CHECK(memcmp(a, b, c0 * sizeof *a) == 0);
    }
  } while (rc0 > 0 && rc1 > 0);
  taos_sim_destroy(runs[0]);
  taos_sim_destroy(runs[1]);
}

/* A window of steps gives, step by step, the events, message counts, process values and L2
 * books of single-step advances; the last window stops at the end of the run. */
static void test_step_windows_match_single_steps(void) {
  taos_sim *runs[2];
  create_twins(runs, 2, 600e9 + 2e9, 2); /* 120 steps of 5 s and a short last one */
  static taos_sim_event a[1 << 14], b[1 << 14];
  enum { DEPTH = 3, WINDOW = 7 };
  int rc_window, rc_single = 1;
  uint32_t windows = 0, steps = 0;
  do {
    uint64_t now_window, messages_window;
    rc_window = taos_sim_advance_steps(runs[1], WINDOW, DEPTH, &now_window, &messages_window);
    CHECK(rc_window >= 0);
    windows++;
    uint32_t n = taos_sim_steps(runs[1]);
    CHECK(n >= 1 && n <= WINDOW);
    uint64_t messages_single = 0, now_single = 0;
    for (uint32_t k = 0; k < n; k++) {
      uint64_t step_messages;
      rc_single = taos_sim_advance(runs[0], &now_single, &step_messages);
      messages_single += step_messages;
      steps++;
      uint64_t step_total = 0;
      for (uint32_t book = 0; book < 2; book++) {
        uint64_t time, book_messages;
        double processes[2], live[2];
        CHECK(taos_sim_step_info(runs[1], book, k, &time, &book_messages, processes) == 0);
        CHECK(time == now_single);
        step_total += book_messages;
        taos_sim_process_values(runs[0], book, live);
        CHECK(processes[0] == live[0] && processes[1] == live[1]);
        size_t c0 = taos_sim_events(runs[0], book, a, 1 << 14);
        size_t c1 = taos_sim_step_events(runs[1], book, k, b, 1 << 14);
        CHECK(c0 == c1);
        if (c0 == c1 && c0 <= (1 << 14)) CHECK(memcmp(a, b, c0 * sizeof *a) == 0);
        for (int side = 0; side < 2; side++) {
          int64_t p0[DEPTH], v0[DEPTH], p1[DEPTH], v1[DEPTH];
          size_t l0 = taos_sim_levels(runs[0], book, side, DEPTH, p0, v0);
          size_t l1 = taos_sim_step_levels(runs[1], book, k, side, DEPTH, p1, v1);
          CHECK(l0 == l1);
          for (size_t i = 0; i < DEPTH && i < l0 && l0 == l1; i++) {
            CHECK(p0[i] == p1[i] && v0[i] == v1[i]);
          }
        }
      }
      CHECK(step_total == step_messages);
    }
    CHECK(now_window == now_single && messages_window == messages_single);
    CHECK((rc_window == 0) == (rc_single == 0));
    /* nothing beyond the window's steps */
    CHECK(taos_sim_step_events(runs[1], 0, n, b, 1) == 0);
    CHECK(taos_sim_step_info(runs[1], 0, n, NULL, NULL, NULL) == TAOS_SIM_ERR_ARGUMENT);
  } while (rc_window > 0 && !failures);
  CHECK(steps == 121 && windows == 18);
  uint64_t now, events;
  CHECK(taos_sim_advance_steps(runs[1], WINDOW, DEPTH, &now, &events) == TAOS_SIM_ERR_ENDED);
  taos_sim_destroy(runs[0]);
  taos_sim_destroy(runs[1]);
}

/* A remote account with a resting order (or an instruction in flight) could be touched between
 * publish instants, so steps then run one at a time; bad arguments are refused. */
static void test_step_windows_wait_for_idle_remotes(void) {
  double params[TAOS_SIM_PARAM_COUNT];
  small_population(params);
  set(params, "duration", 600e9);
  taos_sim *sim = create(params);
  uint64_t now, events;
  CHECK(taos_sim_advance_steps(sim, 0, 1, &now, &events) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_advance_steps(sim, 4, TAOS_SIM_MAX_STEP_DEPTH + 1, &now, &events) ==
        TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_advance_steps(sim, 4, 1, &now, &events) == 1);
  CHECK(taos_sim_steps(sim) == 4 && now == 20000000000ull);
  /* a far-away bid that rests */
  taos_sim_instruction bid = {.kind = 1, .direction = 0, .client_order_id = 0xFFFFFFFFu,
                              .volume = 10000, .price = 100};
  CHECK(taos_sim_inject(sim, 0, &bid, 1, 0) == 1);
  CHECK(taos_sim_advance_steps(sim, 4, 1, &now, &events) == 1); /* in flight */
  CHECK(taos_sim_steps(sim) == 1 && now == 25000000000ull);
  CHECK(taos_sim_advance_steps(sim, 4, 1, &now, &events) == 1); /* resting */
  CHECK(taos_sim_steps(sim) == 1 && now == 30000000000ull);
  taos_sim_destroy(sim);
}

/* Remote agents send random instructions of every kind among the background flow: holdings are
 * conserved, cash is conserved up to the fees charged, no balance goes negative, books never
 * cross. */
static void test_random_remote_instructions_keep_the_books_sound(void) {
  double params[TAOS_SIM_PARAM_COUNT];
  small_population(params);
  set(params, "duration", 1800e9);
  taos_sim *sim = create(params);
  sim_rng rng;
  sim_rng_seed(&rng, 99, 0, 0, 0);
  int64_t base0, quote0, base, quote;
  totals(sim, &base0, &quote0);
  int64_t fees = 0;
  uint32_t placed[64];
  size_t n_placed = 0;
  static taos_sim_event ev[1 << 15];
  uint64_t now, events;
  int rc;
  while ((rc = taos_sim_advance(sim, &now, &events)) >= 0) {
    size_t n = taos_sim_events(sim, 0, ev, 1 << 15);
    CHECK(n <= (1 << 15));
    for (size_t i = 0; i < n && i < (1 << 15); i++) {
      if (ev[i].kind == TAOS_SIM_EV_TRADE) fees += ev[i].fee_maker + ev[i].fee_taker;
      if (ev[i].kind == TAOS_SIM_EV_PLACE && ev[i].agent_id >= 0 && n_placed < 64) {
        placed[n_placed++] = ev[i].order_id;
      }
    }
    totals(sim, &base, &quote); /* the fees the book collected included */
    CHECK(base == base0);
    CHECK(quote == quote0);
    int64_t bid, ask, v;
    if (taos_sim_levels(sim, 0, 0, 1, &bid, &v) && taos_sim_levels(sim, 0, 1, 1, &ask, &v)) {
      CHECK(bid < ask);
    }
    if (rc == 0) break;
    for (int32_t agent = 0; agent < 2; agent++) {
      taos_sim_instruction in[4];
      memset(in, 0, sizeof in);
      for (int k = 0; k < 4; k++) {
        double u = sim_uniform(&rng);
        in[k].kind = u < 0.5 ? 1 : u < 0.75 ? 2 : 3; /* resets create value: tested apart */
        in[k].direction = sim_uniform(&rng) < 0.5;
        in[k].time_in_force = (uint8_t)(sim_rng_next(&rng) % 4);
        in[k].stp_flag = (uint8_t)(sim_rng_next(&rng) % 5);
        in[k].post_only = sim_uniform(&rng) < 0.2;
        in[k].currency = in[k].kind == 2 && sim_uniform(&rng) < 0.3;
        in[k].client_order_id = (uint32_t)(sim_rng_next(&rng) % 1000);
        in[k].volume = (int64_t)(sim_rng_next(&rng) % 200000);
        if (in[k].currency) in[k].volume *= 10000000;
        in[k].price = 29000 + (int64_t)(sim_rng_next(&rng) % 2000);
        in[k].expiry_ns = sim_rng_next(&rng) % 20000000000ull;
        in[k].order_id = n_placed ? placed[sim_rng_next(&rng) % n_placed]
                                  : (uint32_t)(sim_rng_next(&rng) % 100);
      }
      CHECK(taos_sim_inject(sim, agent, in, 4, sim_rng_next(&rng) % 3000000000ull) == 4);
    }
  }
  CHECK(rc == 0);
  CHECK(fees > 0);
  taos_sim_destroy(sim);
}

/* Equal arrival times pop in insertion order; earlier arrivals first. */
static void test_queue_order_is_stable(void) {
  sim_heap heap = {0};
  for (uint64_t i = 0; i < 200; i++) {
    sim_msg m = {.time = 1000 - (i % 3) * 10, .seq = i};
    CHECK(sim_heap_push(&heap, &m) == TAOS_SIM_OK);
  }
  uint64_t last_time = 0, last_seq = 0;
  bool first = true;
  while (heap.size > 0) {
    sim_msg m = {0};
    sim_heap_pop(&heap, &m);
    if (!first) {
      CHECK(m.time > last_time || (m.time == last_time && m.seq > last_seq));
    }
    first = false;
    last_time = m.time;
    last_seq = m.seq;
  }
  free(heap.items);
}

/* The event loop's use of the queue: take the earliest message, push what handling it sends
 * (into the vacant root when it is the first push), settle. Every message taken is earlier than
 * every message left, and none is lost or taken twice. */
static void test_queue_take_push_settle(void) {
  sim_heap heap = {0};
  sim_rng rng;
  sim_rng_seed(&rng, 5, 0, 0, 0);
  uint64_t seq = 0, taken = 0;
  for (; seq < 300; seq++) {
    sim_msg m = {.time = sim_rng_next(&rng) % 1000, .seq = seq};
    CHECK(sim_heap_push(&heap, &m) == TAOS_SIM_OK);
  }
  uint64_t last_time = 0, last_seq = 0;
  while (heap.size > 0) {
    sim_msg m = {0};
    sim_heap_take(&heap, &m);
    taken++;
    CHECK(taken == 1 || m.time > last_time || (m.time == last_time && m.seq > last_seq));
    last_time = m.time;
    last_seq = m.seq;
    /* up to three follow-ups while fewer than 5000 were sent, some at the same instant (then
     * they are the next to be taken) */
    uint64_t sends = seq < 5000 ? sim_rng_next(&rng) % 4 : 0;
    for (uint64_t i = 0; i < sends; i++) {
      uint64_t delay = sim_rng_next(&rng) % 3 == 0 ? 0 : sim_rng_next(&rng) % 2000;
      sim_msg next = {.time = m.time + delay, .seq = seq++};
      CHECK(sim_heap_push(&heap, &next) == TAOS_SIM_OK);
    }
    sim_heap_settle(&heap);
    for (size_t i = 0; i < heap.size; i++) {
      const sim_msg *left = &heap.items[i];
      CHECK(left->time > m.time || (left->time == m.time && left->seq > m.seq));
    }
  }
  CHECK(taken == seq);
  free(heap.items);
}

/* Takes in a row, with no push or settle between them, each copy out the earliest message left. */
static void test_queue_takes_in_a_row(void) {
  sim_heap heap = {0};
  for (uint64_t seq = 0; seq < 40; seq++) {
    sim_msg m = {.time = (seq * 7) % 40, .seq = seq};
    CHECK(sim_heap_push(&heap, &m) == TAOS_SIM_OK);
  }
  for (uint64_t time = 0; time < 40; time++) {
    sim_msg m = {0};
    sim_heap_take(&heap, &m);
    CHECK(m.time == time);
  }
  sim_heap_settle(&heap);
  CHECK(heap.size == 0);
  free(heap.items);
}

/* Processes update on the grid k * updatePeriod (10 s): two updates by 25 s, three at 30 s. */
static void test_process_updates_follow_the_grid(void) {
  taos_sim *sim = create_with(CHANGES({"step", 25e9}));
  uint64_t now, events;
  CHECK(taos_sim_advance(sim, &now, &events) == 1 && now == 25000000000ull);
  CHECK(sim->books[0].fund_k == 2);
  double values[2];
  taos_sim_process_values(sim, 0, values);
  CHECK(values[0] != 300.0 && fabs(values[0] / 300.0 - 1) < 0.01);
  CHECK(values[1] == 300.0); /* no external sample before 60 s */
  CHECK(taos_sim_advance(sim, &now, &events) == 1 && now == 50000000000ull);
  CHECK(sim->books[0].fund_k == 5);
  CHECK(taos_sim_advance(sim, &now, &events) == 1 && now == 75000000000ull);
  taos_sim_process_values(sim, 0, values);
  CHECK(sim->books[0].ext_count == 1 && values[1] != 300.0);
  taos_sim_destroy(sim);
}

/* The first external sample waits only for its sample interval (60 s), not for a longer seed
 * interval (120 s here); later ones wait a seed interval from the last and then take every
 * sample due (the second and third at 180 s). */
static void test_first_external_sample_ignores_the_seed_interval(void) {
  taos_sim *sim = create_with(CHANGES({"step", 60e9}, {"ext_seed_interval", 120e9}));
  uint64_t now, events;
  CHECK(taos_sim_advance(sim, &now, &events) == 1 && now == 60000000000ull);
  CHECK(sim->books[0].ext_count == 1);
  CHECK(taos_sim_advance(sim, &now, &events) == 1 && now == 120000000000ull);
  CHECK(sim->books[0].ext_count == 1);
  CHECK(taos_sim_advance(sim, &now, &events) == 1 && now == 180000000000ull);
  CHECK(sim->books[0].ext_count == 3);
  taos_sim_destroy(sim);
}

/* A negative drift and a negative jump mean move the fundamental down: with no noise, 360 updates
 * of 10 s at a drift of -2 a day give exactly 300 e^(-2 / 24), and jumps of exactly -0.01 only ever
 * lower it. */
static void test_fundamental_may_drift_and_jump_down(void) {
  double params[TAOS_SIM_PARAM_COUNT];
  defaults_with(params, CHANGES({"fund_mu", -2}, {"fund_sigma", 0}, {"fund_lambda", 0}));
  taos_sim *sim = create(params);
  uint64_t now, events;
  while (taos_sim_advance_steps(sim, 100, 0, &now, &events) > 0) {}
  double values[2];
  taos_sim_process_values(sim, 0, values);
  CHECK(sim->books[0].fund_k == 360);
  CHECK(fabs(values[0] / (300.0 * exp(-2.0 / 24.0)) - 1) < 1e-12);
  taos_sim_destroy(sim);

  defaults_with(params, CHANGES({"fund_sigma", 0}, {"fund_lambda", 1}, {"fund_mu_jump", -0.01},
                                {"fund_sigma_jump", 0}));
  sim = create(params);
  double last = 300.0;
  bool monotone = true;
  while (taos_sim_advance(sim, &now, &events) >= 0 && !sim->ended) {
    taos_sim_process_values(sim, 0, values);
    monotone = monotone && values[0] <= last;
    last = values[0];
  }
  /* With no drift and no diffusion, ln(X / 300) is -0.01 times the number of jumps, a whole
   * number: 360 updates at lambda = 1 bring 360 +- 19 of them (seed 7: 319). Counting the updates
   * with a jump instead of their jumps gives 228 +- 9. */
  double jumps = log(last / 300.0) / -0.01;
  CHECK(monotone && fabs(jumps - nearbyint(jumps)) < 1e-6 && jumps > 300 && jumps < 420);
  taos_sim_destroy(sim);
}

/* The fundamental is X0 exp((mu - sigma^2/2) k dt + sigma W_k + J_k): with a drift of 0.5 and a
 * deviation of 1 a day and no jumps, ln(X / X0) - sigma W after k updates of 10 s is exactly
 * (0.5 - 0.5) k dt = 0, and with a drift of 2 it is 1.5 k dt (a sign slip in the Ito term gives
 * 1 k dt and 2.5 k dt, millions of times the rounding left here). */
static void test_fundamental_follows_the_gbm_formula(void) {
  for (int case_ = 0; case_ < 2; case_++) {
    const double mu = case_ == 0 ? 0.5 : 2.0, sigma = 1.0;
    taos_sim *sim = create_with(CHANGES({"duration", 600e9}, {"fund_mu", mu}, {"fund_sigma", sigma},
                                        {"fund_lambda", 0}));
    uint64_t now, events;
    while (taos_sim_advance_steps(sim, 100, 0, &now, &events) > 0) {}
    const sim_book *book = &sim->books[0];
    CHECK(book->fund_k == 60 && book->fund_j == 0 && book->fund_w != 0);
    double drift = log(book->fund_value / 300.0) - sigma * book->fund_w;
    double expected = (mu - 0.5 * sigma * sigma) * 60.0 * (10.0 / 86400.0);
    CHECK(fabs(drift - expected) < 1e-12);
    taos_sim_destroy(sim);
  }
}

/* Books are independent realizations of the fundamental (each draws from its own stream) but
 * share one external signal (its stream depends on the seed and sample index only): after an hour
 * the three books' fundamentals all differ while their external values are equal at every step. */
static void test_books_differ_in_fundamental_and_share_the_external_signal(void) {
  taos_sim *sim = create_with(CHANGES({"books", 3}, {"threads", 2}));
  uint64_t now, events;
  int rc;
  bool external_equal = true;
  do {
    rc = taos_sim_advance_steps(sim, 60, 0, &now, &events);
    CHECK(rc >= 0);
    for (uint32_t k = 0; rc >= 0 && k < taos_sim_steps(sim); k++) {
      double first[2], other[2];
      taos_sim_step_info(sim, 0, k, NULL, NULL, first);
      for (uint32_t b = 1; b < 3; b++) {
        taos_sim_step_info(sim, b, k, NULL, NULL, other);
        external_equal = external_equal && other[1] == first[1];
      }
    }
  } while (rc > 0);
  CHECK(external_equal);
  double values[3][2];
  for (uint32_t b = 0; b < 3; b++) taos_sim_process_values(sim, b, values[b]);
  CHECK(sim->books[0].ext_count == 60 && values[0][1] != 300.0);
  CHECK(values[0][0] != values[1][0] && values[0][0] != values[2][0] &&
        values[1][0] != values[2][0]);
  taos_sim_destroy(sim);
}

/* With a seed interval longer than the update period, the fundamental first moves a whole seed
 * interval after time 0, as in the reference (updates at 60, 120 s, not 10, 70 s). */
static void test_first_fundamental_update_waits_a_seed_interval(void) {
  taos_sim *sim = create_with(CHANGES({"step", 25e9}, {"fund_seed_interval", 60e9}));
  uint64_t now, events;
  CHECK(taos_sim_advance(sim, &now, &events) == 1 && now == 25000000000ull);
  CHECK(taos_sim_advance(sim, &now, &events) == 1 && now == 50000000000ull);
  CHECK(sim->books[0].fund_k == 0);
  CHECK(taos_sim_advance(sim, &now, &events) == 1 && now == 75000000000ull);
  CHECK(sim->books[0].fund_k == 1);
  CHECK(sim->books[0].fund_last_seed == 60000000000ull);
  taos_sim_destroy(sim);
}

/* Delays are unbounded in the configuration: a latency spread, an order lifetime (HFT tau times
 * delta) or a cancel delay far past the clock's range means never, and the run goes on (their
 * conversion to ns was out of uint64's range, undefined behaviour). */
static void test_delays_past_the_clock_mean_never(void) {
  taos_sim *sim = create_with(CHANGES({"duration", 60e9}, {"init_count", 2}, {"init_tau", 1e30},
                                      {"sty_count", 5}, {"sty_delay_std", 1e25}, {"hft_count", 1},
                                      {"hft_tau", 1e15}, {"fut_count", 2}, {"fut_max_opl", 1e25}));
  uint64_t now, events;
  int rc;
  while ((rc = taos_sim_advance(sim, &now, &events)) > 0) {
    char err[256];
    CHECK(tx_check(sim->books[0].ex, err, sizeof err) == TX_OK);
  }
  CHECK(rc == 0 && now == 60000000000ull);
  /* the initialization ladder is never withdrawn */
  int32_t init = taos_sim_agent_id(sim, 0, 0);
  int64_t b[TAOS_SIM_BALANCE_VALUES];
  CHECK(taos_sim_balances(sim, init, 0, b) == TAOS_SIM_OK && b[1] + b[4] > 0);
  taos_sim_destroy(sim);
}

/* Creating a simulation from `params` is refused, with no handle and a message naming `field`. */
static void expect_config_error(const double *params, const char *field) {
  taos_sim *sim = NULL;
  char err[256] = {0};
  CHECK(taos_sim_create(params, TAOS_SIM_PARAM_COUNT, &sim, err, sizeof err) ==
        TAOS_SIM_ERR_CONFIG);
  CHECK(sim == NULL && strstr(err, field) != NULL);
}

static void test_config_errors_name_the_field(void) {
  double params[TAOS_SIM_PARAM_COUNT];
  defaults_with(params, CHANGES({"books", 0}));
  expect_config_error(params, "books");
  defaults_with(params, CHANGES({"fee_taker_0", 1.5}));
  expect_config_error(params, "fee");
  taos_sim *sim = NULL;
  char err[256] = {0};
  CHECK(taos_sim_create(params, 3, &sim, err, sizeof err) == TAOS_SIM_ERR_CONFIG);
  /* a background group's own fee policy: at most 4 tiers, by increasing volume */
  defaults_with(params, CHANGES({"sty_fee_tier_count", 5}));
  expect_config_error(params, "sty_fee_tier_count");
  defaults_with(params, CHANGES({"hft_fee_tier_count", 2}, {"hft_fee_volume_0", 10},
                                {"hft_fee_volume_1", 10}));
  expect_config_error(params, "hft_fee_volume_1");
  /* the ends of a bound: one held "above" or "below" refuses the end itself (a psi of 0 divides
   * by zero), an inclusive one takes it; a group's parameters are checked when it has agents */
  static const struct {
    const char *name;
    double value;
    int accepted;
  } ends[] = {{"hft_psi", 0, 0},         {"hft_psi", 1e-9, 1},    {"sty_sigma_eps", 0, 1},
              {"sty_regime_prob", 1, 1}, {"sty_po_alpha", 1, 0},  {"sty_po_alpha", 0.999, 1}};
  for (size_t i = 0; i < sizeof ends / sizeof *ends; i++) {
    defaults_with(params, CHANGES({"sty_count", 1}, {"hft_count", 1}));
    set(params, ends[i].name, ends[i].value);
    err[0] = '\0';
    int rc = taos_sim_create(params, TAOS_SIM_PARAM_COUNT, &sim, err, sizeof err);
    if (ends[i].accepted) {
      CHECK(rc == TAOS_SIM_OK);
      taos_sim_destroy(sim);
    } else {
      CHECK(rc == TAOS_SIM_ERR_CONFIG && strstr(err, ends[i].name) != NULL);
      if (rc == TAOS_SIM_OK) taos_sim_destroy(sim);
    }
  }
  /* the ALGO child order size: a known kind with its parameters in range */
  static const struct {
    double kind, a, b;
    const char *field;
  } sizes[] = {{3, 1, 1, "algo_volume_kind"},
               {TAOS_SIM_VOLUME_LOGNORMAL, 1, -1, "algo_volume_b"},
               {TAOS_SIM_VOLUME_DIRAC, 0, 0, "algo_volume_a"},
               {TAOS_SIM_VOLUME_GAMMA, 2, 0, "algo_volume_b"}};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    defaults_with(params, CHANGES({"algo_volume_kind", sizes[i].kind},
                                  {"algo_volume_a", sizes[i].a}, {"algo_volume_b", sizes[i].b}));
    expect_config_error(params, sizes[i].field);
  }
  defaults(params);
  sim = create(params);
  taos_sim_instruction in = {.kind = 2, .volume = 10000};
  CHECK(taos_sim_inject(sim, 0, &in, 1, UINT64_MAX - 5) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_inject(sim, 7, &in, 1, 0) == TAOS_SIM_ERR_ARGUMENT); /* no such remote agent */
  in.book_id = 3;
  CHECK(taos_sim_inject(sim, 0, &in, 1, 0) == 0); /* unknown book: skipped */
  taos_sim_destroy(sim);
}

/* The first snapshots reach the agents when the reference's start-up messages bring them: an HFT
 * agent's request and reply take 1 ns each; a stylized trader's request waits for its
 * subscription (1 ns); a futures trader's too, and its request is sent with a one-second delay. */
static void test_first_snapshots_arrive_as_in_the_reference(void) {
  taos_sim *sim = create_with(CHANGES({"hft_count", 1}, {"sty_count", 1}, {"fut_count", 1}));
  const sim_book *book = &sim->books[0];
  uint32_t base = sim->local_base;
  int polls = 0;
  for (size_t i = 0; i < book->heap.size; i++) {
    const sim_msg *m = &book->heap.items[i];
    if (m->kind != MSG_POLL) continue;
    polls++;
    if (m->slot == base + sim->off_hft) CHECK(m->time == 2);
    else if (m->slot == base + sim->off_sty) CHECK(m->time == 3);
    else if (m->slot == base + sim->off_fut) CHECK(m->time == 1000000002ull);
    else CHECK(false);
  }
  CHECK(polls == 3);
  taos_sim_destroy(sim);
}

/* A stylized trader decides from the last trade while it is less than 1 s old and adds it to its
 * price history while it is less than 5 s old, from the mid otherwise. A noise-only trader without
 * noise forecasts its decision price itself, and with a narrow return spread prices its order
 * within 5 under it (about 2 here): a trade at 320 against the 300 mid shows in either price. */
static void test_stylized_last_trade_fresh_under_one_and_five_seconds(void) {
  const uint64_t ages[] = {999999999ull, 1000000000ull, 4999999999ull, 5000000000ull};
  for (int i = 0; i < 4; i++) {
    taos_sim *sim = create_with(CHANGES({"sty_count", 1}, {"sty_sigma_f", 0}, {"sty_sigma_c", 0},
                                        {"sty_sigma_n", 1}, {"sty_sigma_eps", 0}));
    CHECK(sim->sty_params[0].wf == 0 && sim->sty_params[0].wc == 0 && sim->sty_params[0].wn > 0);
    sim_book *book = quoted_book(sim);
    sim_sty_book *st = &book->sty[0];
    book->traded = true;
    book->last_trade_price = 320.0;
    book->last_trade_time = book->now - ages[i];
    double decision = ages[i] < 1000000000ull ? 320.0 : 300.0;
    double history = ages[i] < 5000000000ull ? 320.0 : 300.0;
    uint32_t slot = sim->local_base + sim->off_sty;
    sim_msg poll = {.time = book->now, .kind = MSG_POLL, .slot = slot};
    int orders = 0;
    for (int j = 0; j < 20; j++) {
      for (uint32_t k = 0; k < st->filled; k++) st->returns[k] = k % 2 ? 0.06 : 0.04;
      st->last_price = 300.0;
      st->order_in_flight = false;
      book->heap.size = 0;
      sim_agents_handle(book, &poll);
      CHECK(fabs(st->last_price - history) < 1e-9);
      sim_msg order = {0};
      if (queued(book, slot, MSG_PLACE_LIMIT, &order) == 0) continue;
      orders++;
      CHECK(order.price <= llround(decision * 100) && order.price >= llround((decision - 5) * 100));
    }
    CHECK(orders >= 10);
    taos_sim_destroy(sim);
  }
}

/* Every HFT instance beyond its inventory limit cancels its resting order, the 22nd as well (in
 * the reference only the first 21, `_0` to `_20`, record their orders; the others find none). */
static void test_every_hft_instance_cancels_for_its_inventory(void) {
  taos_sim *sim = create_with(CHANGES({"hft_count", 22}));
  sim_book *book = quoted_book(sim);
  uint32_t slot = sim->local_base + sim->off_hft + 21;
  rest_for(book, slot, 0, 29800, 10000);
  tx_order resting;
  CHECK(tx_agent_orders(book->ex, sim_agent_id(sim, slot), 0, &resting, 1) == 1);
  expect_inventory_cancels(book, slot, 150, resting.order_id);
  taos_sim_destroy(sim);
}

/* An ALGO wake-up acts on the book it came from only: the same trader ready (1) or executing (2)
 * on another book sends nothing there and keeps its state (the reference's wake-up runs every
 * book of the agent). */
static void test_algo_wakeup_acts_on_its_own_book_only(void) {
  for (int other_status = 1; other_status <= 2; other_status++) {
    taos_sim *sim = create_with(CHANGES({"algo_count", 1}, {"books", 2}));
    sim_book *book = empty_book(sim), *other = &sim->books[1];
    other->heap.size = 0;
    other->now = book->now;
    uint32_t slot = sim->local_base + sim->off_algo;
    book->algo[0].status = 2;
    other->algo[0].status = other_status;
    book->algo[0].to_execute = other->algo[0].to_execute = 5.0;
    book->algo[0].dir = other->algo[0].dir = 0;
    sim_msg wake = {.time = book->now, .kind = MSG_ALGO_WAKEUP, .slot = slot};
    sim_agents_handle(book, &wake);
    CHECK(queued(book, slot, MSG_PLACE_MARKET, NULL) == 1);
    CHECK(queued(other, slot, MSG_PLACE_MARKET, NULL) == 0);
    CHECK(other->algo[0].status == other_status && other->algo[0].to_execute == 5.0);
    taos_sim_destroy(sim);
  }
}

int main(void) {
  test_initialization_ladder();
  test_initialization_never_bids_at_zero();
  test_stylized_follows_fundamental();
  test_stylized_steep_demand_sends_no_negative_order();
  test_stylized_regime_switch();
  test_stylized_rounds_agree_with_the_quantile();
  test_stylized_regime_entry_rate();
  test_hft_quotes_and_inventory();
  test_hft_short_inventory();
  test_hft_last_trade_fresh_under_one_second();
  test_empty_side_before_any_trade_is_the_initial_price();
  test_hft_quotes_on_margin();
  test_hft_inventory_cancel_sees_every_order();
  test_rejections_are_acknowledged_at_once();
  test_algo_bucket_triggers_execution();
  test_futures_follow_external_move();
  test_futures_take_a_feeds_first_sample_as_their_base();
  test_hft_inventory_follows_its_trades();
  test_hft_short_cancels_its_lowest_ask();
  test_hft_at_the_inventory_limit();
  test_algo_bucket_triggers_past_its_size();
  test_algo_ack_counts_down_what_is_left();
  test_algo_rejection_puts_it_to_sleep();
  test_futures_volume_factor_caps_and_decays();
  test_stylized_chartist_follows_the_trend();
  test_acknowledged_orders_are_cancelled_after_their_lifetime();
  test_a_trade_records_its_price_and_time();
  test_each_group_pays_its_own_fees();
  test_stylized_history_length_is_clamped();
  test_hft_quotes_around_the_reservation_price();
  test_run_conserves_and_stays_uncrossed();
  test_thread_count_does_not_matter();
  test_step_windows_match_single_steps();
  test_step_windows_wait_for_idle_remotes();
  test_random_remote_instructions_keep_the_books_sound();
  test_queue_order_is_stable();
  test_queue_take_push_settle();
  test_queue_takes_in_a_row();
  test_process_updates_follow_the_grid();
  test_first_external_sample_ignores_the_seed_interval();
  test_first_fundamental_update_waits_a_seed_interval();
  test_fundamental_may_drift_and_jump_down();
  test_fundamental_follows_the_gbm_formula();
  test_books_differ_in_fundamental_and_share_the_external_signal();
  test_first_snapshots_arrive_as_in_the_reference();
  test_delays_past_the_clock_mean_never();
  test_config_errors_name_the_field();
  test_stylized_last_trade_fresh_under_one_and_five_seconds();
  test_every_hft_instance_cancels_for_its_inventory();
  test_algo_wakeup_acts_on_its_own_book_only();
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  return 0;
}
