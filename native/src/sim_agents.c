/* Background agents of the market model: initialization ladder, stylized (Chiarella-Iori-Perello
 * fundamentalist/chartist/noise with CARA demand), HFT market makers, ALGO volume-imbalance
 * executors and futures momentum traders. Every agent keeps independent state per book and draws
 * from its own per-book streams, so books evolve independently and reproducibly. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

static const sim_config *config_of(const sim_book *book) { return &book->sim->cfg; }

int sim_send(sim_book *book, sim_msg *msg) {
  msg->seq = book->seq++;
  int rc = sim_heap_push(&book->heap, msg);
  if (rc) book->error = rc;
  return rc;
}

/* Local index (0-based among background agents) of a slot. */
static uint32_t local_of(const sim_book *book, uint32_t slot) {
  return slot - book->sim->local_base;
}

static double base_free(const sim_book *book, uint32_t slot) {
  return (double)sim_account_of(book, slot).base_free * pow(10.0, -config_of(book)->base_dp);
}

static double quote_free(const sim_book *book, uint32_t slot) {
  return (double)sim_account_of(book, slot).quote_free * pow(10.0, -config_of(book)->quote_dp);
}

/* Best bid/ask as prices; an empty side is replaced by the last trade price. */
static void top_of_book(const sim_book *book, double *bid, double *ask) {
  double tick = config_of(book)->tick;
  int64_t best_bid, best_ask;
  sim_best(book, &best_bid, &best_ask);
  *bid = best_bid >= 0 ? (double)best_bid * tick : book->last_trade_price;
  *ask = best_ask >= 0 ? (double)best_ask * tick : book->last_trade_price;
}

/* Spot price for decisions: the last trade if it is fresh (the reference's unsigned comparison
 * makes that "same nanosecond" only), else the mid of `bid` and `ask` (from top_of_book). */
static double spot_price(const sim_book *book, double bid, double ask, uint64_t freshness) {
  bool fresh = book->traded && (config_of(book)->reference
                                    ? book->last_trade_time == book->now
                                    : book->now - book->last_trade_time < freshness);
  return fresh ? book->last_trade_price : 0.5 * (bid + ask);
}

/* A delay in ns: none for a negative or NaN value, the clock's range for one past it (the sums and
 * products of legal parameters can pass what a uint64 holds). */
static uint64_t delay_ns(double ns) {
  if (!(ns > 0)) return 0;
  return ns < SIM_CLOCK_MAX ? (uint64_t)ns : (uint64_t)SIM_CLOCK_MAX;
}

static uint64_t market_feed_latency(sim_rng *rng, double mean, double std) {
  double v = fabs(sim_normal(rng, mean, std));
  double cap = mean + 3.0 * std;
  return delay_ns(v < cap ? v : cap);
}

/* Rayleigh order-placement latency. `quantile_scale` differs from `ray` only in the reference's
 * Stylized/Futures variant, which bounds u with one scale and inverts with another. */
static uint64_t placement_latency(sim_rng *rng, double min, double max, double ray,
                                  double quantile_scale) {
  double bound = 1.0 - exp(-1.0 / (2.0 * ray * ray));
  double u = sim_uniform(rng) * bound;
  double r = sim_rayleigh_quantile(quantile_scale, u);
  return delay_ns(floor(min + r * (max - min)));
}

static void send_order(sim_book *book, uint32_t slot, int kind, int dir, int64_t price,
                       int64_t lots, uint64_t latency, bool post_only) {
  sim_msg msg = {.time = book->now + latency, .kind = (uint16_t)kind, .dir = (uint8_t)dir,
                 .price = price, .volume = lots, .aux = latency, .slot = slot, .a = SIM_NONE,
                 .flags = (uint8_t)((1 << 3) | (post_only ? 1 : 0))};
  sim_send(book, &msg);
}

/* A limit order on margin: `lots` of own volume trading lots * (1 + leverage). */
static void send_margin_order(sim_book *book, uint32_t slot, int dir, int64_t price, int64_t lots,
                              double leverage, uint64_t latency) {
  sim_msg msg = {.time = book->now + latency, .kind = MSG_PLACE_LIMIT, .dir = (uint8_t)dir,
                 .price = price, .volume = lots, .aux = latency, .slot = slot, .a = SIM_NONE,
                 .flags = 1 << 3, .leverage = (uint32_t)floor(leverage * 1e6)};
  sim_send(book, &msg);
}

static void send_cancel(sim_book *book, uint32_t slot, uint32_t order_id, uint64_t delay) {
  sim_msg msg = {.time = book->now + delay, .kind = MSG_CANCEL, .slot = slot, .a = order_id};
  sim_send(book, &msg);
}

static void schedule(sim_book *book, uint32_t slot, int kind, uint64_t delay) {
  sim_msg msg = {.time = book->now + delay, .kind = (uint16_t)kind, .slot = slot};
  sim_send(book, &msg);
}

