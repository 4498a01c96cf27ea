/* Numeric checks of the background model's formulas (sections of the simulation specification):
 * the fundamental price's per-update log increments (3.2, and the targets of section 8), the
 * Rayleigh order-placement latency and the market-feed latency (4.0), and the Pareto balance
 * draws (4.0 'Balances').
 *
 * Every statistical bound is the formula's expectation with 5 standard errors of slack, the
 * standard error also computed from the formula (exact moments, or binomial for fractions), with
 * fixed seeds and enough samples that the bounds are tight; none holds only by the luck of one
 * seed. Set TAOS_TEST_VERBOSE=1 to print each measured value beside its expectation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_harness.h"

/* ---------------- statistics ---------------- */
static const double PI = 3.14159265358979323846;
static int verbose = 0;

/* |measured - expected| <= 5 standard errors; the values are printed when verbose. */
static int near(const char *what, double measured, double expected, double se) {
  if (verbose) {
    printf("  %-58s %-13.7g expected %-13.7g se %-10.3g z %+.2f\n", what, measured, expected, se,
           se > 0 ? (measured - expected) / se : 0.0);
  }
  return fabs(measured - expected) <= 5.0 * se;
}

/* A fraction hits/n against its probability p (binomial standard error). */
static int fraction_near(const char *what, long hits, long n, double p) {
  return near(what, (double)hits / (double)n, p, sqrt(p * (1.0 - p) / (double)n));
}

static void show(const char *what, double value) {
  if (verbose) printf("  %-58s %.7g\n", what, value);
}

/* Standard normal upper tail P(Z > z). */
static double upper(double z) { return 0.5 * erfc(z / sqrt(2.0)); }

/* ---------------- 1. fundamental price increments (spec 3.2, section 8) ---------------- */
/* One increment of ln X over an update is c + D + N Y with c = (mu - sigma^2/2) dt (mu = 0),
 * D ~ N(0, sigma^2 dt), N ~ Poisson(lambda) and Y ~ N(0, sigmaJump^2) one draw: given N = n it is
 * normal with variance v_n = sigma^2 dt + n^2 sigmaJump^2, so its central moments are exact sums
 * over n of p(n) (k-1)!! v_n^(k/2). The sample comes from the public API (the fundamental value
 * at the end of every 10 s step of many books); its variance and kurtosis get standard errors
 * from the 4th, 6th and 8th moments (delta method). */
