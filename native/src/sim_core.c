/* The simulation driver: decodes the configuration, builds the books and agents, runs each book's
 * discrete-event loop up to the next publish instant on a pool of threads, updates the stochastic
 * processes on their grid, and takes remote instructions between steps.
 *
 * Books are independent realizations (own queue, own streams, own agent state), so running them on
 * any number of threads gives bit-identical results. */
#define _POSIX_C_SOURCE 200809L
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_internal.h"

#define NS_PER_DAY 86400e9

_Static_assert(sizeof(taos_sim_event) == 80, "taos_sim_event layout");
_Static_assert(sizeof(taos_sim_instruction) == 56, "taos_sim_instruction layout");
_Static_assert(sizeof(taos_sim_order) == 48, "taos_sim_order layout");

static const char *const param_names[] = {
#define TAOS_SIM_PARAM_NAME(name) #name,
    TAOS_SIM_PARAMS(TAOS_SIM_PARAM_NAME)
#undef TAOS_SIM_PARAM_NAME
};

const char *taos_sim_param_name(uint32_t index) {
  return index < TAOS_SIM_PARAM_COUNT ? param_names[index] : NULL;
}

uint32_t taos_sim_param_count(void) { return TAOS_SIM_PARAM_COUNT; }

/* ---------------- configuration ---------------- */
static int fail(char *err, size_t err_len, const char *message, const char *field) {
  if (err && err_len) snprintf(err, err_len, "%s: %s", field, message);
  return TAOS_SIM_ERR_CONFIG;
}

/* The bounds of one parameter, as the configuration loader's, checked before any value is
 * converted (a double out of an integer type's range does not convert). */
enum {
  B_INT = 1,   /* a whole number */
  B_ABOVE = 2, /* lo itself excluded */
  B_BELOW = 4, /* hi itself excluded */
  B_TIME = 8,  /* ns; a time past SIM_CLOCK_MAX is past the end of any run: it is clamped there */
};

typedef struct {
  int16_t param;
  int8_t group; /* -1: always; else checked only when that background group (init, sty, hft, algo,
                   fut) has agents, as its parameters are unused otherwise */
  uint8_t flags;
  double lo, hi;
} sim_bound;

#define B(name, group, flags, lo, hi) {TAOS_SIM_P_##name, group, flags, lo, hi}
#define BIG HUGE_VAL
static const sim_bound bounds[] = {
    B(seed, -1, B_INT | B_BELOW, 0, 18446744073709551616.0),
    B(start, -1, 0, 0, SIM_CLOCK_MAX),
    B(duration, -1, B_ABOVE, 0, SIM_CLOCK_MAX),
    B(step, -1, B_TIME | B_ABOVE, 0, BIG),
    B(grace_period, -1, B_TIME, 0, BIG),
    B(books, -1, B_INT, 1, 4096),
    B(threads, -1, B_INT, 0, 1024),
    B(remote_agents, -1, B_INT, 0, 65536),
    B(price_decimals, -1, B_INT, 0, 8),
    B(volume_decimals, -1, B_INT, 0, 8),
    B(base_decimals, -1, B_INT, 0, 12),
    B(quote_decimals, -1, B_INT, 0, 12),
    B(initial_price, -1, B_ABOVE, 0, BIG),
    B(max_leverage, -1, 0, 0, 100),
    B(max_loan, -1, B_BELOW, 0, 1e8),
    B(maintenance_margin, -1, 0, 0, 0.5),
    B(fee_history_slots, -1, B_INT, 1, 1000),
    B(fee_slot_period, -1, B_TIME, 1, BIG),
    B(fee_tier_count, -1, B_INT, 1, 8),
    B(update_period, -1, B_TIME, 1, BIG),
    B(fund_seed_interval, -1, B_TIME, 0, BIG),
    /* a day's drift and deviation, a jump's, a sample's: within e^10, past which exp() of one
     * update soon overflows (or underflows: drift and jump mean may be negative) */
    B(fund_mu, -1, 0, -10, 10),
    B(fund_sigma, -1, 0, 0, 4),
    B(fund_lambda, -1, 0, 0, 1),
    B(fund_mu_jump, -1, 0, -10, 10),
    B(fund_sigma_jump, -1, 0, 0, 10),
    B(ext_seed_interval, -1, B_TIME, 0, BIG),
    B(ext_sample_interval, -1, B_TIME, 1, BIG),
    B(ext_sigma, -1, 0, 0, 10),
    B(remote_bal_kind, -1, B_INT, 0, 2),
    B(init_bal_kind, -1, B_INT, 0, 2),
    B(sty_bal_kind, -1, B_INT, 0, 2),
    B(hft_bal_kind, -1, B_INT, 0, 2),
    B(algo_bal_kind, -1, B_INT, 0, 2),
    B(fut_bal_kind, -1, B_INT, 0, 2),
    B(init_count, -1, B_INT, 0, 100000),
    B(sty_count, -1, B_INT, 0, 100000),
    B(hft_count, -1, B_INT, 0, 100000),
    B(algo_count, -1, B_INT, 0, 100000),
    B(fut_count, -1, B_INT, 0, 100000),
    B(init_fee_tier_count, -1, B_INT, 0, TAOS_SIM_GROUP_FEE_TIERS),
    B(sty_fee_tier_count, -1, B_INT, 0, TAOS_SIM_GROUP_FEE_TIERS),
    B(hft_fee_tier_count, -1, B_INT, 0, TAOS_SIM_GROUP_FEE_TIERS),
    B(algo_fee_tier_count, -1, B_INT, 0, TAOS_SIM_GROUP_FEE_TIERS),
    B(fut_fee_tier_count, -1, B_INT, 0, TAOS_SIM_GROUP_FEE_TIERS),
    B(init_tau, 0, B_TIME | B_ABOVE, 0, BIG),
    B(sty_mfl_mean, 1, B_TIME | B_ABOVE, 0, BIG),
    B(sty_mfl_std, 1, B_TIME, 0, BIG),
    B(sty_min_opl, 1, B_TIME | B_ABOVE, 0, BIG),
    B(sty_max_opl, 1, B_TIME | B_ABOVE, 0, BIG),
    B(sty_ray, 1, B_ABOVE, 0, BIG),
    B(sty_delay_mean, 1, B_TIME | B_ABOVE, 0, BIG),
    B(sty_delay_std, 1, B_TIME, 0, BIG),
    B(sty_scale_r, 1, B_ABOVE, 0, BIG),
    B(sty_sigma_f, 1, 0, 0, 1000), /* weights past these overflow */
    B(sty_sigma_c, 1, 0, 0, 1000),
    B(sty_sigma_n, 1, 0, 0, 1000),
    B(sty_tau, 1, B_TIME | B_ABOVE, 0, BIG),
    B(sty_tau_hist, 1, B_INT, 1, BIG),
    B(sty_tau_f, 1, B_ABOVE, 0, BIG),
    B(sty_sigma_eps, 1, 0, 0, BIG),
    B(sty_r_aversion, 1, B_ABOVE, 0, BIG),
    B(sty_regime_prob, 1, 0, 0, 1),
    B(sty_tau_f_regime, 1, B_ABOVE, 0, BIG),
    B(sty_po_alpha, 1, B_BELOW, 0, 1),
    B(sty_gbm_x0, 1, B_ABOVE, 0, BIG),
    B(sty_gbm_mu, 1, 0, 0, BIG),
    B(sty_gbm_sigma, 1, 0, 0, BIG),
    B(hft_min_mfl, 2, B_TIME | B_ABOVE, 0, BIG),
    B(hft_min_opl, 2, B_TIME | B_ABOVE, 0, BIG),
    B(hft_max_opl, 2, B_TIME | B_ABOVE, 0, BIG),
    B(hft_ray, 2, B_ABOVE, 0, BIG),
    B(hft_tau, 2, B_ABOVE, 0, BIG),
    B(hft_delta, 2, B_TIME | B_ABOVE, 0, BIG),
    B(hft_psi, 2, B_ABOVE, 0, BIG),
    B(hft_gamma, 2, B_ABOVE, 0, BIG),
    B(hft_kappa, 2, B_ABOVE, 0, BIG),
    B(hft_spread, 2, 0, 0, BIG),
    B(hft_noise_ray, 2, 0, 0, BIG),
    B(hft_shift_pct, 2, B_BELOW, 0, 1),
    B(hft_sigma_sqr, 2, 0, 0, BIG),
    B(algo_wakeup_prob, 3, 0, 0, 1),
    B(algo_volume_prop, 3, 0, 0, BIG),
    B(algo_mfl_mean, 3, B_TIME | B_ABOVE, 0, BIG),
    B(algo_mfl_std, 3, B_TIME, 0, BIG),
    B(algo_vbs, 3, B_ABOVE, 0, BIG),
    B(algo_min_opl, 3, B_TIME | B_ABOVE, 0, BIG),
    B(algo_max_opl, 3, B_TIME | B_ABOVE, 0, BIG),
    B(algo_ray, 3, B_ABOVE, 0, BIG),
    B(fut_mfl_mean, 4, B_TIME | B_ABOVE, 0, BIG),
    B(fut_mfl_std, 4, B_TIME, 0, BIG),
    B(fut_min_opl, 4, B_TIME | B_ABOVE, 0, BIG),
    B(fut_max_opl, 4, B_TIME | B_ABOVE, 0, BIG),
    B(fut_ray, 4, B_ABOVE, 0, BIG),
    B(fut_scale_r, 4, B_ABOVE, 0, BIG),
    B(fut_volume, 4, B_ABOVE, 0, BIG),
    B(fut_lambda, 4, 0, 0, BIG),
    B(fut_sigma_eps, 4, B_ABOVE, 0, BIG),
};
#undef B