void sim_ack(sim_book *book, const sim_msg *msg, uint32_t order_id) {
  /* response: 1 ns processing, then the request's latency back; a rejection is a "fast"
   * response with no latency back, as the reference's exchange sends it */
  uint64_t back = order_id == SIM_NONE ? 0 : msg->aux;
  sim_msg ack = {.time = book->now + 1 + back, .kind = MSG_ACK, .slot = msg->slot,
                 .a = order_id, .volume = msg->volume, .dir = msg->dir,
                 .flags = msg->kind == MSG_PLACE_MARKET ? 1 : 0};
  sim_send(book, &ack);
}

/* Whole lots of a volume; 0 for none, a negative volume or NaN (a steep demand curve turns a
 * tick's rounding into volumes far past what an int64 holds, either way). */
static int64_t to_lots(const sim_config *cfg, double volume) {
  double lots = floor(volume / cfg->lot + 1e-9);
  if (!(lots > 0)) return 0;
  return lots > 9.0e15 ? (int64_t)9.0e15 : (int64_t)lots;
}

/* ---------------- initialization agents ---------------- */
static void init_start(sim_book *book) {
  const struct taos_sim *sim = book->sim;
  const sim_config *cfg = &sim->cfg;
  double p0 = P(cfg, initial_price), tick = cfg->tick;
  for (uint32_t k = 0; k < cfg->n_init; k++) {
    uint32_t local = sim->off_init + k, slot = sim->local_base + local;
    sim_rng *rng = &book->rng[local];
    double quote = quote_free(book, slot), used = 0, max_q = quote / p0 / 2.0;
    while (used < quote) {
      double price = floor(sim_uniform_range(rng, 0, p0 - tick) / tick) * tick;
      if (price < tick) price = tick; /* the reference can bid at 0 */
      double want = sim_uniform_range(rng, 0, max_q), room = (quote - used) / price;
      int64_t lots = to_lots(cfg, want < room ? want : room);
      if (lots <= 0) break;
      send_order(book, slot, MSG_PLACE_LIMIT, 0, (int64_t)llround(price / tick), lots, 0, false);
      used += price * (double)lots * cfg->lot;
    }
    double base = base_free(book, slot), used_base = 0, max_b = base / 2.0;
    while (used_base < base) {
      double price = floor(sim_uniform_range(rng, p0 + tick, 2 * p0) / tick) * tick;
      double want = sim_uniform_range(rng, 0, max_b), room = base - used_base;
      int64_t lots = to_lots(cfg, want < room ? want : room);
      if (lots <= 0) break;
      send_order(book, slot, MSG_PLACE_LIMIT, 1, (int64_t)llround(price / tick), lots, 0, false);
      used_base += (double)lots * cfg->lot;
    }
  }
}

/* ---------------- stylized traders ---------------- */
/* Root y of ln(p_hat) - y - c1 e^y - c0 = 0 (decreasing in y), searched in [ln p_hat - 50,
 * ln p_hat]; returns false when there is none. */
static bool solve_log_price(double log_hat, double c1, double c0, double *root) {
  double lo = log_hat - 50.0, hi = log_hat;
  double g_hi = -c1 * exp(hi) - c0;
  if (g_hi == 0) {
    *root = hi;
    return true;
  }
  if (log_hat - lo - c1 * exp(lo) - c0 <= 0) return false;
  double y = hi;
  for (int i = 0; i < 200; i++) {
    double e = c1 * exp(y);
    double g = log_hat - y - e - c0;
    if (g > 0) lo = y;
    else hi = y;
    double next = y + g / (1.0 + e); /* Newton step, g' = -(1 + c1 e^y) */
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (fabs(next - y) <= 1e-15 * fabs(y) || hi - lo <= 1e-15 * fabs(hi)) {
      *root = next;
      return true;
    }
    y = next;
  }
  *root = y;
  return true;
}

/* Demand of the CARA trader at price x: ln(p_hat/x) / (a V x). */
static double demand(double p_hat, double aV, double x) { return log(p_hat / x) / (aV * x); }