static void test_fundamental_increments(void) {
  enum { BOOKS = 40, STEPS = 100000, WINDOW = 2000 };
  const double sigma = 0.012, lambda = 0.002, sigma_jump = 0.00335, period = 10e9;
  taos_sim *sim = create_with(CHANGES({"remote_agents", 0}, {"books", BOOKS}, {"threads", 2},
                                      {"step", period}, {"duration", STEPS * period},
                                      {"seed", 20240611}));

  const double dt = period / 86400e9, a2 = sigma * sigma * dt, b2 = sigma_jump * sigma_jump;
  const double drift = -0.5 * sigma * sigma * dt;
  double e2 = 0, e4 = 0, e6 = 0, e8 = 0, core_p = 0, tail_p = 0, p = exp(-lambda);
  const double core = sqrt(a2), tail = 8.0 * sqrt(a2); /* 1 and 8 diffusion stds */
  for (int n = 0; n < 40; n++) {
    double v = a2 + (double)n * n * b2;
    e2 += p * v;
    e4 += p * 3.0 * v * v;
    e6 += p * 15.0 * v * v * v;
    e8 += p * 105.0 * v * v * v * v;
    core_p += p * (1.0 - 2.0 * upper(core / sqrt(v)));
    tail_p += p * 2.0 * upper(tail / sqrt(v));
    p *= lambda / (n + 1);
  }
  /* the spec's own numbers (section 3.2 and 8) follow from the formula */
  CHECK(fabs(sqrt(a2) / 1.291e-4 - 1) < 1e-3);
  CHECK(fabs(e2 / 3.916e-8 - 1) < 1e-3);
  CHECK(fabs(e4 / (e2 * e2) - 3 - 499) < 3);

  double prev[BOOKS];
  for (int b = 0; b < BOOKS; b++) prev[b] = 300.0;
  double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
  long n = 0, in_core = 0, in_tail = 0;
  int rc;
  do {
    uint64_t now, events;
    rc = taos_sim_advance_steps(sim, WINDOW, 0, &now, &events);
    CHECK(rc >= 0);
    if (rc < 0) break;
    uint32_t steps = taos_sim_steps(sim);
    for (int b = 0; b < BOOKS; b++) {
      for (uint32_t k = 0; k < steps; k++) {
        double values[2];
        CHECK(taos_sim_step_info(sim, (uint32_t)b, k, NULL, NULL, values) == TAOS_SIM_OK);
        double x = log(values[0] / prev[b]);
        prev[b] = values[0];
        s1 += x;
        s2 += x * x;
        s3 += x * x * x;
        s4 += x * x * x * x;
        in_core += fabs(x - drift) < core;
        in_tail += fabs(x - drift) > tail;
        n++;
      }
    }
  } while (rc > 0);
  CHECK(n == (long)BOOKS * STEPS);
  CHECK(sim->books[0].fund_k == STEPS); /* one update per 10 s step */
  double N = (double)n, mean = s1 / N;
  double m2 = s2 / N - mean * mean;
  double m4 = s4 / N - 4 * mean * s3 / N + 6 * mean * mean * s2 / N - 3 * mean * mean * mean * mean;
  double kurt = m4 / (m2 * m2), kurt_expected = e4 / (e2 * e2);
  /* delta method for m4 / m2^2 */
  double rel2 = (e8 - e4 * e4) / (e4 * e4) + 4 * (e4 - e2 * e2) / (e2 * e2) -
                4 * (e6 - e2 * e4) / (e4 * e2);
  double kurt_se = kurt_expected * sqrt(rel2 / N);
  if (verbose) printf("fundamental increments (%ld updates of %d books):\n", n, BOOKS);
  CHECK(near("mean log increment", mean, drift, sqrt(e2 / N)));
  CHECK(near("variance (diffusion + jumps)", m2, e2, sqrt((e4 - e2 * e2) / N)));
  show("std (expected sqrt(3.916e-8) = 1.979e-4)", sqrt(m2));
  CHECK(near("fraction within 1 diffusion std (1.291e-4)", (double)in_core / N, core_p,
             sqrt(core_p * (1 - core_p) / N)));
  CHECK(near("fraction beyond 8 diffusion stds (jumps)", (double)in_tail / N, tail_p,
             sqrt(tail_p * (1 - tail_p) / N)));
  CHECK(near("excess kurtosis", kurt - 3, kurt_expected - 3, kurt_se));
  CHECK(kurt - 3 > 50);
  taos_sim_destroy(sim);
}

/* ---------------- 2. Rayleigh order-placement latency (spec 4.0) ---------------- */
static double rayleigh_cdf(double q, double x) { return 1.0 - exp(-x * x / (2.0 * q * q)); }

/* Latencies floor(min + r (max - min)) with u ~ U(0, F_s(1)) and r = Q_q(u): r has the Rayleigh(q)
 * law cut at Q_q(F_s(1)) = q / s (1 where q = s, as for HFT; 0.2 / 0.235 for the reference's
 * Stylized and Futures), so P(r <= x) = F_q(x) / F_s(1). */
