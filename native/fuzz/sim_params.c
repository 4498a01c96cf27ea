/* libFuzzer target: the simulation's entry points that take arbitrary values. The input
 * overrides up to eight parameters of the reference configuration (raw doubles, small integers,
 * the edges of doubles, or a default scaled), creates the simulation (taos_sim_create must
 * either refuse with a message or build it), and when the result is small enough to run here
 * runs a few publish steps, injecting raw remote instructions (every field from the input) and
 * recorded feed prices between them, and reading every snapshot after each.
 *
 * Besides the sanitizers: a refusal names a parameter; no remote account's free or reserved
 * balance goes negative; the level and event counts stay within what was recorded. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/sim_harness.h"
#include "fuzz_input.h"

static double take_value(input *in, double current) {
  static const double edges[] = {0,       -0.0,   1,       -1,      0.5,     2,      1e-300,
                                 DBL_MIN, 4.9e-324, 1e300, DBL_MAX, 4294967296.0, 9.2e18,
                                 4611686018427387904.0, 18446744073709551616.0, 1e-9, 0.999999,
                                 NAN,     INFINITY, -INFINITY};
  unsigned how = (unsigned)take(in, 1) % 5;
  if (how == 0) {
    uint64_t bits = take(in, 8);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
  }
  if (how == 1) return (double)(int8_t)take(in, 1);
  if (how == 2) return edges[take(in, 1) % (sizeof edges / sizeof *edges)];
  if (how == 3) return current * pow(2.0, (double)(int8_t)take(in, 1) / 8.0);
  return current + (double)(int8_t)take(in, 1);
}

/* Work this harness can afford per input (not limits of the simulation). */
static int small_enough(const double *p) {
  double agents = p[TAOS_SIM_P_remote_agents] + p[TAOS_SIM_P_init_count] +
                  p[TAOS_SIM_P_sty_count] + p[TAOS_SIM_P_hft_count] + p[TAOS_SIM_P_algo_count] +
                  p[TAOS_SIM_P_fut_count];
  return p[TAOS_SIM_P_books] <= 2 && p[TAOS_SIM_P_threads] <= 2 && agents <= 64 &&
         p[TAOS_SIM_P_step] <= 10e9 && p[TAOS_SIM_P_hft_min_mfl] >= 1e6 &&
         p[TAOS_SIM_P_hft_delta] >= 1e8 && p[TAOS_SIM_P_sty_delay_mean] >= 1e8 &&
         p[TAOS_SIM_P_sty_mfl_mean] >= 1e6 && p[TAOS_SIM_P_algo_mfl_mean] >= 1e6 &&
         p[TAOS_SIM_P_fut_mfl_mean] >= 1e6 && p[TAOS_SIM_P_update_period] >= 1e6 &&
         p[TAOS_SIM_P_ext_sample_interval] >= 1e6 && p[TAOS_SIM_P_sty_min_opl] >= 1e5 &&
         p[TAOS_SIM_P_hft_min_opl] >= 1e5 && p[TAOS_SIM_P_algo_min_opl] >= 1e5 &&
         p[TAOS_SIM_P_fut_min_opl] >= 1e5 && p[TAOS_SIM_P_fee_slot_period] >= 1e6 &&
         p[TAOS_SIM_P_init_tau] >= 1e6 &&
         /* the stylized agents draw up to 1e6 times per wake-up for a huge Rayleigh scale */
         p[TAOS_SIM_P_sty_scale_r] <= 1e4;
}

static taos_sim_event sim_events[1 << 16];
static taos_sim_order orders[4096];
static int64_t prices[256], volumes[256];