static void stylized_decide(sim_book *book, uint32_t k, double p, double bid, double ask) {
  const struct taos_sim *sim = book->sim;
  const sim_config *cfg = &sim->cfg;
  const sim_sty_params *par = &sim->sty_params[k];
  sim_sty_book *st = &book->sty[k];
  uint32_t local = sim->off_sty + k, slot = sim->local_base + local;
  sim_rng *rng = &book->rng[local];
  uint32_t h = st->filled;
  if (h < 2) return;
  double sum = 0;
  for (uint32_t i = 0; i < h; i++) sum += st->returns[i];
  double mean = sum / h, ss = 0;
  for (uint32_t i = 0; i < h; i++) ss += (st->returns[i] - mean) * (st->returns[i] - mean);
  double variance = cfg->reference ? ss / h * (h - 1) / h : ss / (h - 1);
  double tau_f = st->tau_f;
  double fundamental = log(book->fund_value / p) / tau_f;
  /* chartist: mean return per sample (the reference divides by the horizon in ns, ~0) */
  double chartist = cfg->reference ? sum / par->tau_a : sum / h;
  double noise = sim_normal(rng, 0, P(cfg, sty_sigma_eps));
  double w = par->wf + par->wc + par->wn;
  double r_hat = (par->wf * fundamental + par->wc * chartist + par->wn * noise) / w;
  if (st->regime) r_hat *= 0.01 * tau_f * w; /* the reference's regime multiplier */
  double p_hat = p * exp(r_hat);
  if (!(variance > 0) || !(p_hat > 0)) return;
  double aV = par->aversion * variance;
  double holdings = base_free(book, slot), cash = quote_free(book, slot);
  double log_hat = log(p_hat), y_ind, y_min;
  if (!solve_log_price(log_hat, aV * holdings, 0, &y_ind)) return;
  if (!solve_log_price(log_hat, aV * holdings, aV * cash, &y_min)) return;
  double p_ind = exp(y_ind), p_min = exp(y_min), p_max = p_hat;
  if (!(p_min > 0 && p_min <= p_ind && p_ind <= p_max)) return;
  double x = sim_uniform_range(rng, p_min, p_max);
  double tick = cfg->tick;
  int64_t price = llround(x / tick);
  if (price <= 0) return;
  double price_d = (double)price * tick;
  sim_rng *lat = &book->lat_rng[local];
  double ray = P(cfg, sty_ray);
  uint64_t latency = placement_latency(lat, P(cfg, sty_min_opl), P(cfg, sty_max_opl), ray,
                                       cfg->reference ? P(cfg, sty_scale_r) : ray);
  if (x < p_ind) {
    double xr = x < ask ? x : ask;
    double volume = demand(p_hat, aV, xr) - holdings;
    if (volume > cash / price_d) volume = cash / price_d;
    int64_t lots = to_lots(cfg, volume);
    if (lots <= 0) return;
    send_order(book, slot, MSG_PLACE_LIMIT, 0, price, lots, latency, false);
  } else if (x > p_ind) {
    double xr = price_d > bid ? price_d : bid;
    double volume = holdings - demand(p_hat, aV, xr);
    if (volume > holdings) volume = holdings;
    int64_t lots = to_lots(cfg, volume);
    if (lots <= 0) return;
    bool post_only = sim_uniform(rng) < P(cfg, sty_po_alpha);
    send_order(book, slot, MSG_PLACE_LIMIT, 1, price, lots, latency, post_only);
  } else {
    return;
  }
  st->order_in_flight = true;
}

/* Regime switching on book imbalance (off in production): a NORMAL agent enters the regime,
 * where the fundamentalist horizon is tauFRegime, with probability |imbalance|; an agent in the
 * regime leaves with probability 1 - sqrt(last |imbalance|). The reference draws twice, each time
 * from a generator seeded with the current time, so both draws are the same number and the
 * second never refuses what the first allowed: the intended dynamics draw twice independently
 * (|imbalance| squared). */
static void stylized_regime(sim_book *book, uint32_t k) {
  const sim_config *cfg = config_of(book);
  sim_sty_book *st = &book->sty[k];
  sim_rng *rng = &book->rng[book->sim->off_sty + k];
  double bids = (double)sim_side_volume(book, 0), asks = (double)sim_side_volume(book, 1);
  double imbalance = bids + asks > 0 ? fabs(bids - asks) / (bids + asks) : 0;
  if (!st->regime) {
    if (sim_uniform(rng) >= imbalance) return;
    st->regime_prob = imbalance;
    if (cfg->reference || sim_uniform(rng) < st->regime_prob) {
      st->regime = true;
      st->tau_f = P(cfg, sty_tau_f_regime);
    }
  } else if (sim_uniform(rng) < 1.0 - sqrt(st->regime_prob)) {
    st->regime = false;
    st->tau_f = P(cfg, sty_tau_f);
  }
}

/* Selection rounds of a stylized poll for the uniform draw u: the first of ten bins spaced 5/9
 * apart (0, 5/9, ..., 5) at or above the draw's Rayleigh quantile, SIM_STY_MAX_ROUNDS past the
 * last. */
int sim_stylized_rounds_of_quantile(double scale, double u) {
  double rounds = ceil(sim_rayleigh_quantile(scale, u) / (5.0 / 9.0));
  return rounds < SIM_STY_MAX_ROUNDS ? (int)rounds : SIM_STY_MAX_ROUNDS;
}

/* The least u = m 2^-53 (the values sim_uniform gives) with more than k rounds, by bisection over
 * m; +inf when even the largest has no more. */
static double least_draw_above(double scale, int k) {
  uint64_t lo = 0, hi = 1ull << 53;
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    if (sim_stylized_rounds_of_quantile(scale, (double)mid * 0x1.0p-53) > k) hi = mid;
    else lo = mid + 1;
  }
  return lo == 1ull << 53 ? INFINITY : (double)lo * 0x1.0p-53;
}

/* sim_stylized_rounds_of_quantile without a logarithm, a square root, a division and a ceil at each
 * poll: the rounds grow with u, so u is placed among the least draws of each count. Within a few
 * ulps of a bin's edge the rounded quantile may step back and forth, and bisection lands anywhere
 * in that stretch; within 1e-9 of the draw around each edge, wider than any such stretch, the
 * quantile itself decides. */