static void check_rayleigh(const char *who, const uint64_t *lat, long n, double min, double max,
                           double s, double q) {
  double range = max - min, bound = rayleigh_cdf(s, 1.0), cut = q / s;
  double hi = min + cut * range;
  if (verbose) printf("%s placement latency (%ld draws, range %.6g..%.6g ns):\n", who, n, min, hi);
  long outside = 0, below_mode = 0, below_median = 0, windows[3] = {0, 0, 0}, cdf[9] = {0};
  uint64_t lo_seen = UINT64_MAX, hi_seen = 0;
  double sum = 0;
  double median = min + q * sqrt(-2.0 * log(1.0 - bound / 2.0)) * range;
  double mode = min + q * range;
  const double centers[3] = {q, 0.5 * q, 1.5 * q};
  for (long i = 0; i < n; i++) {
    double l = (double)lat[i];
    outside += l < min || l > hi;
    lo_seen = lat[i] < lo_seen ? lat[i] : lo_seen;
    hi_seen = lat[i] > hi_seen ? lat[i] : hi_seen;
    below_mode += l < mode;
    below_median += l < median;
    for (int w = 0; w < 3; w++) {
      windows[w] += fabs(l - (min + centers[w] * range)) < 0.05 * q * range;
    }
    for (int j = 0; j < 9; j++) cdf[j] += l < min + cut * (j + 1) / 10.0 * range;
    sum += l;
  }
  CHECK(outside == 0);
  show("smallest latency", (double)lo_seen);
  show("largest latency", (double)hi_seen);
  CHECK(fraction_near("fraction below the median Q_q(F_s(1)/2)", below_median, n, 0.5));
  CHECK(fraction_near("fraction below the mode (r = q)", below_mode, n,
                      rayleigh_cdf(q, q) / bound));
  double expected_window[3];
  for (int w = 0; w < 3; w++) {
    expected_window[w] =
        (rayleigh_cdf(q, centers[w] + 0.05 * q) - rayleigh_cdf(q, centers[w] - 0.05 * q)) / bound;
  }
  CHECK(fraction_near("window at the mode (r in q +- q/20)", windows[0], n, expected_window[0]));
  CHECK(fraction_near("window at r = q/2", windows[1], n, expected_window[1]));
  CHECK(fraction_near("window at r = 3q/2", windows[2], n, expected_window[2]));
  CHECK(windows[0] > windows[1] && windows[0] > windows[2]); /* the mode is at r = q */
  for (int j = 0; j < 9; j++) {
    double x = cut * (j + 1) / 10.0;
    char what[64];
    snprintf(what, sizeof what, "P(r < %.3f)", x);
    CHECK(fraction_near(what, cdf[j], n, rayleigh_cdf(q, x) / bound));
  }
  /* moments of the cut Rayleigh: E r = (q sqrt(pi/2) erf(c/(q sqrt 2)) - c e^(-c^2/2q^2)) / B,
   * E r^2 = 2 q^2 (1 - (1 + U) e^(-U)) / B with U = c^2 / 2q^2 */
  double u = cut * cut / (2 * q * q);
  double er = (q * sqrt(PI / 2) * erf(cut / (q * sqrt(2.0))) - cut * exp(-u)) / bound;
  double er2 = 2 * q * q * (1 - (1 + u) * exp(-u)) / bound;
  CHECK(near("mean latency (ns)", sum / (double)n, min + er * range - 0.5,
             range * sqrt((er2 - er * er) / (double)n)));
}

/* OPL of the HFT agent: each quote (and cancel) of a poll draws its own latency, as the
 * reference's sendOrder does. */
static long hft_latencies(uint64_t *out, long n) {
  taos_sim *sim = create_with(CHANGES({"hft_count", 1}, {"seed", 101}));
  sim_book *book = quoted_book(sim);
  uint32_t slot = sim->local_base + sim->off_hft;
  sim_msg poll = {.time = book->now, .kind = MSG_POLL, .slot = slot};
  long got = 0;
  for (long i = 0; i < n; i++) {
    book->heap.size = 0;
    sim_agents_handle(book, &poll);
    for (size_t j = 0; j < book->heap.size && got < n; j++) {
      const sim_msg *m = &book->heap.items[j];
      if (m->slot != slot || m->kind != MSG_PLACE_LIMIT) continue;
      CHECK(m->time == book->now + m->aux);
      out[got++] = m->aux;
    }
  }
  CHECK(book->hft[0].inventory == 0);
  taos_sim_destroy(sim);
  return got;
}

/* One futures trader polled n times on a constructed book after an external move, its order flag
 * and volume decay reset every time: each poll yields its next poll's delay (the market-feed
 * latency + 1 ns) and, nearly always, a market order whose latency is the OPL. */