/* Checks one bound; on failure writes the rule into err. */
static int check_bound(const sim_bound *b, double v, char *err, size_t err_len) {
  const char *name = param_names[b->param];
  if ((b->flags & B_INT) && v != floor(v)) {
    return fail(err, err_len, "must be a whole number", name);
  }
  bool low = (b->flags & B_ABOVE) ? !(v > b->lo) : !(v >= b->lo);
  bool high = (b->flags & B_BELOW) ? !(v < b->hi) : !(v <= b->hi);
  if (!low && !high) return TAOS_SIM_OK;
  char rule[96];
  if (b->hi == BIG) {
    if (b->lo == 0) {
      snprintf(rule, sizeof rule, "%s",
               (b->flags & B_ABOVE) ? "must be positive" : "must not be negative");
    } else {
      snprintf(rule, sizeof rule, "must be at least %.17g", b->lo);
    }
  } else {
    snprintf(rule, sizeof rule, "must be %s %.17g and %s %.17g",
             (b->flags & B_ABOVE) ? "above" : "at least", b->lo,
             (b->flags & B_BELOW) ? "below" : "at most", b->hi);
  }
  return fail(err, err_len, rule, name);
}

/* Most of each asset one account of a template can get (a Pareto draw splits `wealth`). */
static void most_of(const sim_balances_cfg *bal, double *base, double *quote) {
  *base = bal->kind == 0 ? bal->a : bal->c / bal->d;
  *quote = bal->kind == 0 ? bal->b : bal->c;
}

static int decode_balances(const double *p, int first, sim_balances_cfg *out, char *err,
                           size_t err_len) {
  out->kind = (int)p[first]; /* a whole number in 0..2 (bounds) */
  out->a = p[first + 1];
  out->b = p[first + 2];
  out->c = p[first + 3];
  out->d = p[first + 4];
  if (out->kind == 0) {
    if (!(out->a >= 0)) {
      return fail(err, err_len, "fixed base must not be negative", param_names[first + 1]);
    }
    if (!(out->b >= 0)) {
      return fail(err, err_len, "fixed quote must not be negative", param_names[first + 2]);
    }
    return TAOS_SIM_OK;
  }
  static const char *const what[4] = {
      "pareto scale must be positive", "pareto shape must be at least 1 (below, draws overflow)",
      "pareto wealth must be positive", "pareto price must be positive"};
  for (int i = 0; i < 4; i++) {
    double v = p[first + 1 + i];
    if (!(i == 1 ? v >= 1 : v > 0)) return fail(err, err_len, what[i], param_names[first + 1 + i]);
  }
  /* A draw is scale * (1 - u)^(-1/shape) with 1 - u >= 2^-53 and shape >= 1, so at most
   * scale * 2^53, and wealth times it must stay finite (else a balance is inf / inf). */
  if (!(out->a * 0x1p53 * out->c < DBL_MAX)) {
    return fail(err, err_len, "pareto scale too large: scale * 2^53 * wealth overflows a double",
                param_names[first + 1]);
  }
  return TAOS_SIM_OK;
}

/* Checks `count` fee tiers (volume, maker, taker from `first` on): rates inside (-1, 1), volumes
 * non-negative, strictly increasing and within the core's 2^62 quote units; and converts them into
 * the exchange's units. */