int sim_stylized_rounds(const struct taos_sim *sim, double u) {
  const double *above = sim->sty_rounds_above;
  int rounds = 0;
  while (rounds < SIM_STY_MAX_ROUNDS && u >= above[rounds]) rounds++;
  bool near_lower = rounds > 0 && u <= above[rounds - 1] * (1 + 1e-9);
  bool near_upper = rounds < SIM_STY_MAX_ROUNDS && u >= above[rounds] * (1 - 1e-9);
  if (near_lower || near_upper) {
    return sim_stylized_rounds_of_quantile(P(&sim->cfg, sty_scale_r), u);
  }
  return rounds;
}

static void stylized_poll(sim_book *book, uint32_t k) {
  const struct taos_sim *sim = book->sim;
  const sim_config *cfg = &sim->cfg;
  uint32_t local = sim->off_sty + k, slot = sim->local_base + local;
  sim_rng *lat = &book->lat_rng[local];
  double mm = P(cfg, sty_mfl_mean), ms = P(cfg, sty_mfl_std);
  double dm = P(cfg, sty_delay_mean), ds = P(cfg, sty_delay_std);
  double delay = fabs(sim_normal(lat, mm, ms)) + fabs(sim_normal(lat, dm, ds));
  double cap = mm + dm + 3.0 * (ms + ds);
  schedule(book, slot, MSG_POLL, delay_ns(delay < cap ? delay : cap) + 1);

  sim_sty_book *st = &book->sty[k];
  double bid, ask;
  top_of_book(book, &bid, &ask);
  /* The reference reads two prices: the history takes a trade up to 5 s old, the decision one up
   * to 1 s (the same nanosecond either way under the reference's dynamics). */
  double p = spot_price(book, bid, ask, 1000000000ull);
  double history_price = spot_price(book, bid, ask, 5000000000ull);
  if (!(p > 0) || !(history_price > 0)) return;
  uint32_t len = sim->sty_params[k].hist_len;
  st->returns[st->head] = log(history_price / st->last_price);
  st->head = (st->head + 1) % len;
  if (st->filled < len) st->filled++;
  st->last_price = history_price;
  if (P(cfg, sty_regime_flag) != 0) stylized_regime(book, k);
  if (st->order_in_flight) return;
  /* who acts: k draws of one agent among the group, k from a Rayleigh quantile (see
   * sim_stylized_rounds_of_quantile), as the reference */
  sim_rng *rng = &book->rng[local];
  int draws = sim_stylized_rounds(sim, sim_uniform(rng));
  bool selected = false;
  for (int i = 0; i < draws; i++) {
    if (sim_uniform(rng) * cfg->n_sty < 1.0) selected = true;
  }
  if (selected) stylized_decide(book, k, p, bid, ask);
}

static void stylized_ack(sim_book *book, uint32_t k, const sim_msg *msg) {
  book->sty[k].order_in_flight = false;
  if (msg->a != SIM_NONE) {
    send_cancel(book, msg->slot, msg->a, (uint64_t)book->sim->sty_params[k].tau_a);
  }
}

/* ---------------- high-frequency traders ---------------- */
static double hft_delta(const sim_config *cfg, double inventory) {
  return P(cfg, hft_delta) / (1.0 + exp(fabs(inventory) - P(cfg, hft_psi)));
}

static void hft_make_order(sim_book *book, uint32_t slot, int dir, double price, double volume,
                           double wealth, uint64_t latency) {
  const sim_config *cfg = &book->sim->cfg;
  if (!(price > 0) || !(volume > 0) || !(wealth > 0)) return;
  double leverage = (volume * price - wealth) / wealth, max = P(cfg, max_leverage);
  /* beyond its wealth the quote goes on margin: its own part, levered up to the whole volume */
  if (leverage > 0) {
    leverage = leverage < max ? leverage : max;
    volume /= 1.0 + leverage;
  } else {
    leverage = 0;
  }
  int64_t lots = to_lots(cfg, volume);
  if (lots <= 0) return;
  send_margin_order(book, slot, dir, llround(price / cfg->tick), lots, leverage, latency);
}

/* An HFT message's placement latency: every message draws its own, as the reference's sendOrder
 * and cancel do. */
static uint64_t hft_latency(const sim_config *cfg, sim_rng *lat) {
  double ray = P(cfg, hft_ray);
  return placement_latency(lat, P(cfg, hft_min_opl), P(cfg, hft_max_opl), ray, ray);
}

/* Cancels this agent's resting order of side `dir` closest to the best price of that side, the
 * newest among equally close ones (the reference scans its records newest first). The core's list
 * of the agent's orders in the book stands in for the reference's records of acknowledged orders. */