static void read_back(const taos_sim *sim, const double *p) {
  uint32_t books = (uint32_t)p[TAOS_SIM_P_books], remote = (uint32_t)p[TAOS_SIM_P_remote_agents];
  for (uint32_t b = 0; b < books; b++) {
    size_t n = taos_sim_events(sim, b, sim_events, sizeof sim_events / sizeof *sim_events);
    (void)n;
    for (int side = 0; side < 2; side++) {
      size_t levels = taos_sim_levels(sim, b, side, 256, prices, volumes);
      for (size_t l = 0; l < levels && l < 256; l++) {
        REQUIRE(volumes[l] > 0, "book %u side %d level %zu volume %lld", b, side, l,
                (long long)volumes[l]);
        taos_sim_level_orders(sim, b, side, l, orders, 4096);
      }
    }
    double processes[2];
    REQUIRE(taos_sim_process_values(sim, b, processes) == TAOS_SIM_OK, "process values");
    for (uint32_t a = 0; a < remote; a++) {
      int64_t bal[TAOS_SIM_BALANCE_VALUES];
      REQUIRE(taos_sim_balances(sim, (int32_t)a, b, bal) == TAOS_SIM_OK, "balances");
      REQUIRE(bal[0] >= 0 && bal[1] >= 0 && bal[3] >= 0 && bal[4] >= 0,
              "agent %u book %u balances %lld %lld %lld %lld", a, b, (long long)bal[0],
              (long long)bal[1], (long long)bal[3], (long long)bal[4]);
      double fees[3];
      taos_sim_fee_state(sim, (int32_t)a, b, fees);
      taos_sim_account_orders(sim, (int32_t)a, b, orders, 4096);
    }
    taos_sim_remote_orders(sim, b, orders, 4096);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  input in = {data, size, 0};
  double p[TAOS_SIM_PARAM_COUNT];
  defaults(p);
  unsigned overrides = (unsigned)take(&in, 1) % 9;
  for (unsigned i = 0; i < overrides; i++) {
    uint32_t index = (uint32_t)take(&in, 2) % TAOS_SIM_PARAM_COUNT;
    p[index] = take_value(&in, p[index]);
    /* FUZZ_TRACE=1 prints the overrides (to read a reproducer) */
    if (getenv("FUZZ_TRACE")) fprintf(stderr, "%s = %.17g\n", taos_sim_param_name(index), p[index]);
  }
  taos_sim *sim = NULL;
  char err[256] = {0};
  int rc = taos_sim_create(p, TAOS_SIM_PARAM_COUNT, &sim, err, sizeof err);
  if (rc != TAOS_SIM_OK) {
    REQUIRE(sim == NULL, "a handle with error %d", rc);
    REQUIRE(rc != TAOS_SIM_ERR_CONFIG || err[0] != 0, "a refusal without a message");
    return 0;
  }
  if (!small_enough(p)) {
    taos_sim_destroy(sim);
    return 0;
  }
  uint32_t remote = (uint32_t)p[TAOS_SIM_P_remote_agents];
  if (take(&in, 1) & 1) {
    double feed[8];
    size_t count = (size_t)take(&in, 1) % 9;
    for (size_t i = 0; i < count; i++) feed[i] = take_value(&in, 300);
    taos_sim_set_feed(sim, (int)take(&in, 1) % 3, feed, count);
  }
  for (int step = 0; step < 4 && in.at < in.size; step++) {
    size_t count = (size_t)take(&in, 1) % 9;
    taos_sim_instruction batch[8];
    for (size_t i = 0; i < count; i++) {
      for (size_t k = 0; k < sizeof batch[i]; k++) ((uint8_t *)&batch[i])[k] = (uint8_t)take(&in, 1);
      if (take(&in, 1) & 1) { /* an instruction the host could send */
        batch[i].kind = (uint8_t)(1 + batch[i].kind % 4);
        batch[i].direction &= 1;
        batch[i].time_in_force %= 4;
        batch[i].stp_flag %= 5;
        batch[i].book_id %= (uint32_t)p[TAOS_SIM_P_books];
        batch[i].volume = (int64_t)((uint64_t)batch[i].volume % 1000000);
        batch[i].price = 29000 + (int64_t)((uint64_t)batch[i].price % 2000);
        batch[i].leverage_e9 = (int64_t)((uint64_t)batch[i].leverage_e9 % 8) * 500000000;
        batch[i].order_id %= 64;
      }
    }
    int32_t agent = remote > 0 && (take(&in, 1) & 1) ? (int32_t)(take(&in, 1) % remote)
                                                     : (int32_t)take(&in, 4);
    taos_sim_inject(sim, agent, batch, count, take(&in, 1) & 1 ? take(&in, 8) : take(&in, 4));
    if (take(&in, 1) & 1) {
      double price = take_value(&in, 300);
      taos_sim_set_live_fundamental(sim, price);
      taos_sim_extend_feed(sim, (int)take(&in, 1) % 3, &price, 1);
    }
    uint64_t now = 0, messages = 0;
    rc = take(&in, 1) & 1 ? taos_sim_advance(sim, &now, &messages)
                          : taos_sim_advance_steps(sim, 1 + (uint32_t)take(&in, 1) % 4,
                                                   (uint32_t)take(&in, 1) % 8, &now, &messages);
    REQUIRE(rc == 0 || rc == 1 || rc == TAOS_SIM_ERR_ENDED, "advance %d", rc);
    read_back(sim, p);
    if (rc != 1) break;
  }
  taos_sim_destroy(sim);
  return 0;
}