static int decode_tiers(const double *p, int first, uint32_t count, int quote_dp,
                        tx_fee_tier *tiers, char *err, size_t err_len) {
  double unit = pow(10.0, quote_dp), max_volume = ldexp(1.0, 62) / unit;
  for (uint32_t i = 0; i < count; i++) {
    int base = first + 3 * (int)i;
    long long rate_e9[2];
    for (int r = 0; r < 2; r++) {
      /* The exchange takes rates in 10^-9, rounded: 0.9999999999 would become 1. A rate outside
       * (-1, 1) is not rounded: it could overflow the rounding. */
      double rate = p[base + 1 + r];
      rate_e9[r] = fabs(rate) < 1 ? llround(rate * 1e9) : 1000000000;
      if (llabs(rate_e9[r]) >= 1000000000) {
        return fail(err, err_len, "fee rates must lie strictly inside (-1, 1) at 9 decimals",
                    param_names[base + 1 + r]);
      }
    }
    if (!(p[base] >= 0 && p[base] <= max_volume)) {
      return fail(err, err_len, "must be between 0 and 2^62 quote units", param_names[base]);
    }
    tiers[i] = (tx_fee_tier){.volume_required = sim_units(p[base], quote_dp),
                             .maker_e9 = rate_e9[0],
                             .taker_e9 = rate_e9[1]};
    /* The first tier applies below the second whatever its own volume, as the exchange's. The
     * exchange compares thresholds in whole quote units (as the book's setup converts them): 0
     * and 1e-300 are distinct volumes but one threshold. */
    if (i > 0 && !(tiers[i].volume_required > tiers[i - 1].volume_required)) {
      return fail(err, err_len, "tier volumes must increase by at least one quote unit",
                  param_names[base]);
    }
  }
  return TAOS_SIM_OK;
}

static int decode(const double *params, uint32_t count, sim_config *cfg, char *err,
                  size_t err_len) {
  if (params == NULL || count != TAOS_SIM_PARAM_COUNT) {
    return fail(err, err_len, "wrong parameter count", "params");
  }
  memset(cfg, 0, sizeof *cfg);
  for (uint32_t i = 0; i < count; i++) {
    if (!isfinite(params[i])) return fail(err, err_len, "must be a finite number", param_names[i]);
    cfg->p[i] = params[i];
  }
  double *p = cfg->p;
  static const int counts[] = {TAOS_SIM_P_init_count, TAOS_SIM_P_sty_count, TAOS_SIM_P_hft_count,
                               TAOS_SIM_P_algo_count, TAOS_SIM_P_fut_count};
  for (size_t i = 0; i < sizeof bounds / sizeof *bounds; i++) {
    const sim_bound *b = &bounds[i];
    /* the counts come before their groups' parameters in the table */
    if (b->group >= 0 && !(p[counts[b->group]] > 0)) continue;
    int rc = check_bound(b, p[b->param], err, err_len);
    if (rc) return rc;
    if ((b->flags & B_TIME) && p[b->param] > SIM_CLOCK_MAX) p[b->param] = SIM_CLOCK_MAX;
  }
  if (P(cfg, start) + P(cfg, duration) > SIM_CLOCK_MAX) {
    return fail(err, err_len, "start plus duration must end within 2^62 ns", "duration");
  }
  cfg->seed = (uint64_t)P(cfg, seed);
  cfg->start = (uint64_t)P(cfg, start);
  cfg->duration = (uint64_t)P(cfg, duration);
  cfg->step = (uint64_t)P(cfg, step);
  cfg->grace = (uint64_t)P(cfg, grace_period);
  if (cfg->duration == 0) return fail(err, err_len, "must be at least 1 ns", "duration");
  if (cfg->step == 0) return fail(err, err_len, "must be at least 1 ns", "step");
  cfg->books = (uint32_t)P(cfg, books);
  cfg->remote = (uint32_t)P(cfg, remote_agents);
  cfg->threads = (uint32_t)P(cfg, threads);
  cfg->reference = P(cfg, reference_dynamics) != 0;
  cfg->price_dp = (int)P(cfg, price_decimals);
  cfg->volume_dp = (int)P(cfg, volume_decimals);
  cfg->base_dp = (int)P(cfg, base_decimals);
  cfg->quote_dp = (int)P(cfg, quote_decimals);
  if (cfg->base_dp < cfg->volume_dp) {
    return fail(err, err_len, "must be between volume_decimals and 12", "base_decimals");
  }
  /* Fewer quote decimals than price and volume together is allowed, as in the reference: the
   * exchange truncates notionals and fees to the quote unit. */
  double leverage = P(cfg, max_leverage);
  if (!(P(cfg, maintenance_margin) <= 1.0 / (2.0 * (1.0 + leverage)))) {
    return fail(err, err_len, "must be between 0 and 1/(2(1+max_leverage))", "maintenance_margin");
  }
  cfg->tick = pow(10.0, -cfg->price_dp);
  cfg->lot = pow(10.0, -cfg->volume_dp);
  if (!(P(cfg, initial_price) > cfg->tick * 2 && P(cfg, initial_price) * 4 / cfg->tick < 4e6)) {
    return fail(err, err_len, "must be above two ticks and below 1e6 ticks", "initial_price");
  }
  cfg->fee_slots = (uint32_t)P(cfg, fee_history_slots);
  cfg->fee_period = (uint64_t)P(cfg, fee_slot_period);
  cfg->fee_tiers = (uint32_t)P(cfg, fee_tier_count);
  int rc = decode_tiers(p, TAOS_SIM_P_fee_volume_0, cfg->fee_tiers, cfg->quote_dp, cfg->fee_tier,
                        err, err_len);
  if (rc) return rc;
  static const int group_fees[] = {TAOS_SIM_P_init_fee_tier_count, TAOS_SIM_P_sty_fee_tier_count,
                                   TAOS_SIM_P_hft_fee_tier_count, TAOS_SIM_P_algo_fee_tier_count,
                                   TAOS_SIM_P_fut_fee_tier_count};
  for (int g = 0; g < 5; g++) {
    cfg->group_fee_tiers[g] = (uint32_t)p[group_fees[g]];
    rc = decode_tiers(p, group_fees[g] + 1, cfg->group_fee_tiers[g], cfg->quote_dp,
                      cfg->group_fee_tier[g], err, err_len);
    if (rc) return rc;
  }
  static const int templates[] = {TAOS_SIM_P_remote_bal_kind, TAOS_SIM_P_init_bal_kind,
                                  TAOS_SIM_P_sty_bal_kind,    TAOS_SIM_P_hft_bal_kind,
                                  TAOS_SIM_P_algo_bal_kind,   TAOS_SIM_P_fut_bal_kind};
  sim_balances_cfg *bals[] = {&cfg->remote_bal, &cfg->init_bal, &cfg->sty_bal,
                              &cfg->hft_bal,    &cfg->algo_bal, &cfg->fut_bal};
  cfg->n_init = (uint32_t)P(cfg, init_count);
  cfg->n_sty = (uint32_t)P(cfg, sty_count);
  cfg->n_hft = (uint32_t)P(cfg, hft_count);
  cfg->n_algo = (uint32_t)P(cfg, algo_count);
  cfg->n_fut = (uint32_t)P(cfg, fut_count);
  const uint32_t members[] = {cfg->remote, cfg->n_init, cfg->n_sty, cfg->n_hft, cfg->n_algo,
                              cfg->n_fut};
  /* A book's accounts together must fit the core's 2^62 units of each asset, so that no trade
   * between them overflows a balance. */
  double held[2] = {0, 0}, largest[2] = {-1, -1};
  int largest_param[2] = {0, 0};
  for (int g = 0; g < 6; g++) {
    if ((rc = decode_balances(p, templates[g], bals[g], err, err_len))) return rc;
    double most[2];
    most_of(bals[g], &most[0], &most[1]);
    for (int asset = 0; asset < 2; asset++) {
      double units = members[g] * most[asset] * pow(10.0, asset ? cfg->quote_dp : cfg->base_dp);
      held[asset] += units;
      if (units > largest[asset]) {
        largest[asset] = units;
        /* the amount that sets it: fixed base or quote, or the Pareto wealth */
        largest_param[asset] = templates[g] + (bals[g]->kind == 0 ? 1 + asset : 3);
      }
    }
  }
  for (int asset = 0; asset < 2; asset++) {
    if (held[asset] > ldexp(1.0, 62)) {
      char message[160];
      snprintf(message, sizeof message,
               "the accounts of a book could hold %.6g %s units, more than the 2^62 that fit "
               "(this template's accounts hold the most)",
               held[asset], asset ? "quote" : "base");
      return fail(err, err_len, message, param_names[largest_param[asset]]);
    }
  }
  static const int latencies[] = {TAOS_SIM_P_sty_min_opl, TAOS_SIM_P_hft_min_opl,
                                  TAOS_SIM_P_algo_min_opl, TAOS_SIM_P_fut_min_opl};
  for (int g = 0; g < 4; g++) {
    /* the order-placement latency is drawn between the two bounds (the min_opl, max_opl pairs) */
    if (p[counts[g + 1]] > 0 && !(p[latencies[g]] < p[latencies[g] + 1])) {
      char message[96];
      snprintf(message, sizeof message, "must be less than %s", param_names[latencies[g] + 1]);
      return fail(err, err_len, message, param_names[latencies[g]]);
    }
  }
  double kind = P(cfg, algo_volume_kind), a = P(cfg, algo_volume_a), b = P(cfg, algo_volume_b);
  if (kind != TAOS_SIM_VOLUME_LOGNORMAL && kind != TAOS_SIM_VOLUME_DIRAC &&
      kind != TAOS_SIM_VOLUME_GAMMA) {
    return fail(err, err_len, "must be 0 (lognormal), 1 (dirac) or 2 (gamma)", "algo_volume_kind");
  }
  if (kind == TAOS_SIM_VOLUME_LOGNORMAL && !(b >= 0)) {
    return fail(err, err_len, "lognormal sigma must not be negative", "algo_volume_b");
  }
  if (kind != TAOS_SIM_VOLUME_LOGNORMAL && !(a > 0)) {
    return fail(err, err_len, "dirac loc and gamma shape must be positive", "algo_volume_a");
  }
  if (kind == TAOS_SIM_VOLUME_GAMMA && !(b > 0)) {
    return fail(err, err_len, "gamma scale must be positive", "algo_volume_b");
  }
  return TAOS_SIM_OK;
}