static void hft_cancel_closest(sim_book *book, uint32_t slot, int dir, uint64_t latency) {
  int32_t agent = sim_agent_id(book->sim, slot);
  int64_t n = tx_agent_orders(book->ex, agent, 0, book->hft_orders, book->hft_orders_cap);
  if (n > (int64_t)book->hft_orders_cap) {
    size_t cap = (size_t)n * 2;
    tx_order *grown = realloc(book->hft_orders, cap * sizeof *grown);
    if (grown == NULL) {
      book->error = TAOS_SIM_ERR_MEMORY;
      return;
    }
    book->hft_orders = grown;
    book->hft_orders_cap = cap;
    n = tx_agent_orders(book->ex, agent, 0, book->hft_orders, book->hft_orders_cap);
  }
  uint32_t best_id = SIM_NONE;
  int64_t best_price = 0;
  for (int64_t i = 0; i < n; i++) {
    const tx_order *o = &book->hft_orders[i];
    if (o->direction != dir) continue;
    if (best_id == SIM_NONE || (dir == 1 ? o->price <= best_price : o->price >= best_price)) {
      best_id = o->order_id;
      best_price = o->price;
    }
  }
  if (best_id != SIM_NONE) send_cancel(book, slot, best_id, latency);
}

static void hft_poll(sim_book *book, uint32_t k) {
  const struct taos_sim *sim = book->sim;
  const sim_config *cfg = &sim->cfg;
  uint32_t local = sim->off_hft + k, slot = sim->local_base + local;
  sim_rng *rng = &book->rng[local], *lat = &book->lat_rng[local];
  double inventory = book->hft[k].inventory, psi = P(cfg, hft_psi);
  double delta = hft_delta(cfg, inventory), min_mfl = P(cfg, hft_min_mfl);
  schedule(book, slot, MSG_POLL, delay_ns(floor(delta) > min_mfl ? floor(delta) : min_mfl) + 1);

  double bid, ask;
  top_of_book(book, &bid, &ask);
  /* a trade up to 1 s old, as the reference's HFT */
  double p = spot_price(book, bid, ask, 1000000000ull);
  double horizon = cfg->reference
                       ? 1.0
                       : 1.0 - (double)(book->now - cfg->start) / (double)cfg->duration;
  double gamma = P(cfg, hft_gamma), sigma_sqr = P(cfg, hft_sigma_sqr);
  double reservation = p - gamma * inventory * sigma_sqr * horizon;
  double holdings = base_free(book, slot), cash = quote_free(book, slot);

  double mean = P(cfg, hft_order_mean), noise_ray = P(cfg, hft_noise_ray);
  double v0 = sim_lognormal(rng, mean, 1.0);
  double shift = noise_ray * sqrt(-2.0 * log(1.0 - P(cfg, hft_shift_pct)));
  double spread = ask - bid < P(cfg, hft_spread)
                      ? ask - bid
                      : sigma_sqr * gamma * horizon +
                            (2.0 / gamma) * log(1.0 + gamma / P(cfg, hft_kappa));
  bool inventory_rule = cfg->reference ? inventory >= psi : fabs(inventory) >= psi;
  double bid_volume = inventory_rule ? v0 * (0.5 - inventory / psi) : sim_lognormal(rng, mean, 1);
  double bid_noise = sim_rayleigh_quantile(noise_ray, sim_uniform(rng)) - shift;
  double bid_price = (double)llround((reservation - spread / 2 - bid_noise) / cfg->tick) * cfg->tick;
  double ask_volume = inventory_rule ? v0 * (0.5 + inventory / psi) : sim_lognormal(rng, mean, 1);
  double ask_noise = sim_rayleigh_quantile(noise_ray, sim_uniform(rng)) - shift;
  double ask_price = (double)llround((reservation + spread / 2 + ask_noise) / cfg->tick) * cfg->tick;
  bool send_bid = true, send_ask = true;
  if (fabs(inventory) > psi) {
    bool cancel = sim_uniform(rng) < 0.75;
    if (inventory < 0 && cancel) {
      send_ask = false;
      hft_cancel_closest(book, slot, 1, hft_latency(cfg, lat));
    } else if (inventory > 0 && cancel) {
      send_bid = false;
      hft_cancel_closest(book, slot, 0, hft_latency(cfg, lat));
    }
  }
  if (send_bid) {
    hft_make_order(book, slot, 0, bid_price, bid_volume, ask * holdings + cash,
                   hft_latency(cfg, lat));
  }
  if (send_ask) {
    hft_make_order(book, slot, 1, ask_price, ask_volume, bid * holdings + cash,
                   hft_latency(cfg, lat));
  }
}

static void hft_ack(sim_book *book, uint32_t k, const sim_msg *msg) {
  if (msg->a == SIM_NONE) return;
  const sim_config *cfg = &book->sim->cfg;
  const sim_hft_book *hb = &book->hft[k];
  double tau = P(cfg, hft_tau), delta = hft_delta(cfg, hb->inventory);
  double lifetime = ceil(tau * delta), floor_life = tau * P(cfg, hft_min_mfl);
  send_cancel(book, msg->slot, msg->a, delay_ns(lifetime > floor_life ? lifetime : floor_life));
}

