/* Shared helpers for the background model's C tests: the reference production parameters, a
 * simulation built from them, and constructed books and messages. */
#ifndef SIM_HARNESS_H
#define SIM_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/sim_internal.h"
#include "check.h"

typedef struct {
  const char *name;
  double value;
} param;

/* The reference production parameters (ns, base/quote units), one book, two remote accounts. */
static const param reference[] = {
    {"seed", 7}, {"duration", 3600e9}, {"step", 5e9}, {"books", 1}, {"threads", 1},
    {"remote_agents", 2}, {"price_decimals", 2}, {"volume_decimals", 4}, {"base_decimals", 4},
    {"quote_decimals", 10}, {"initial_price", 300}, {"fee_history_slots", 24},
    {"fee_slot_period", 3600e9}, {"fee_tier_count", 1}, {"fee_maker_0", 0.005},
    {"fee_taker_0", 0.005}, {"remote_bal_kind", 0}, {"remote_bal_a", 1000},
    {"remote_bal_b", 300000}, {"update_period", 10e9}, {"fund_seed_interval", 10e9},
    {"fund_sigma", 0.012}, {"fund_lambda", 0.002}, {"fund_sigma_jump", 0.00335},
    {"ext_seed_interval", 10e9}, {"ext_sample_interval", 60e9}, {"ext_sigma", 0.0015},
    {"init_bal_a", 100}, {"init_bal_b", 30000}, {"init_tau", 300e9},
    {"sty_bal_kind", 2}, {"sty_bal_a", 1}, {"sty_bal_b", 1.66}, {"sty_bal_c", 60000},
    {"sty_bal_d", 300}, {"sty_mfl_mean", 250e6}, {"sty_mfl_std", 50e6}, {"sty_min_opl", 90e6},
    {"sty_max_opl", 300e6}, {"sty_ray", 0.235}, {"sty_delay_mean", 10e9},
    {"sty_delay_std", 2e9}, {"sty_scale_r", 0.2}, {"sty_sigma_f", 0.01}, {"sty_sigma_c", 1.8},
    {"sty_sigma_n", 0.7}, {"sty_tau", 175e9}, {"sty_tau_hist", 200}, {"sty_tau_f", 1},
    {"sty_sigma_eps", 0.001}, {"sty_r_aversion", 0.0012}, {"sty_tau_f_regime", 1},
    {"sty_gbm_x0", 0.001},
    {"sty_gbm_sigma", 0.01}, {"hft_bal_a", 500},
    {"hft_bal_b", 150000}, {"hft_min_mfl", 50e6}, {"hft_min_opl", 1e6}, {"hft_max_opl", 50e6},
    {"hft_ray", 0.235}, {"hft_tau", 2}, {"hft_delta", 5e9}, {"hft_psi", 100}, {"hft_gamma", 0.2},
    {"hft_kappa", 20}, {"hft_spread", 0.8}, {"hft_order_mean", 1.6}, {"hft_noise_ray", 0.23},
    {"hft_shift_pct", 0.05}, {"hft_sigma_sqr", 1e-5}, {"algo_bal_a", 500},
    {"algo_bal_b", 150000}, {"algo_wakeup_prob", 1}, {"algo_volume_prop", 0.0125},
    {"algo_mfl_mean", 1.5e9}, {"algo_mfl_std", 0.25e9}, {"algo_vbs", 20000},
    {"algo_min_opl", 1e6}, {"algo_max_opl", 50e6}, {"algo_ray", 0.235}, {"algo_volume_a", 1},
    {"algo_volume_b", 1}, {"fut_bal_a", 500}, {"fut_bal_b", 150000},
    {"fut_mfl_mean", 1e9}, {"fut_mfl_std", 50e6}, {"fut_min_opl", 90e6}, {"fut_max_opl", 300e6},
    {"fut_ray", 0.235}, {"fut_scale_r", 0.2}, {"fut_volume", 4}, {"fut_lambda", 0.001155},
    {"fut_sigma_eps", 0.5},
};

static inline void set(double *params, const char *name, double value) {
  for (uint32_t i = 0; i < taos_sim_param_count(); i++) {
    if (strcmp(taos_sim_param_name(i), name) == 0) {
      params[i] = value;
      return;
    }
  }
  fprintf(stderr, "unknown parameter %s\n", name);
  exit(2);
}

static inline void defaults(double *params) {
  memset(params, 0, TAOS_SIM_PARAM_COUNT * sizeof *params);
  for (size_t i = 0; i < sizeof reference / sizeof reference[0]; i++) {
    set(params, reference[i].name, reference[i].value);
  }
}

static inline taos_sim *create(const double *params) {
  taos_sim *sim = NULL;
  char err[256] = {0};
  int rc = taos_sim_create(params, TAOS_SIM_PARAM_COUNT, &sim, err, sizeof err);
  if (rc != TAOS_SIM_OK) {
    fprintf(stderr, "create failed: %d %s\n", rc, err);
    exit(1);
  }
  return sim;
}

/* The reference parameters with `count` of them changed (a list from CHANGES). */
static inline void defaults_with(double *params, const param *changes, size_t count) {
  defaults(params);
  for (size_t i = 0; i < count; i++) set(params, changes[i].name, changes[i].value);
}

static inline taos_sim *create_with(const param *changes, size_t count) {
  double params[TAOS_SIM_PARAM_COUNT];
  defaults_with(params, changes, count);
  return create(params);
}

/* A list of parameter changes and its length: CHANGES({"hft_count", 1}, {"seed", 7}). */
#define CHANGES(...)                                                                               \
  (const param[]){__VA_ARGS__}, sizeof((const param[]){__VA_ARGS__}) / sizeof(param)

/* A book with only the constructed orders and no pending messages. */
static inline sim_book *empty_book(taos_sim *sim) {
  sim_book *book = &sim->books[0];
  book->heap.size = 0;
  book->now = 1000000000000ull; /* 1000 s */
  return book;
}

/* The account in `slot` places a limit order now (it rests unless it crosses). */
static inline void rest_for(sim_book *book, uint32_t slot, int dir, int64_t ticks, int64_t lots) {
  sim_msg msg = {.time = book->now, .kind = MSG_PLACE_LIMIT, .dir = (uint8_t)dir, .price = ticks,
                 .volume = lots, .slot = slot, .a = SIM_NONE};
  sim_place_limit(book, &msg);
}

/* Remote account 0 rests a limit order. */
static inline void rest(sim_book *book, int dir, int64_t ticks, int64_t lots) {
  rest_for(book, 0, dir, ticks, lots);
}

/* A book quoted 299.90 / 300.10, 5 units each side, by remote account 0, nothing pending. */
static inline sim_book *quoted_book(taos_sim *sim) {
  sim_book *book = empty_book(sim);
  rest(book, 0, 29990, 50000);
  rest(book, 1, 30010, 50000);
  return book;
}

/* Counts queued messages of `kind` from `slot`, and reports the last one. */
static inline int queued(const sim_book *book, uint32_t slot, int kind, sim_msg *last) {
  int n = 0;
  for (size_t i = 0; i < book->heap.size; i++) {
    const sim_msg *m = &book->heap.items[i];
    if (m->slot == slot && m->kind == kind) {
      n++;
      if (last) *last = *m;
    }
  }
  return n;
}

#endif