/* ---------------- stochastic processes ---------------- */
/* The fundamental price: GBM plus compound-Poisson log-jumps on the update grid. Each update
 * draws from a stream derived from (seed, book, update index) and, when a recorded feed is given,
 * the feed price of that update: reproducible offline, and following the feed's randomness when
 * one is supplied. */
static void update_fundamental(sim_book *book, uint64_t t) {
  const struct taos_sim *sim = book->sim;
  const sim_config *cfg = &sim->cfg;
  /* As the reference's, the first update also waits a whole seed interval from time 0. */
  if (t - book->fund_last_seed < (uint64_t)P(cfg, fund_seed_interval)) return;
  book->fund_last_seed = t;
  uint64_t k = ++book->fund_k;
  uint64_t seed = cfg->seed;
  double price = sim->live_fundamental;
  if (price == 0 && sim->feed_len[0]) {
    price = sim->feed[0][k - 1 < sim->feed_len[0] ? k - 1 : sim->feed_len[0] - 1];
  }
  if (price > 0) seed ^= (uint64_t)llround(price * 100.0) * 0x9E3779B97F4A7C15ull;
  sim_rng rng;
  sim_rng_seed(&rng, seed, book->id, k, SIM_RNG_FUNDAMENTAL);
  double dt = P(cfg, update_period) / NS_PER_DAY;
  double mu = P(cfg, fund_mu), sigma = P(cfg, fund_sigma);
  book->fund_w += sim_normal(&rng, 0, sqrt(dt));
  uint32_t jumps = sim_poisson(&rng, P(cfg, fund_lambda));
  double jump = sim_normal(&rng, P(cfg, fund_mu_jump), P(cfg, fund_sigma_jump));
  book->fund_j += jumps * jump;
  book->fund_value = P(cfg, initial_price) *
                     exp((mu - 0.5 * sigma * sigma) * (double)k * dt + sigma * book->fund_w +
                         book->fund_j);
}

/* The external (futures) signal: a new sample every sample interval, identical on every book
 * (the stream depends on the seed and sample index only), or the recorded feed's samples. */
static void update_external(sim_book *book, uint64_t t) {
  const struct taos_sim *sim = book->sim;
  const sim_config *cfg = &sim->cfg;
  if (t - book->ext_last_seed < (uint64_t)P(cfg, ext_seed_interval) && book->ext_count > 0) return;
  if (sim->external_live) {
    /* A live feed: its newest sample, whatever came before it, as the reference reads the newest
     * line of its sampled file; a simulation slower than the feed then skips samples instead of
     * falling behind it. */
    if (book->ext_count >= sim->feed_len[1]) return;
    book->ext_count = sim->feed_len[1];
    book->ext_value = sim->feed[1][book->ext_count - 1];
    book->ext_last_seed = t;
    return;
  }
  uint64_t due = (t - cfg->start) / (uint64_t)P(cfg, ext_sample_interval);
  if (due <= book->ext_count) return; /* no new observation: retry at the next update */
  while (book->ext_count < due) {
    uint64_t j = ++book->ext_count;
    if (sim->feed_on[1]) {
      if (j - 1 >= sim->feed_len[1]) { /* no sample yet, or the feed ran out: it stalls */
        book->ext_count = j - 1;
        return;
      }
      book->ext_value = sim->feed[1][j - 1];
    } else {
      sim_rng rng;
      sim_rng_seed(&rng, cfg->seed, SIM_NONE, j, SIM_RNG_EXTERNAL);
      book->ext_value *= exp(sim_normal(&rng, 0, P(cfg, ext_sigma)));
    }
  }
  book->ext_last_seed = t;
}

/* Updates the processes at every grid time k U with last_update < k U <= t. */
static void update_processes(sim_book *book, uint64_t t) {
  uint64_t period = (uint64_t)P(&book->sim->cfg, update_period);
  while (book->last_update + period <= t) {
    book->last_update += period;
    update_fundamental(book, book->last_update);
    update_external(book, book->last_update);
  }
}

/* ---------------- the event loop of one book ---------------- */
static void deliver(sim_book *book, const sim_msg *msg) {
  switch (msg->kind) {
  case MSG_PLACE_LIMIT: sim_place_limit(book, msg); break;
  case MSG_PLACE_MARKET: sim_place_market(book, msg); break;
  case MSG_CANCEL: sim_cancel(book, msg); break;
  default: sim_agents_handle(book, msg); break;
  }
}