/* ---------------- ALGO traders ---------------- */
static void algo_execute(sim_book *book, uint32_t k) {
  const struct taos_sim *sim = book->sim;
  const sim_config *cfg = &sim->cfg;
  uint32_t local = sim->off_algo + k, slot = sim->local_base + local;
  sim_algo_book *ab = &book->algo[k];
  sim_rng *rng = &book->rng[local];
  double a = P(cfg, algo_volume_a), b = P(cfg, algo_volume_b);
  int kind = (int)P(cfg, algo_volume_kind);
  double v = kind == TAOS_SIM_VOLUME_DIRAC   ? a
             : kind == TAOS_SIM_VOLUME_GAMMA ? sim_gamma(rng, a, b)
                                        : sim_lognormal(rng, a, b);
  if (v > ab->to_execute) v = ab->to_execute;
  double cap = ab->dir == 0 ? (cfg->reference ? quote_free(book, slot) * ab->last_price
                                              : quote_free(book, slot) / ab->last_price)
                            : base_free(book, slot);
  if (v > cap) v = cap;
  int64_t lots = to_lots(cfg, v);
  if (lots <= 0) {
    ab->status = 0;
    return;
  }
  double ray = P(cfg, algo_ray);
  uint64_t latency = placement_latency(&book->lat_rng[local], P(cfg, algo_min_opl),
                                       P(cfg, algo_max_opl), ray, ray);
  send_order(book, slot, MSG_PLACE_MARKET, ab->dir, 0, lots, latency, false);
}

static void algo_wakeup(sim_book *book, uint32_t k) {
  sim_algo_book *ab = &book->algo[k];
  uint32_t local = book->sim->off_algo + k;
  if (ab->status == 1) {
    if (sim_uniform(&book->rng[local]) < P(config_of(book), algo_wakeup_prob)) {
      ab->status = 2;
      algo_execute(book, k);
    } else {
      ab->status = 0;
    }
  } else if (ab->status == 2) {
    algo_execute(book, k);
  }
}

static void algo_ack(sim_book *book, uint32_t k, const sim_msg *msg) {
  sim_algo_book *ab = &book->algo[k];
  const sim_config *cfg = config_of(book);
  if (msg->a == SIM_NONE) { /* rejected: stop (the reference leaves the book stuck) */
    ab->status = 0;
    return;
  }
  ab->to_execute -= (double)msg->volume * cfg->lot;
  if (ab->to_execute <= 1.0) {
    ab->status = 0;
    return;
  }
  uint32_t local = book->sim->off_algo + k;
  schedule(book, msg->slot, MSG_ALGO_WAKEUP,
           market_feed_latency(&book->lat_rng[local], P(cfg, algo_mfl_mean), P(cfg, algo_mfl_std)));
}

/* ---------------- futures traders ---------------- */
static void futures_poll(sim_book *book, uint32_t k) {
  const struct taos_sim *sim = book->sim;
  const sim_config *cfg = &sim->cfg;
  uint32_t local = sim->off_fut + k, slot = sim->local_base + local;
  sim_rng *rng = &book->rng[local], *lat = &book->lat_rng[local];
  schedule(book, slot, MSG_POLL,
           market_feed_latency(lat, P(cfg, fut_mfl_mean), P(cfg, fut_mfl_std)) + 1);
  sim_fut_book *fb = &book->fut[k];
  uint64_t count = book->ext_count;
  double external = book->ext_value;
  if (count == 0 && fb->last_ext < 1e-4) {
    fb->last_ext = external;
    return;
  }
  if (count != fb->last_count) {
    /* A recorded or live feed's first sample is the first price of the instrument: what the
     * signal held before it (the initial price) is none of the feed's, so the sample starts the
     * returns instead of making one, as the reference's traders do when their signal holds 0
     * before its first sample (a zero return). The seeded walk starts from the initial price, so
     * its first sample is a move. */
    bool feed_base = fb->last_count == 0 && sim->feed_on[1];
    double r = fb->last_ext == 0 || feed_base ? 0 : log(external / fb->last_ext);
    fb->last_return = r;
    fb->factor = fb->factor0 = fmin(2.0, exp(fabs(r)));
    fb->polls = 0;
    fb->last_ext = external;
    fb->last_count = count;
  } else {
    fb->polls++;
    double lambda = P(cfg, fut_lambda);
    fb->factor = cfg->reference ? fb->factor * exp(-lambda * fb->polls)
                                : fb->factor0 * exp(-lambda * fb->polls);
  }
  if (fb->order_in_flight) return;
  if (sim_uniform(rng) * cfg->n_fut >= 1.0) return;
  double r = fb->last_return;
  if (r == 0) return;
  double forecast = (r > 0 ? 1.0 : -1.0) + sim_normal(rng, 0, P(cfg, fut_sigma_eps));
  double volume = sim_lognormal(rng, log(P(cfg, fut_volume) * fb->factor), 1.0);
  int64_t lots = to_lots(cfg, volume);
  if (lots <= 0 || forecast == 0) return;
  double ray = P(cfg, fut_ray);
  uint64_t latency = placement_latency(lat, P(cfg, fut_min_opl), P(cfg, fut_max_opl), ray,
                                       cfg->reference ? P(cfg, fut_scale_r) : ray);
  send_order(book, slot, MSG_PLACE_MARKET, forecast > 0 ? 0 : 1, 0, lots, latency, false);
  fb->order_in_flight = true;
}