static void futures_draws(int reference_dynamics, double mfl_mean, double mfl_std, uint64_t *mfl,
                          uint64_t *opl, long n, long *n_opl) {
  taos_sim *sim = create_with(CHANGES({"fut_count", 1}, {"seed", 202 + reference_dynamics},
                                      {"reference_dynamics", reference_dynamics},
                                      {"fut_mfl_mean", mfl_mean}, {"fut_mfl_std", mfl_std}));
  sim_book *book = quoted_book(sim);
  uint32_t slot = sim->local_base + sim->off_fut;
  sim_msg poll = {.time = book->now, .kind = MSG_POLL, .slot = slot};
  sim_agents_handle(book, &poll); /* first look: remembers the signal */
  book->ext_count = 1;
  book->ext_value = 303.0;
  *n_opl = 0;
  for (long i = 0; i < n; i++) {
    book->heap.size = 0;
    book->fut[0].order_in_flight = false;
    book->fut[0].polls = 0;
    book->fut[0].factor = book->fut[0].factor0;
    sim_agents_handle(book, &poll);
    sim_msg next = {0}, order = {0};
    CHECK(queued(book, slot, MSG_POLL, &next) == 1);
    mfl[i] = next.time - book->now - 1;
    if (queued(book, slot, MSG_PLACE_MARKET, &order) == 1) {
      CHECK(order.time == book->now + order.aux);
      opl[(*n_opl)++] = order.aux;
    }
  }
  taos_sim_destroy(sim);
}

/* OPL of a stylized trader deciding on every poll (fundamental far above the book, weights
 * fundamentalist only, as sim_agents_test.c), its return history restored before each poll so
 * that every decision sees the same state; also its next-poll delay (spec 4.5):
 * min(|N(MFLmean, MFLstd)| + |N(delayMean, delaySTD)|, MFLmean + delayMean + 3 (MFLstd +
 * delaySTD)). */
static void stylized_draws(int reference_dynamics, uint64_t *delay, uint64_t *opl, long n,
                           long *n_opl) {
  taos_sim *sim = create_with(CHANGES({"sty_count", 1}, {"seed", 303 + reference_dynamics},
                                      {"reference_dynamics", reference_dynamics},
                                      {"sty_sigma_f", 1}, {"sty_sigma_c", 0},
                                      {"sty_sigma_eps", 0}));
  sim_book *book = quoted_book(sim);
  book->fund_value = 330.0;
  uint32_t slot = sim->local_base + sim->off_sty;
  sim_msg poll = {.time = book->now, .kind = MSG_POLL, .slot = slot};
  sim_sty_book *st = &book->sty[0];
  uint32_t len = sim->sty_params[0].hist_len;
  double *saved = malloc(len * sizeof *saved);
  memcpy(saved, st->returns, len * sizeof *saved);
  sim_sty_book kept = *st;
  *n_opl = 0;
  for (long i = 0; i < n; i++) {
    memcpy(st->returns, saved, len * sizeof *saved);
    *st = kept;
    book->heap.size = 0;
    sim_agents_handle(book, &poll);
    sim_msg next = {0}, order = {0};
    CHECK(queued(book, slot, MSG_POLL, &next) == 1);
    delay[i] = next.time - book->now - 1;
    if (queued(book, slot, MSG_PLACE_LIMIT, &order) == 1) {
      CHECK(order.time == book->now + order.aux);
      opl[(*n_opl)++] = order.aux;
    }
  }
  free(saved);
  taos_sim_destroy(sim);
}

/* ALGO child orders (execution) and the market-feed latency before each next wake-up (ack). */
static void algo_draws(uint64_t *mfl, uint64_t *opl, long n) {
  taos_sim *sim = create_with(CHANGES({"algo_count", 1}, {"seed", 404}));
  sim_book *book = empty_book(sim);
  rest(book, 1, 30010, 5000000);
  uint32_t slot = sim->local_base + sim->off_algo;
  sim_msg wake = {.time = book->now, .kind = MSG_ALGO_WAKEUP, .slot = slot};
  sim_msg ack = {.time = book->now, .kind = MSG_ACK, .slot = slot, .a = 1, .volume = 1};
  for (long i = 0; i < n; i++) {
    sim_algo_book *ab = &book->algo[0];
    ab->status = 2;
    ab->dir = 0;
    ab->to_execute = 1e6;
    ab->last_price = 300;
    book->heap.size = 0;
    sim_agents_handle(book, &wake);
    sim_msg order = {0}, next = {0};
    CHECK(queued(book, slot, MSG_PLACE_MARKET, &order) == 1);
    opl[i] = order.aux;
    book->heap.size = 0;
    sim_agents_handle(book, &ack);
    CHECK(queued(book, slot, MSG_ALGO_WAKEUP, &next) == 1);
    mfl[i] = next.time - book->now;
  }
  taos_sim_destroy(sim);
}