/* Notes the step that just ended on the book: its message count, where its events end, the
 * processes and the first `depth` levels of each side. */
static void note_step(sim_book *book, uint32_t step, uint64_t messages, uint32_t depth) {
  if (step >= book->cap_marks) {
    size_t cap = book->cap_marks ? book->cap_marks * 2 : 16;
    sim_step_mark *marks = realloc(book->marks, cap * sizeof *marks);
    if (marks == NULL) {
      book->error = TAOS_SIM_ERR_MEMORY;
      return;
    }
    book->marks = marks;
    book->cap_marks = cap;
  }
  size_t per_step = 4 * (size_t)depth, need = ((size_t)step + 1) * per_step;
  if (need > book->cap_mark_levels) {
    size_t cap = need * 2;
    int64_t *levels = realloc(book->mark_levels, cap * sizeof *levels);
    if (levels == NULL) {
      book->error = TAOS_SIM_ERR_MEMORY;
      return;
    }
    book->mark_levels = levels;
    book->cap_mark_levels = cap;
  }
  sim_step_mark *mark = &book->marks[step];
  mark->time = book->now;
  mark->messages = messages;
  mark->events_end = book->n_events;
  mark->fundamental = book->fund_value;
  mark->external = book->ext_value;
  for (int side = 0; side < 2; side++) {
    int64_t none[1]; /* depth 0 keeps no levels, only their count */
    int64_t *at =
        depth ? book->mark_levels + ((size_t)step * 2 + (size_t)side) * 2 * depth : none;
    mark->levels[side] = (uint32_t)sim_book_levels(book, side, depth, at, depth ? at + depth : none);
  }
}

/* The end of the k-th publish step after `base` (k >= 1), or the end of the run if that comes
 * first. */
static uint64_t step_end(const sim_config *cfg, uint64_t base, uint64_t k) {
  uint64_t end = cfg->start + cfg->duration;
  return end - base > k * cfg->step ? base + k * cfg->step : end;
}

/* Runs a book through `steps` publish steps after `base`: every message arriving before each
 * step's end is processed in (arrival, insertion) order, then the step is noted. */
static void run_book(sim_book *book, uint64_t base, uint32_t steps, uint32_t depth) {
  const sim_config *cfg = &book->sim->cfg;
  if (book->kept_events) { /* drop what the previous publish carried, keep later injections */
    memmove(book->events, book->events + book->kept_events,
            (book->n_events - book->kept_events) * sizeof *book->events);
    book->n_events -= book->kept_events;
  }
  book->messages = 0;
  for (uint32_t k = 0; k < steps && !book->error; k++) {
    uint64_t cutoff = step_end(cfg, base, (uint64_t)k + 1);
    uint64_t messages = 0;
    while (book->heap.size > 0 && book->heap.items[0].time < cutoff && !book->error) {
      sim_msg msg;
      sim_heap_take(&book->heap, &msg);
      update_processes(book, msg.time);
      book->now = msg.time;
      deliver(book, &msg);
      sim_heap_settle(&book->heap);
      messages++;
    }
    update_processes(book, cutoff);
    book->now = cutoff;
    /* Fee rolls due by the publish instant; an expiry at the instant itself is a message of the
     * next step, as in the reference's loop. */
    sim_market_advance(book, true);
    book->messages += messages;
    note_step(book, k, messages, depth);
  }
  book->kept_events = book->n_events;
}

/* ---------------- thread pool ---------------- */
struct sim_pool {
  pthread_t *threads;
  uint32_t n_threads;
  pthread_mutex_t mutex;
  pthread_cond_t work, done;
  uint64_t generation;
  uint32_t next, finished;
  uint64_t base;        /* the steps of this run end at base + step, base + 2 step, ... */
  uint32_t steps, depth; /* how many, and the L2 levels noted at each */
  bool quit;
  taos_sim *sim;
};

/* Takes books until none is left; called with the mutex held, returns with it held. */
static void drain(struct sim_pool *pool) {
  taos_sim *sim = pool->sim;
  while (pool->next < sim->cfg.books) {
    uint32_t b = pool->next++;
    uint64_t base = pool->base;
    uint32_t steps = pool->steps, depth = pool->depth;
    pthread_mutex_unlock(&pool->mutex);
    run_book(&sim->books[b], base, steps, depth);
    pthread_mutex_lock(&pool->mutex);
    if (++pool->finished == sim->cfg.books) pthread_cond_broadcast(&pool->done);
  }
}

static void *worker(void *arg) {
  struct sim_pool *pool = arg;
  pthread_mutex_lock(&pool->mutex);
  uint64_t seen = pool->generation;
  for (;;) {
    while (!pool->quit && pool->generation == seen) pthread_cond_wait(&pool->work, &pool->mutex);
    if (pool->quit) break;
    seen = pool->generation;
    drain(pool);
  }
  pthread_mutex_unlock(&pool->mutex);
  return NULL;
}

static int pool_start(taos_sim *sim, uint32_t threads) {
  struct sim_pool *pool = calloc(1, sizeof *pool);
  if (pool == NULL) return TAOS_SIM_ERR_MEMORY;
  pool->sim = sim;
  pthread_mutex_init(&pool->mutex, NULL);
  pthread_cond_init(&pool->work, NULL);
  pthread_cond_init(&pool->done, NULL);
  sim->pool = pool;
  /* the calling thread works too */
  uint32_t extra = threads > 1 ? threads - 1 : 0;
  pool->threads = calloc(extra ? extra : 1, sizeof(pthread_t));
  if (pool->threads == NULL) return TAOS_SIM_ERR_MEMORY;
  for (uint32_t i = 0; i < extra; i++) {
    if (pthread_create(&pool->threads[i], NULL, worker, pool) != 0) break;
    pool->n_threads++;
  }
  return TAOS_SIM_OK;
}

static void pool_stop(struct sim_pool *pool) {
  if (pool == NULL) return;
  pthread_mutex_lock(&pool->mutex);
  pool->quit = true;
  pthread_cond_broadcast(&pool->work);
  pthread_mutex_unlock(&pool->mutex);
  for (uint32_t i = 0; i < pool->n_threads; i++) pthread_join(pool->threads[i], NULL);
  pthread_mutex_destroy(&pool->mutex);
  pthread_cond_destroy(&pool->work);
  pthread_cond_destroy(&pool->done);
  free(pool->threads);
  free(pool);
}

static void pool_run(struct sim_pool *pool, uint64_t base, uint32_t steps, uint32_t depth) {
  pthread_mutex_lock(&pool->mutex);
  pool->base = base;
  pool->steps = steps;
  pool->depth = depth;
  pool->next = 0;
  pool->finished = 0;
  pool->generation++;
  pthread_cond_broadcast(&pool->work);
  drain(pool);
  while (pool->finished < pool->sim->cfg.books) pthread_cond_wait(&pool->done, &pool->mutex);
  pthread_mutex_unlock(&pool->mutex);
}