/* ---------------- dispatch ---------------- */
void sim_agents_on_trade(sim_book *book, uint32_t aggressor, uint32_t resting, int dir,
                         int64_t price, int64_t volume) {
  const struct taos_sim *sim = book->sim;
  const sim_config *cfg = &sim->cfg;
  double v = (double)volume * cfg->lot, p = (double)price * cfg->tick;
  uint32_t hft0 = sim->local_base + sim->off_hft;
  if (aggressor >= hft0 && aggressor < hft0 + cfg->n_hft) {
    book->hft[aggressor - hft0].inventory += dir == 0 ? v : -v;
  }
  if (resting >= hft0 && resting < hft0 + cfg->n_hft) {
    book->hft[resting - hft0].inventory += dir == 0 ? -v : v;
  }
  double vbs = P(cfg, algo_vbs);
  for (uint32_t k = 0; k < cfg->n_algo; k++) {
    sim_algo_book *ab = &book->algo[k];
    uint32_t local = sim->off_algo + k, slot = sim->local_base + local;
    ab->last_price = p;
    if (dir == 0) ab->buy_bucket += v;
    else ab->sell_bucket += v;
    double total = ab->buy_bucket + ab->sell_bucket;
    if (total <= vbs) continue;
    ab->dir = ab->buy_bucket > ab->sell_bucket ? 0 : 1;
    double target = P(cfg, algo_volume_prop) * fabs(ab->buy_bucket - ab->sell_bucket);
    double cap = ab->dir == 0 ? (cfg->reference ? quote_free(book, slot) * p
                                                : quote_free(book, slot) / p)
                              : base_free(book, slot);
    ab->to_execute = target < cap ? target : cap;
    ab->buy_bucket = dir == 0 ? total - vbs : 0;
    ab->sell_bucket = dir == 0 ? 0 : total - vbs;
    ab->status = 1;
    schedule(book, slot, MSG_ALGO_WAKEUP,
             market_feed_latency(&book->lat_rng[local], P(cfg, algo_mfl_mean),
                                 P(cfg, algo_mfl_std)));
  }
}

void sim_agents_handle(sim_book *book, const sim_msg *msg) {
  const struct taos_sim *sim = book->sim;
  if (msg->kind == MSG_INIT_START) {
    init_start(book);
    return;
  }
  uint32_t local = local_of(book, msg->slot);
  if (msg->kind == MSG_ALGO_WAKEUP) {
    algo_wakeup(book, local - sim->off_algo);
    return;
  }
  if (local >= sim->off_fut) {
    if (msg->kind == MSG_POLL) futures_poll(book, local - sim->off_fut);
    else book->fut[local - sim->off_fut].order_in_flight = false;
  } else if (local >= sim->off_algo) {
    if (msg->kind == MSG_ACK) algo_ack(book, local - sim->off_algo, msg);
  } else if (local >= sim->off_hft) {
    if (msg->kind == MSG_POLL) hft_poll(book, local - sim->off_hft);
    else hft_ack(book, local - sim->off_hft, msg);
  } else if (local >= sim->off_sty) {
    if (msg->kind == MSG_POLL) stylized_poll(book, local - sim->off_sty);
    else stylized_ack(book, local - sim->off_sty, msg);
  } else if (msg->kind == MSG_ACK && msg->a != SIM_NONE) { /* initialization agent */
    send_cancel(book, msg->slot, msg->a, (uint64_t)P(config_of(book), init_tau));
  }
}

/* ---------------- setup ---------------- */
/* Book-independent parameters: stylized weights, horizon, risk aversion, history length. */
int sim_agents_init(struct taos_sim *sim) {
  const sim_config *cfg = &sim->cfg;
  sim->sty_params = calloc(cfg->n_sty ? cfg->n_sty : 1, sizeof *sim->sty_params);
  if (sim->sty_params == NULL) return TAOS_SIM_ERR_MEMORY;
  /* without stylized traders their scale is not checked and may be anything */
  for (int k = 0; k < SIM_STY_MAX_ROUNDS && cfg->n_sty > 0; k++) {
    sim->sty_rounds_above[k] = least_draw_above(P(cfg, sty_scale_r), k);
  }
  uint32_t offset = 0;
  for (uint32_t k = 0; k < cfg->n_sty; k++) {
    sim_rng rng;
    sim_rng_seed(&rng, cfg->seed, SIM_NONE, cfg->remote + sim->off_sty + k, SIM_RNG_PARAMS);
    sim_sty_params *par = &sim->sty_params[k];
    double sf = P(cfg, sty_sigma_f), sc = P(cfg, sty_sigma_c), sn = P(cfg, sty_sigma_n);
    par->wf = fabs(sim_laplace(&rng, sf, sf));
    par->wc = fabs(sim_laplace(&rng, sc, sc));
    par->wn = fabs(sim_laplace(&rng, sn, sn));
    if (par->wf + par->wc + par->wn <= 0) par->wn = 1e-9;
    double ratio = (1.0 + par->wf) / (1.0 + par->wc);
    /* Weights beyond a double (scales the config layer refuses) would give a NaN horizon. */
    if (!isfinite(ratio) || ratio <= 0) return TAOS_SIM_ERR_CONFIG;
    double tau_a = ceil(P(cfg, sty_tau) * ratio);
    if (tau_a > (double)(cfg->duration - 1)) tau_a = (double)(cfg->duration - 1);
    if (tau_a < 1) tau_a = 1;
    par->tau_a = tau_a;
    par->aversion = P(cfg, sty_r_aversion) * ratio;
    double hist = ceil(P(cfg, sty_tau_hist) * ratio);
    par->hist_len = hist < 50 ? 50 : hist > 500 ? 500 : (uint32_t)hist;
    par->offset = offset;
    offset += par->hist_len;
  }
  return TAOS_SIM_OK;
}