/* ---------------- 3. market-feed latency (spec 4.0) ---------------- */
/* min(|X|, m + 3 s), X ~ N(m, s), floored to ns: P(|X| > t) = Q((t - m)/s) + Q((t + m)/s), so
 * E = int_0^c P(|X| > t) dt and E^2 = int_0^c 2 t P(|X| > t) dt (Simpson); the cap is reached
 * with probability P(|X| >= c). */
static void check_feed_latency(const char *who, const uint64_t *lat, long n, double m, double s) {
  double cap = m + 3 * s;
  if (verbose) printf("%s market-feed latency (%ld draws, N(%.4g, %.4g)):\n", who, n, m, s);
  long above = 0, at_cap = 0, below = 0;
  double t0 = m > 2 * s ? m - s : 0.4 * m, sum = 0;
  for (long i = 0; i < n; i++) {
    double l = (double)lat[i];
    above += l > cap;
    at_cap += l == floor(cap);
    below += l < t0;
    sum += l;
  }
  CHECK(above == 0);
  const int steps = 20000;
  double e1 = 0, e2 = 0, h = cap / steps;
  for (int i = 0; i <= steps; i++) {
    double t = i * h, w = (i == 0 || i == steps) ? 1 : (i % 2 ? 4 : 2);
    double tail = upper((t - m) / s) + upper((t + m) / s);
    e1 += w * tail;
    e2 += w * 2 * t * tail;
  }
  e1 *= h / 3;
  e2 *= h / 3;
  CHECK(fraction_near("fraction at the cap m + 3s", at_cap, n, upper(3) + upper((cap + m) / s)));
  /* P(|X| < t0) = P(-t0 < X < t0) */
  CHECK(fraction_near("fraction below t0 (folded normal)", below, n,
                      upper((-t0 - m) / s) - upper((t0 - m) / s)));
  CHECK(near("mean latency (ns)", sum / (double)n, e1 - 0.5, sqrt((e2 - e1 * e1) / (double)n)));
}