/* ---------------- lifecycle ---------------- */
static void schedule_start(sim_book *book) {
  const struct taos_sim *sim = book->sim;
  const sim_config *cfg = &sim->cfg;
  uint64_t t0 = cfg->start;
  sim_msg start = {.time = t0, .kind = MSG_INIT_START, .slot = sim->local_base};
  if (cfg->n_init) sim_send(book, &start);
  /* first snapshots: HFT request at once (1 ns there and back), stylized traders subscribe first
   * (one more ns), futures traders subscribe, then ask with a one-second delay (1 s + 2 ns) */
  for (uint32_t k = 0; k < cfg->n_hft; k++) {
    sim_msg poll = {.time = t0 + 2, .kind = MSG_POLL, .slot = sim->local_base + sim->off_hft + k};
    sim_send(book, &poll);
  }
  for (uint32_t k = 0; k < cfg->n_sty; k++) {
    sim_msg poll = {.time = t0 + 3, .kind = MSG_POLL, .slot = sim->local_base + sim->off_sty + k};
    sim_send(book, &poll);
  }
  for (uint32_t k = 0; k < cfg->n_fut; k++) {
    sim_msg poll = {.time = t0 + 1000000002ull, .kind = MSG_POLL,
                    .slot = sim->local_base + sim->off_fut + k};
    sim_send(book, &poll);
  }
}

int taos_sim_create(const double *params, uint32_t param_count, taos_sim **out, char *err,
                    size_t err_len) {
  if (out == NULL) return TAOS_SIM_ERR_ARGUMENT;
  *out = NULL;
  taos_sim *sim = calloc(1, sizeof *sim);
  if (sim == NULL) return TAOS_SIM_ERR_MEMORY;
  int rc = decode(params, param_count, &sim->cfg, err, err_len);
  if (rc) {
    free(sim);
    return rc;
  }
  const sim_config *cfg = &sim->cfg;
  sim->off_init = 0;
  sim->off_sty = cfg->n_init;
  sim->off_hft = sim->off_sty + cfg->n_sty;
  sim->off_algo = sim->off_hft + cfg->n_hft;
  sim->off_fut = sim->off_algo + cfg->n_algo;
  uint32_t n_local = sim->off_fut + cfg->n_fut;
  sim->local_base = cfg->remote;
  sim->n_slots = cfg->remote + n_local;
  sim->now = cfg->start;
  sim->local_ids = malloc((n_local ? n_local : 1) * sizeof(int32_t));
  sim->local_start = calloc(n_local ? n_local : 1, sizeof(sim_account));
  sim->books = calloc(cfg->books, sizeof(sim_book));
  if (!sim->local_ids || !sim->local_start || !sim->books) goto oom;
  const sim_balances_cfg *templates[] = {&cfg->init_bal, &cfg->sty_bal, &cfg->hft_bal,
                                         &cfg->algo_bal, &cfg->fut_bal};
  const uint32_t offsets[] = {sim->off_init, sim->off_sty, sim->off_hft, sim->off_algo,
                              sim->off_fut, n_local};
  for (int g = 0; g < 5; g++) {
    for (uint32_t i = offsets[g]; i < offsets[g + 1]; i++) {
      sim->local_ids[i] = -1 - (int32_t)i;
      sim_local_balances(cfg, templates[g], i, &sim->local_start[i]);
    }
  }
  if ((rc = sim_agents_init(sim)) != TAOS_SIM_OK) goto fail_rc;
  for (uint32_t b = 0; b < cfg->books; b++) {
    sim_book *book = &sim->books[b];
    book->sim = sim;
    book->id = b;
    book->now = cfg->start;
    book->last_update = cfg->start;
    book->fund_value = book->ext_value = P(cfg, initial_price);
    if ((rc = sim_book_init(book, err, err_len)) != TAOS_SIM_OK) {
      if (rc == TAOS_SIM_ERR_CONFIG) goto fail_described;
      goto fail_rc;
    }
    if ((rc = sim_agents_book_init(book)) != TAOS_SIM_OK) goto fail_rc;
    schedule_start(book);
    if (book->error) goto oom;
  }
  uint32_t threads = cfg->threads;
  if (threads == 0) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    threads = cores > 0 ? (uint32_t)cores : 1;
  }
  if (threads > cfg->books) threads = cfg->books;
  if ((rc = pool_start(sim, threads)) != TAOS_SIM_OK) goto fail_rc;
  *out = sim;
  return TAOS_SIM_OK;
oom:
  rc = TAOS_SIM_ERR_MEMORY;
fail_rc:
  if (err && err_len) {
    snprintf(err, err_len, "%s",
             rc == TAOS_SIM_ERR_MEMORY
                 ? "not enough memory for this many books and agents"
                 : rc == TAOS_SIM_ERR_CONFIG
                       ? "the agents' parameters give no usable values (weights or draws out of range)"
                       : "simulation setup failed");
  }
fail_described:
  taos_sim_destroy(sim);
  return rc;
}

void taos_sim_destroy(taos_sim *sim) {
  if (sim == NULL) return;
  pool_stop(sim->pool);
  if (sim->books) {
    for (uint32_t b = 0; b < sim->cfg.books; b++) {
      if (sim->books[b].sim == NULL) continue;
      sim_agents_book_free(&sim->books[b]);
      sim_book_free(&sim->books[b]);
    }
  }
  free(sim->books);
  free(sim->local_ids);
  free(sim->local_start);
  free(sim->sty_params);
  free(sim->feed[0]);
  free(sim->feed[1]);
  free(sim);
}

static int append_feed(taos_sim *sim, int series, const double *prices, size_t count);

int taos_sim_set_feed(taos_sim *sim, int series, const double *prices, size_t count) {
  if (sim == NULL || series < 0 || series > 1) return TAOS_SIM_ERR_ARGUMENT;
  if (sim->now != sim->cfg.start) return TAOS_SIM_ERR_ARGUMENT; /* only before the first step */
  double *old = sim->feed[series];
  size_t old_len = sim->feed_len[series];
  bool old_on = sim->feed_on[series];
  sim->feed[series] = NULL;
  sim->feed_len[series] = 0;
  int rc = append_feed(sim, series, prices, count);
  if (rc != TAOS_SIM_OK) {
    sim->feed[series] = old;
    sim->feed_len[series] = old_len;
    sim->feed_on[series] = old_on;
    return rc;
  }
  free(old);
  if (series == 1) sim->external_live = false;
  return TAOS_SIM_OK;
}

int taos_sim_set_live_fundamental(taos_sim *sim, double price) {
  if (sim == NULL || !(price > 0) || !isfinite(price)) return TAOS_SIM_ERR_ARGUMENT;
  sim->live_fundamental = price;
  return TAOS_SIM_OK;
}