int sim_agents_book_init(sim_book *book) {
  const struct taos_sim *sim = book->sim;
  const sim_config *cfg = &sim->cfg;
  uint32_t n_local = sim->n_slots - sim->local_base;
  book->rng = malloc((n_local ? n_local : 1) * sizeof(sim_rng));
  book->lat_rng = malloc((n_local ? n_local : 1) * sizeof(sim_rng));
  book->sty = calloc(cfg->n_sty ? cfg->n_sty : 1, sizeof *book->sty);
  book->hft = calloc(cfg->n_hft ? cfg->n_hft : 1, sizeof *book->hft);
  book->algo = calloc(cfg->n_algo ? cfg->n_algo : 1, sizeof *book->algo);
  book->fut = calloc(cfg->n_fut ? cfg->n_fut : 1, sizeof *book->fut);
  uint32_t total_hist = cfg->n_sty ? sim->sty_params[cfg->n_sty - 1].offset +
                                         sim->sty_params[cfg->n_sty - 1].hist_len
                                   : 1;
  book->sty_returns = malloc(total_hist * sizeof(double));
  book->history_normals = malloc(501 * sizeof(double));
  if (!book->rng || !book->lat_rng || !book->sty || !book->hft || !book->algo || !book->fut ||
      !book->sty_returns || !book->history_normals) {
    return TAOS_SIM_ERR_MEMORY;
  }
  for (uint32_t i = 0; i < n_local; i++) {
    sim_rng_seed(&book->rng[i], cfg->seed, book->id, cfg->remote + i, SIM_RNG_DECISION);
    sim_rng_seed(&book->lat_rng[i], cfg->seed, book->id, cfg->remote + i, SIM_RNG_LATENCY);
  }
  /* Initial price history: a GBM path X (X0, mu, sigma on [0, 1]; by default 0.001, 0, 0.01)
   * priced P0 (1 + X), one set of draws per book shared by all stylized agents; each agent samples
   * it with its own length. */
  sim_rng hist;
  sim_rng_seed(&hist, cfg->seed, book->id, SIM_NONE, SIM_RNG_HISTORY);
  for (int i = 0; i < 501; i++) book->history_normals[i] = sim_normal(&hist, 0, 1);
  double p0 = P(cfg, initial_price);
  double x0 = P(cfg, sty_gbm_x0), mu = P(cfg, sty_gbm_mu), sigma = P(cfg, sty_gbm_sigma);
  for (uint32_t k = 0; k < cfg->n_sty; k++) {
    const sim_sty_params *par = &sim->sty_params[k];
    sim_sty_book *st = &book->sty[k];
    st->returns = book->sty_returns + par->offset;
    uint32_t h = par->hist_len;
    double dt = 1.0 / h, w = 0, x_prev = x0, price_prev = p0 * (1.0 + x_prev);
    for (uint32_t i = 0; i < h; i++) {
      w += sqrt(dt) * book->history_normals[i];
      double x = x0 * exp((mu - 0.5 * sigma * sigma) * (i + 1) * dt + sigma * w);
      double price = p0 * (1.0 + x);
      /* the reference stores the raw level X_0 as the first "return" */
      st->returns[i] = (cfg->reference && i == 0) ? x0 : log(price / price_prev);
      price_prev = price;
      x_prev = x;
    }
    st->head = 0;
    st->filled = h;
    st->last_price = price_prev;
    st->tau_f = P(cfg, sty_tau_f);
    st->regime_prob = P(cfg, sty_regime_prob);
  }
  for (uint32_t k = 0; k < cfg->n_algo; k++) book->algo[k].last_price = p0;
  return TAOS_SIM_OK;
}

void sim_agents_book_free(sim_book *book) {
  free(book->rng);
  free(book->lat_rng);
  free(book->sty);
  free(book->sty_returns);
  free(book->history_normals);
  free(book->hft);
  free(book->hft_orders);
  free(book->algo);
  free(book->fut);
}