static void test_latencies(void) {
  enum { N = 200000 };
  uint64_t *mfl = malloc(N * sizeof *mfl), *opl = malloc(N * sizeof *opl);
  long got;

  got = hft_latencies(opl, N);
  CHECK(got == N);
  check_rayleigh("HFT", opl, got, 1e6, 50e6, 0.235, 0.235);

  /* the reference's Stylized/Futures variant: 90 .. 268.7 ms (spec 4.0) */
  CHECK(fabs(90e6 + 0.2 / 0.235 * 210e6 - 268.7e6) < 0.05e6);
  futures_draws(1, 1e9, 50e6, mfl, opl, N, &got);
  CHECK(got > N * 0.99);
  check_rayleigh("Futures (reference dynamics)", opl, got, 90e6, 300e6, 0.235, 0.2);
  check_feed_latency("Futures (production)", mfl, N, 1e9, 50e6);
  /* without the reference's mix of scales the same Rayleigh law covers 90 .. 300 ms; the feed
   * latency with std = mean folds and caps often */
  futures_draws(0, 50e6, 50e6, mfl, opl, N, &got);
  CHECK(got > N * 0.99);
  check_rayleigh("Futures", opl, got, 90e6, 300e6, 0.235, 0.235);
  check_feed_latency("Futures (mean 50 ms, std 50 ms)", mfl, N, 50e6, 50e6);

  enum { NS = 200000 }; /* about 8 % (reference) and 24 % of the polls decide */
  stylized_draws(1, mfl, opl, NS, &got);
  CHECK(got > NS / 20);
  check_rayleigh("Stylized (reference dynamics)", opl, got, 90e6, 300e6, 0.235, 0.2);
  {
    /* next-poll delay: |N(250 ms, 50 ms)| + |N(10 s, 2 s)| ~ N(10.25 s, 2.0006 s) (each normal
     * is 5 stds away from 0), capped at 16.4 s: E min(S, c) = m - s (phi(z) - z Q(z)) */
    double m = 10.25e9, s = sqrt(50e6 * 50e6 + 2e9 * 2e9), cap = 10.25e9 + 3 * 2.05e9;
    double z = (cap - m) / s, phi = exp(-0.5 * z * z) / sqrt(2 * PI);
    long above = 0, at_cap = 0;
    double sum = 0;
    for (long i = 0; i < NS; i++) {
      above += (double)mfl[i] > cap;
      at_cap += (double)mfl[i] == cap;
      sum += (double)mfl[i];
    }
    if (verbose) printf("Stylized next-poll delay (%d draws):\n", NS);
    CHECK(above == 0);
    CHECK(fraction_near("fraction at the cap", at_cap, NS, upper(z)));
    CHECK(near("mean delay (ns)", sum / NS, m - s * (phi - z * upper(z)) - 0.5, s / sqrt(NS)));
  }
  stylized_draws(0, mfl, opl, NS, &got);
  CHECK(got > NS / 20);
  check_rayleigh("Stylized", opl, got, 90e6, 300e6, 0.235, 0.235);

  /* ALGO: Rayleigh with q = s, as the reference's ALGOTraderAgent draws it (the spec's 2.4 says
   * uniform, its 4.0 Rayleigh; the code settles it) */
  algo_draws(mfl, opl, N);
  check_rayleigh("ALGO", opl, N, 1e6, 50e6, 0.235, 0.235);
  check_feed_latency("ALGO (production)", mfl, N, 1.5e9, 0.25e9);
  free(mfl);
  free(opl);
}

/* ---------------- 4. Pareto balances (spec 4.0 'Balances') ---------------- */
/* r = scale (1 - u)^(-1/shape) >= scale: P(r > t) = (scale / t)^shape; base = W / (P (1 + r)),
 * quote = W r / (1 + r) (pareto-50: swapped with probability 1/2), so base P + quote = W and r
 * is recovered from the quote alone. E[r / (1 + r)] (bounded) is integrated over u; E[r] =
 * shape scale / (shape - 1) has a finite variance scale^2 shape / ((shape - 1)^2 (shape - 2))
 * only for shape > 2, so the sample mean of r is checked there only. */
static void check_pareto(const char *who, const sim_config *cfg, const sim_balances_cfg *bal,
                         const sim_account *accounts, long n) {
  double scale = bal->a, shape = bal->b, wealth = bal->c, price = bal->d;
  double base_unit = pow(10.0, -cfg->base_dp), quote_unit = pow(10.0, -cfg->quote_dp);
  if (verbose) {
    printf("%s balances (%ld draws, scale %g, shape %g, wealth %g, price %g):\n", who, n, scale,
           shape, wealth, price);
  }
  const double thresholds[4] = {1.25, 2, 5, 20};
  long bad_total = 0, swapped = 0, tails[4] = {0};
  double min_r = INFINITY, sum_share = 0, sum_r = 0;
  for (long i = 0; i < n; i++) {
    double base = (double)accounts[i].base_free * base_unit;
    double quote = (double)accounts[i].quote_free * quote_unit;
    double total = base * price + quote;
    bad_total += total > wealth * (1 + 1e-12) ||
                 total < wealth * (1 - 1e-12) - base_unit * price - quote_unit;
    double share = quote / wealth;
    bool swap = share < 0.5;
    swapped += swap;
    double big = swap ? 1 - share : share; /* r / (1 + r) */
    double r = big / (1 - big);
    min_r = r < min_r ? r : min_r;
    for (int j = 0; j < 4; j++) tails[j] += r > thresholds[j] * scale;
    sum_share += big;
    sum_r += r;
  }
  CHECK(bad_total == 0); /* base P + quote = W (up to the rounding to decimals) */
  show("smallest r (>= scale)", min_r);
  CHECK(min_r >= scale * (1 - 1e-9));
  CHECK(fraction_near("fraction swapped (quote share < 1/2)", swapped, n,
                      bal->kind == 2 ? 0.5 : 0.0));
  for (int j = 0; j < 4; j++) {
    double p = pow(1.0 / thresholds[j], shape);
    if ((double)n * p < 100) continue; /* too few expected for a normal bound */
    char what[64];
    snprintf(what, sizeof what, "P(r > %g scale)", thresholds[j]);
    CHECK(fraction_near(what, tails[j], n, p));
  }
  const int steps = 1000000;
  double g1 = 0, g2 = 0;
  for (int i = 0; i < steps; i++) {
    double u = (i + 0.5) / steps, r = scale * pow(1 - u, -1 / shape), g = r / (1 + r);
    g1 += g / steps;
    g2 += g * g / steps;
  }
  CHECK(near("mean of r / (1 + r)", sum_share / (double)n, g1, sqrt((g2 - g1 * g1) / (double)n)));
  if (shape > 2) {
    double mean = shape * scale / (shape - 1);
    double var = scale * scale * shape / ((shape - 1) * (shape - 1) * (shape - 2));
    CHECK(near("mean of r", sum_r / (double)n, mean, sqrt(var / (double)n)));
  }
}