int taos_sim_extend_feed(taos_sim *sim, int series, const double *prices, size_t count) {
  int rc = append_feed(sim, series, prices, count);
  if (rc == TAOS_SIM_OK && series == 1) sim->external_live = true;
  return rc;
}

static int append_feed(taos_sim *sim, int series, const double *prices, size_t count) {
  if (sim == NULL || series < 0 || series > 1 || (count && prices == NULL)) {
    return TAOS_SIM_ERR_ARGUMENT;
  }
  for (size_t i = 0; i < count; i++) {
    if (!(prices[i] > 0) || !isfinite(prices[i])) return TAOS_SIM_ERR_ARGUMENT;
  }
  sim->feed_on[series] = true;
  if (count == 0) return TAOS_SIM_OK;
  size_t len = sim->feed_len[series];
  if (count > SIZE_MAX / sizeof(double) - len) return TAOS_SIM_ERR_MEMORY;
  double *grown = realloc(sim->feed[series], (len + count) * sizeof *grown);
  if (grown == NULL) return TAOS_SIM_ERR_MEMORY;
  memcpy(grown + len, prices, count * sizeof *grown);
  sim->feed[series] = grown;
  sim->feed_len[series] = len + count;
  return TAOS_SIM_OK;
}

/* Has no remote account a resting order or an instruction in flight on any book? Then nothing
 * remote can change between publish instants, and steps may run in windows. */
static bool remote_idle(const taos_sim *sim) {
  for (uint32_t b = 0; b < sim->cfg.books; b++) {
    const sim_book *book = &sim->books[b];
    for (size_t i = 0; i < book->heap.size; i++) {
      if (book->heap.items[i].slot < sim->local_base) return false;
    }
    for (uint32_t agent = 0; agent < sim->cfg.remote; agent++) {
      if (sim_book_account_orders(book, agent, NULL, 0) > 0) return false;
    }
  }
  return true;
}

int taos_sim_advance_steps(taos_sim *sim, uint32_t max_steps, uint32_t depth, uint64_t *now_ns,
                           uint64_t *events) {
  if (sim == NULL || max_steps == 0 || depth > TAOS_SIM_MAX_STEP_DEPTH) {
    return TAOS_SIM_ERR_ARGUMENT;
  }
  if (sim->ended) return TAOS_SIM_ERR_ENDED;
  const sim_config *cfg = &sim->cfg;
  uint64_t end = cfg->start + cfg->duration;
  uint64_t left = (end - sim->now + cfg->step - 1) / cfg->step;
  uint32_t steps = max_steps < left ? max_steps : (uint32_t)left;
  if (steps > 1 && !remote_idle(sim)) steps = 1;
  pool_run(sim->pool, sim->now, steps, depth);
  uint64_t total = 0;
  for (uint32_t b = 0; b < cfg->books; b++) {
    if (sim->books[b].error) return sim->books[b].error;
    total += sim->books[b].messages;
  }
  uint64_t cutoff = step_end(cfg, sim->now, steps);
  sim->now = cutoff;
  sim->window_steps = steps;
  sim->window_depth = depth;
  if (now_ns) *now_ns = cutoff;
  if (events) *events = total;
  if (cutoff >= end) {
    sim->ended = true;
    return 0;
  }
  return 1;
}

int taos_sim_advance(taos_sim *sim, uint64_t *now_ns, uint64_t *events) {
  return taos_sim_advance_steps(sim, 1, 0, now_ns, events);
}

/* ---------------- reading the state ---------------- */
static const sim_book *book_of(const taos_sim *sim, uint32_t book) {
  return sim != NULL && book < sim->cfg.books ? &sim->books[book] : NULL;
}

size_t taos_sim_events(const taos_sim *sim, uint32_t book, taos_sim_event *out, size_t capacity) {
  const sim_book *b = book_of(sim, book);
  if (b == NULL) return 0;
  size_t n = b->n_events < capacity ? b->n_events : capacity;
  if (n > 0 && out != NULL) memcpy(out, b->events, n * sizeof *out);
  return b->n_events;
}

uint32_t taos_sim_steps(const taos_sim *sim) { return sim == NULL ? 0 : sim->window_steps; }

/* The mark of step `step` of the last advance on a book, or NULL. */
static const sim_step_mark *mark_of(const taos_sim *sim, uint32_t book, uint32_t step) {
  const sim_book *b = book_of(sim, book);
  return b != NULL && step < sim->window_steps ? &b->marks[step] : NULL;
}

int taos_sim_step_info(const taos_sim *sim, uint32_t book, uint32_t step, uint64_t *time_ns,
                       uint64_t *messages, double processes[2]) {
  const sim_step_mark *mark = mark_of(sim, book, step);
  if (mark == NULL) return TAOS_SIM_ERR_ARGUMENT;
  if (time_ns) *time_ns = mark->time;
  if (messages) *messages = mark->messages;
  if (processes) {
    processes[0] = mark->fundamental;
    processes[1] = mark->external;
  }
  return TAOS_SIM_OK;
}

size_t taos_sim_step_events(const taos_sim *sim, uint32_t book, uint32_t step,
                            taos_sim_event *out, size_t capacity) {
  const sim_step_mark *mark = mark_of(sim, book, step);
  if (mark == NULL) return 0;
  size_t begin = step == 0 ? 0 : mark[-1].events_end, n = mark->events_end - begin;
  size_t take = n < capacity ? n : capacity;
  if (take > 0 && out != NULL) memcpy(out, sim->books[book].events + begin, take * sizeof *out);
  return n;
}

size_t taos_sim_step_levels(const taos_sim *sim, uint32_t book, uint32_t step, int side,
                            size_t max_levels, int64_t *prices, int64_t *volumes) {
  const sim_step_mark *mark = mark_of(sim, book, step);
  if (mark == NULL || side < 0 || side > 1) return 0;
  size_t depth = sim->window_depth, kept = mark->levels[side] < depth ? mark->levels[side] : depth;
  if (kept == 0) return mark->levels[side];
  const int64_t *at =
      sim->books[book].mark_levels + ((size_t)step * 2 + (size_t)side) * 2 * depth;
  for (size_t i = 0; i < max_levels && i < kept; i++) {
    if (prices) prices[i] = at[i];
    if (volumes) volumes[i] = at[depth + i];
  }
  return mark->levels[side];
}

size_t taos_sim_levels(const taos_sim *sim, uint32_t book, int side, size_t max_levels,
                       int64_t *prices, int64_t *volumes) {
  const sim_book *b = book_of(sim, book);
  if (b == NULL || side < 0 || side > 1) return 0;
  return sim_book_levels(b, side, max_levels, prices, volumes);
}

size_t taos_sim_level_orders(const taos_sim *sim, uint32_t book, int side, size_t level_index,
                             taos_sim_order *out, size_t capacity) {
  const sim_book *b = book_of(sim, book);
  if (b == NULL || side < 0 || side > 1) return 0;
  return sim_book_level_orders(b, side, level_index, out, capacity);
}

int taos_sim_balances(const taos_sim *sim, int32_t agent_id, uint32_t book,
                      int64_t out[TAOS_SIM_BALANCE_VALUES]) {
  const sim_book *b = book_of(sim, book);
  uint32_t slot;
  if (b == NULL || out == NULL) return TAOS_SIM_ERR_ARGUMENT;
  if (agent_id >= 0) {
    if ((uint32_t)agent_id >= sim->cfg.remote) return TAOS_SIM_ERR_ARGUMENT;
    slot = (uint32_t)agent_id;
  } else {
    uint32_t local = (uint32_t)(-1 - (int64_t)agent_id);
    if (local >= sim->n_slots - sim->local_base) return TAOS_SIM_ERR_ARGUMENT;
    slot = sim->local_base + local;
  }
  sim_account a = sim_account_of(b, slot);
  out[0] = a.base_free;
  out[1] = a.base_reserved;
  out[2] = a.base_free + a.base_reserved;
  out[3] = a.quote_free;
  out[4] = a.quote_reserved;
  out[5] = a.quote_free + a.quote_reserved;
  out[6] = a.base_loan;
  out[7] = a.quote_loan;
  out[8] = a.base_collateral;
  out[9] = a.quote_collateral;
  return TAOS_SIM_OK;
}

size_t taos_sim_account_orders(const taos_sim *sim, int32_t agent_id, uint32_t book,
                               taos_sim_order *out, size_t capacity) {
  const sim_book *b = book_of(sim, book);
  if (b == NULL || agent_id < 0 || (uint32_t)agent_id >= sim->cfg.remote) return 0;
  return sim_book_account_orders(b, (uint32_t)agent_id, out, capacity);
}

int taos_sim_fee_state(const taos_sim *sim, int32_t agent_id, uint32_t book, double out[3]) {
  if (book_of(sim, book) == NULL || agent_id < 0 || (uint32_t)agent_id >= sim->cfg.remote) {
    return TAOS_SIM_ERR_ARGUMENT;
  }
  sim_fee_state(&sim->books[book], (uint32_t)agent_id, out);
  return TAOS_SIM_OK;
}

int taos_sim_remote_accounts(const taos_sim *sim, uint32_t book, int64_t *balances,
                             double *fees) {
  if (book_of(sim, book) == NULL || balances == NULL || fees == NULL) {
    return TAOS_SIM_ERR_ARGUMENT;
  }
  for (uint32_t agent = 0; agent < sim->cfg.remote; agent++) {
    taos_sim_balances(sim, (int32_t)agent, book,
                      &balances[TAOS_SIM_BALANCE_VALUES * (size_t)agent]);
    taos_sim_fee_state(sim, (int32_t)agent, book, &fees[3 * (size_t)agent]);
  }
  return TAOS_SIM_OK;
}

size_t taos_sim_remote_orders(const taos_sim *sim, uint32_t book, taos_sim_order *out,
                              size_t capacity) {
  const sim_book *b = book_of(sim, book);
  if (b == NULL) return 0;
  size_t n = 0;
  for (uint32_t agent = 0; agent < sim->cfg.remote; agent++) {
    size_t room = n < capacity ? capacity - n : 0;
    n += sim_book_account_orders(b, agent, out ? out + (n < capacity ? n : 0) : NULL, room);
  }
  return n;
}

int taos_sim_process_values(const taos_sim *sim, uint32_t book, double out[2]) {
  const sim_book *b = book_of(sim, book);
  if (b == NULL || out == NULL) return TAOS_SIM_ERR_ARGUMENT;
  out[0] = b->fund_value;
  out[1] = b->ext_value;
  return TAOS_SIM_OK;
}

int32_t taos_sim_agent_id(const taos_sim *sim, int group, uint32_t index) {
  if (sim == NULL) return 0;
  const sim_config *cfg = &sim->cfg;
  const uint32_t counts[] = {cfg->n_init, cfg->n_sty, cfg->n_hft, cfg->n_algo, cfg->n_fut};
  const uint32_t offsets[] = {sim->off_init, sim->off_sty, sim->off_hft, sim->off_algo,
                              sim->off_fut};
  if (group < 0 || group > 4 || index >= counts[group]) return 0;
  return sim->local_ids[offsets[group] + index];
}

/* ---------------- remote instructions ---------------- */
int taos_sim_inject(taos_sim *sim, int32_t agent_id, const taos_sim_instruction *instructions,
                    size_t count, uint64_t delay_ns) {
  if (sim == NULL || (count && instructions == NULL)) return TAOS_SIM_ERR_ARGUMENT;
  if (agent_id < 0 || (uint32_t)agent_id >= sim->cfg.remote) return TAOS_SIM_ERR_ARGUMENT;
  if (sim->ended) return TAOS_SIM_ERR_ENDED;
  if (delay_ns > UINT64_MAX / 4 - sim->now) return TAOS_SIM_ERR_ARGUMENT; /* clock overflow */
  uint32_t slot = (uint32_t)agent_id;
  int accepted = 0;
  for (size_t i = 0; i < count; i++) {
    const taos_sim_instruction *in = &instructions[i];
    if (in->kind == 4) { /* reset: between steps, on every book, immediately */
      for (uint32_t b = 0; b < sim->cfg.books; b++) {
        sim->books[b].now = sim->now;
        sim_reset_account(&sim->books[b], slot);
      }
      accepted++;
      continue;
    }
    if (in->kind < 1 || in->kind > 3 || in->book_id >= sim->cfg.books || in->direction > 1 ||
        in->time_in_force > 3 || in->stp_flag > 4 || in->leverage_e9 < 0) {
      continue;
    }
    sim_book *book = &sim->books[in->book_id];
    sim_msg msg = {.time = sim->now + delay_ns, .slot = slot, .volume = in->volume,
                   .price = in->price, .dir = in->direction};
    if (in->kind == 3) {
      msg.kind = MSG_CANCEL;
      msg.a = in->order_id;
      msg.flags = in->partial ? 1 : 0;
    } else {
      msg.kind = in->kind == 1 ? MSG_PLACE_LIMIT : MSG_PLACE_MARKET;
      msg.a = in->client_order_id;
      /* an expiry beyond the representable clock is the same as none (GTC) */
      uint8_t tif = in->time_in_force;
      if (tif == 1 && in->expiry_ns >= UINT64_MAX / 4) tif = 0;
      msg.aux = tif == 1 ? in->expiry_ns : 0;
      /* in 10^-6; a leverage past what that holds is past any maxLeverage, and refused as such */
      msg.leverage = in->leverage_e9 / 1000 < UINT32_MAX ? (uint32_t)(in->leverage_e9 / 1000)
                                                         : UINT32_MAX;
      msg.flags = (uint8_t)((in->post_only ? 1 : 0) | (tif << 1) |
                            (in->stp_flag << 3) | (in->currency ? 0x40 : 0));
    }
    if (sim_send(book, &msg) != TAOS_SIM_OK) return TAOS_SIM_ERR_MEMORY;
    accepted++;
  }
  return accepted;
}