static void test_pareto_balances(void) {
  enum { N = 200000, REMOTE = 10000, BOOKS = 5 };
  taos_sim *sim = create_with(CHANGES(
      {"seed", 505}, {"books", BOOKS}, {"remote_agents", REMOTE},
      /* 10 000 accounts of up to 100 000 quote fit a book's 2^62 units at 8 quote decimals */
      {"quote_decimals", 8},
      /* miners (production): pareto, scale 1, shape 2, wealth 100 000, price 300 */
      {"remote_bal_kind", 1}, {"remote_bal_a", 1}, {"remote_bal_b", 2}, {"remote_bal_c", 100000},
      {"remote_bal_d", 300},
      /* stylized traders keep the production pareto-50 (1, 1.66, 60 000, 300); HFT gets a pareto
       * with scale 1.5 and shape 4, whose draws have a finite variance */
      {"hft_bal_kind", 1}, {"hft_bal_a", 1.5}, {"hft_bal_b", 4}, {"hft_bal_c", 150000},
      {"hft_bal_d", 300}));
  const sim_config *cfg = &sim->cfg;
  sim_account *accounts = malloc(N * sizeof *accounts);

  /* miners: one draw per account and book, as the books hold them */
  long n = 0;
  for (uint32_t b = 0; b < BOOKS; b++) {
    for (uint32_t slot = 0; slot < REMOTE; slot++) {
      sim_initial_account(sim, b, slot, &accounts[n]);
      int64_t held[TAOS_SIM_BALANCE_VALUES];
      CHECK(taos_sim_balances(sim, (int32_t)slot, b, held) == TAOS_SIM_OK);
      CHECK(held[2] == accounts[n].base_free && held[5] == accounts[n].quote_free);
      n++;
    }
  }
  check_pareto("miner (pareto)", cfg, &cfg->remote_bal, accounts, n);

  /* background agents: one draw per agent (sim_local_balances, as at creation) */
  for (long i = 0; i < N; i++) sim_local_balances(cfg, &cfg->sty_bal, (uint32_t)i, &accounts[i]);
  check_pareto("stylized (pareto-50)", cfg, &cfg->sty_bal, accounts, N);
  for (long i = 0; i < N; i++) sim_local_balances(cfg, &cfg->hft_bal, (uint32_t)i, &accounts[i]);
  check_pareto("pareto scale 1.5 shape 4", cfg, &cfg->hft_bal, accounts, N);
  free(accounts);
  taos_sim_destroy(sim);
}

int main(void) {
  verbose = getenv("TAOS_TEST_VERBOSE") != NULL;
  test_fundamental_increments();
  test_latencies();
  test_pareto_balances();
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  return 0;
}
