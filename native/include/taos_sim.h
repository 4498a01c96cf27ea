/*
 * taos market simulation: per-book discrete-event loops, stochastic processes and background
 * agents, run on a pool of threads; deterministic for a given seed whatever the thread count.
 *
 * Units across this interface: time in ns (uint64), prices in ticks (10^-priceDecimals), order and
 * trade volumes in lots (10^-volumeDecimals), base balances in 10^-baseDecimals, quote balances and
 * fees in 10^-quoteDecimals.
 */
#ifndef TAOS_SIM_H
#define TAOS_SIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Tiers of a background group's own fee policy (`<grp>_fee_tier_count` 0: the group pays the
 * exchange's fees). */
#define TAOS_SIM_GROUP_FEE_TIERS 4

/* A background group's fee policy parameters: `<grp>_fee_tier_count`, then for each of the
 * TAOS_SIM_GROUP_FEE_TIERS tiers its volume required, maker and taker rates. */
#define TAOS_SIM_GROUP_FEE_TIER(X, grp, i)                                                         \
  X(grp##_fee_volume_##i) X(grp##_fee_maker_##i) X(grp##_fee_taker_##i)
#define TAOS_SIM_GROUP_FEES(X, grp)                                                                \
  X(grp##_fee_tier_count) TAOS_SIM_GROUP_FEE_TIER(X, grp, 0) TAOS_SIM_GROUP_FEE_TIER(X, grp, 1)    \
  TAOS_SIM_GROUP_FEE_TIER(X, grp, 2) TAOS_SIM_GROUP_FEE_TIER(X, grp, 3)

/* Configuration travels as a flat array of doubles, one per parameter, in this order. The host
 * looks the names up with taos_sim_param_name so both sides agree on the layout.
 * Balance templates are 5 values: kind (0 fixed, 1 pareto, 2 pareto-50), then for fixed
 * (base, quote, -, -), for pareto (scale, shape, wealth, price).
 * The ALGO child order size in base is 3 values: kind (TAOS_SIM_VOLUME_*), then (mu, sigma) for
 * lognormal, (loc, -) for dirac, (shape, scale) for gamma. */
#define TAOS_SIM_PARAMS(X)                                                                         \
  X(seed) X(start) X(duration) X(step) X(grace_period) X(books) X(threads) X(remote_agents)        \
  X(reference_dynamics) X(price_decimals) X(volume_decimals) X(base_decimals) X(quote_decimals)    \
  X(initial_price) X(max_leverage) X(max_loan) X(maintenance_margin) X(fee_history_slots)          \
  X(fee_slot_period) X(fee_tier_count)                                                             \
  X(fee_volume_0) X(fee_maker_0) X(fee_taker_0) X(fee_volume_1) X(fee_maker_1) X(fee_taker_1)      \
  X(fee_volume_2) X(fee_maker_2) X(fee_taker_2) X(fee_volume_3) X(fee_maker_3) X(fee_taker_3)      \
  X(fee_volume_4) X(fee_maker_4) X(fee_taker_4) X(fee_volume_5) X(fee_maker_5) X(fee_taker_5)      \
  X(fee_volume_6) X(fee_maker_6) X(fee_taker_6) X(fee_volume_7) X(fee_maker_7) X(fee_taker_7)      \
  X(remote_bal_kind) X(remote_bal_a) X(remote_bal_b) X(remote_bal_c) X(remote_bal_d)               \
  X(update_period) X(fund_seed_interval) X(fund_mu) X(fund_sigma) X(fund_lambda) X(fund_mu_jump)   \
  X(fund_sigma_jump) X(ext_seed_interval) X(ext_sample_interval) X(ext_sigma)                      \
  X(init_count) X(init_bal_kind) X(init_bal_a) X(init_bal_b) X(init_bal_c) X(init_bal_d)           \
  X(init_tau)                                                                                      \
  X(sty_count) X(sty_bal_kind) X(sty_bal_a) X(sty_bal_b) X(sty_bal_c) X(sty_bal_d)                 \
  X(sty_mfl_mean) X(sty_mfl_std) X(sty_min_opl) X(sty_max_opl) X(sty_ray) X(sty_delay_mean)        \
  X(sty_delay_std) X(sty_scale_r) X(sty_sigma_f) X(sty_sigma_c) X(sty_sigma_n) X(sty_tau)          \
  X(sty_tau_hist) X(sty_tau_f) X(sty_sigma_eps) X(sty_r_aversion) X(sty_regime_flag)               \
  X(sty_regime_prob) X(sty_tau_f_regime) X(sty_po_alpha) X(sty_gbm_x0) X(sty_gbm_mu)               \
  X(sty_gbm_sigma)                                                                                 \
  X(hft_count) X(hft_bal_kind) X(hft_bal_a) X(hft_bal_b) X(hft_bal_c) X(hft_bal_d)                 \
  X(hft_min_mfl) X(hft_min_opl) X(hft_max_opl) X(hft_ray) X(hft_tau) X(hft_delta) X(hft_psi)       \
  X(hft_gamma) X(hft_kappa) X(hft_spread) X(hft_order_mean) X(hft_noise_ray) X(hft_shift_pct)      \
  X(hft_sigma_sqr)                                                                                 \
  X(algo_count) X(algo_bal_kind) X(algo_bal_a) X(algo_bal_b) X(algo_bal_c) X(algo_bal_d)           \
  X(algo_wakeup_prob) X(algo_volume_prop) X(algo_mfl_mean) X(algo_mfl_std) X(algo_vbs)             \
  X(algo_min_opl) X(algo_max_opl) X(algo_ray) X(algo_volume_kind) X(algo_volume_a) X(algo_volume_b) \
  X(fut_count) X(fut_bal_kind) X(fut_bal_a) X(fut_bal_b) X(fut_bal_c) X(fut_bal_d)                 \
  X(fut_mfl_mean) X(fut_mfl_std) X(fut_min_opl) X(fut_max_opl) X(fut_ray) X(fut_scale_r)           \
  X(fut_volume) X(fut_lambda) X(fut_sigma_eps)                                                    \
  TAOS_SIM_GROUP_FEES(X, init) TAOS_SIM_GROUP_FEES(X, sty) TAOS_SIM_GROUP_FEES(X, hft)             \
  TAOS_SIM_GROUP_FEES(X, algo) TAOS_SIM_GROUP_FEES(X, fut)

#define TAOS_SIM_PARAM_ENUM(name) TAOS_SIM_P_##name,
enum taos_sim_param { TAOS_SIM_PARAMS(TAOS_SIM_PARAM_ENUM) TAOS_SIM_PARAM_COUNT };
#undef TAOS_SIM_PARAM_ENUM

enum { TAOS_SIM_VOLUME_LOGNORMAL = 0, TAOS_SIM_VOLUME_DIRAC = 1, TAOS_SIM_VOLUME_GAMMA = 2 };

enum {
  TAOS_SIM_OK = 0,
  TAOS_SIM_ERR_CONFIG = -1,
  TAOS_SIM_ERR_MEMORY = -2,
  TAOS_SIM_ERR_ARGUMENT = -3,
  TAOS_SIM_ERR_ENDED = -4,
};

/* Event kinds in the per-book record. */
enum taos_sim_event_kind {
  TAOS_SIM_EV_PLACE = 1,       /* order accepted (flags bit 0: market order) */
  TAOS_SIM_EV_TRADE = 2,       /* one fill */
  TAOS_SIM_EV_CANCEL = 3,      /* volume removed from an order (see TAOS_SIM_EVF_DROPPED) */
  TAOS_SIM_EV_REJECT = 4,      /* placement rejected (code = TX_R_* reason); remote agents only */
  TAOS_SIM_EV_CANCEL_FAIL = 5, /* cancel of an unknown / foreign order; remote agents only */
};

/* A reject record's code is the exchange core's rejection reason (TX_R_* in taos_exchange.h).
 * Record flags: bit 0 (TAOS_SIM_EVF_MARKET) a market order (place, reject); bit 1
 * (TAOS_SIM_EVF_QUOTE) a market order sized in quote: the place or reject record's volume is the
 * requested amount in quote units;
 * bit 2 (TAOS_SIM_EVF_PARTIAL) a cancel left part of the order resting; bit 3
 * (TAOS_SIM_EVF_DROPPED) a cancel of an incoming order's volume that never rested: its unfilled
 * market or IOC remainder, or volume self-trade prevention took from it; bit 4
 * (TAOS_SIM_EVF_STP) a resting order cancelled by self-trade prevention (no one asked for it, so
 * its owner gets no cancel response, as in the reference). */
enum {
  TAOS_SIM_EVF_MARKET = 1,
  TAOS_SIM_EVF_QUOTE = 2,
  TAOS_SIM_EVF_PARTIAL = 4,
  TAOS_SIM_EVF_DROPPED = 8,
  TAOS_SIM_EVF_STP = 16,
};

/* One record of a book's event stream (80 bytes, little-endian, no padding holes). */
typedef struct {
  uint64_t timestamp;
  int64_t price;     /* ticks; 0 for market placements */
  int64_t volume;    /* lots (quote units when flagged TAOS_SIM_EVF_QUOTE) */
  int64_t fee_maker; /* trade: fee charged to the resting side (quote units) */
  int64_t fee_taker; /* trade: fee charged to the aggressor */
  uint32_t order_id; /* place/cancel/reject: the order; trade: aggressing order */
  uint32_t resting_order_id;
  uint32_t trade_id;
  int32_t agent_id;   /* owner; trade: aggressor */
  int32_t resting_agent_id;
  uint32_t client_order_id; /* 0xFFFFFFFF = none */
  uint8_t kind, direction, code, flags;
  uint32_t reserved; /* trade: the resting side's client order id */
  int64_t leverage_e9; /* place, cancel: the order's margin leverage in 10^-9 (0 = cash order) */
} taos_sim_event;

/* One remote instruction (56 bytes). */
typedef struct {
  uint8_t kind; /* 1 limit, 2 market, 3 cancel, 4 reset */
  uint8_t direction, time_in_force, stp_flag;
  uint8_t post_only, currency;
  uint8_t partial; /* cancel: 1 = cancel `volume` lots even when it is 0 (a request below one lot:
                      it cancels nothing and is still answered); 0 = volume 0 is the whole order */
  uint8_t pad;
  uint32_t book_id;
  uint32_t client_order_id; /* 0xFFFFFFFF = none */
  uint32_t order_id;        /* cancel */
  uint32_t pad2;
  int64_t volume; /* lots (base) or quote units (market, currency 1); cancel: 0 = whole order */
  int64_t price;  /* ticks */
  uint64_t expiry_ns; /* time_in_force GTT: lifetime (0: cancelled at once); send GTC for none */
  int64_t leverage_e9; /* limit and market: margin leverage in 10^-9 (0 = cash order) */
} taos_sim_instruction;

/* One resting order (48 bytes). */
typedef struct {
  uint64_t timestamp;
  int64_t price;
  int64_t volume;
  uint32_t order_id;
  int32_t agent_id;
  uint32_t client_order_id;
  uint8_t direction, pad[3];
  int64_t leverage_e9; /* margin leverage in 10^-9 (0 = cash order) */
} taos_sim_order;

typedef struct taos_sim taos_sim;

/* Name of parameter i (NULL when out of range). */
const char *taos_sim_param_name(uint32_t index);
uint32_t taos_sim_param_count(void);

/* Creates a simulation; on error returns a TAOS_SIM_ERR_* code and a message in err. */
int taos_sim_create(const double *params, uint32_t param_count, taos_sim **out, char *err,
                    size_t err_len);
void taos_sim_destroy(taos_sim *sim);

/* Supplies a recorded price feed before the first advance: series 0 = fundamental seed prices,
 * one per process update (the update's random draws are seeded from it; the last one repeats when
 * the feed is shorter than the run), series 1 = external signal samples, one per sample interval
 * (the signal stalls when they run out). Prices must be positive. */
int taos_sim_set_feed(taos_sim *sim, int series, const double *prices, size_t count);

/* Appends to a feed between advances (a live feed: the caller adds the prices as they come). A
 * fundamental update k takes price k of the series, or the last one while the series is shorter
 * (the seed alone before the first). Once the external series is extended (even by no prices) it
 * is live: each external update a seed interval after the last one takes the newest sample, if
 * one came since, skipping any before it; a set external feed gives sample j at sample interval j
 * instead, waiting while the series holds fewer. */
int taos_sim_extend_feed(taos_sim *sim, int series, const double *prices, size_t count);

/* Seeds every later fundamental update from `price` (a live feed's latest trade, set between
 * advances), over any recorded fundamental feed. */
int taos_sim_set_live_fundamental(taos_sim *sim, double price);

/* Runs every book to the next publish instant. Returns 1 when the run continues, 0 for the final
 * state, TAOS_SIM_ERR_ENDED after that. now_ns = the publish instant; events = messages processed
 * during this step (all books). */
int taos_sim_advance(taos_sim *sim, uint64_t *now_ns, uint64_t *events);

/* Most L2 levels per side taos_sim_advance_steps keeps of each step. */
#define TAOS_SIM_MAX_STEP_DEPTH 100

/* Runs up to max_steps publish steps (fewer at the end of the run) and keeps, for each step and
 * book, its events, message count, process values and first `depth` levels per side, read with
 * taos_sim_step_*. Each book runs the whole window before the next one starts: books are
 * independent, so the results equal those of as many taos_sim_advance calls, and a book's state
 * stays in cache instead of being evicted by the other books at every step. A window needs the
 * remote accounts idle (no resting order, nothing in flight on any book): otherwise, and for
 * max_steps 1, one step runs. Returns as taos_sim_advance, for the last step run; *events counts
 * the messages of every step run. */
int taos_sim_advance_steps(taos_sim *sim, uint32_t max_steps, uint32_t depth, uint64_t *now_ns,
                           uint64_t *events);

/* Steps run by the last advance. */
uint32_t taos_sim_steps(const taos_sim *sim);

/* Step `step` (0-based) of the last advance on a book: its end (the publish instant), the
 * messages processed on the book during it and the fundamental and external values at its end. */
int taos_sim_step_info(const taos_sim *sim, uint32_t book, uint32_t step, uint64_t *time_ns,
                       uint64_t *messages, double processes[2]);

/* Events recorded on a book during step `step` of the last advance (the first step's include
 * injections made before the advance). Copies at most capacity; returns the number available. */
size_t taos_sim_step_events(const taos_sim *sim, uint32_t book, uint32_t step,
                            taos_sim_event *out, size_t capacity);

/* Levels of one side at the end of step `step`, best first, as taos_sim_levels; at most the
 * advance's `depth` of them are kept. Returns the number of levels the side had then. */
size_t taos_sim_step_levels(const taos_sim *sim, uint32_t book, uint32_t step, int side,
                            size_t max_levels, int64_t *prices, int64_t *volumes);

/* Events recorded on a book during the last advance (and injections since). Copies at most
 * capacity records (none when out is NULL); returns the number available. */
size_t taos_sim_events(const taos_sim *sim, uint32_t book, taos_sim_event *out, size_t capacity);

/* Aggregated levels of one side (0 bid, 1 ask), best first. Returns the number available. */
size_t taos_sim_levels(const taos_sim *sim, uint32_t book, int side, size_t max_levels,
                       int64_t *prices, int64_t *volumes);

/* Orders of the level_index-th level (best = 0) of a side, in priority order. */
size_t taos_sim_level_orders(const taos_sim *sim, uint32_t book, int side, size_t level_index,
                             taos_sim_order *out, size_t capacity);

/* Values per account written by taos_sim_balances and taos_sim_remote_accounts. */
#define TAOS_SIM_BALANCE_VALUES 10

/* Balances of an account on a book: base free, reserved, total; quote free, reserved, total;
 * margin: base loan (shorts), quote loan (longs), base collateral, quote collateral. */
int taos_sim_balances(const taos_sim *sim, int32_t agent_id, uint32_t book,
                      int64_t out[TAOS_SIM_BALANCE_VALUES]);

/* Resting orders of a remote account on a book. */
size_t taos_sim_account_orders(const taos_sim *sim, int32_t agent_id, uint32_t book,
                               taos_sim_order *out, size_t capacity);

/* Fee state of a remote account on a book: rolling volume (quote), maker rate, taker rate. */
int taos_sim_fee_state(const taos_sim *sim, int32_t agent_id, uint32_t book, double out[3]);

/* Every remote account's state on a book in one call: balances gets TAOS_SIM_BALANCE_VALUES per
 * account (as
 * taos_sim_balances), fees 3 per account (as taos_sim_fee_state); both sized remote_agents. */
int taos_sim_remote_accounts(const taos_sim *sim, uint32_t book, int64_t *balances,
                             double *fees);

/* Every resting order of remote accounts on a book, by account then newest first. Copies at most
 * capacity records; returns the number available. */
size_t taos_sim_remote_orders(const taos_sim *sim, uint32_t book, taos_sim_order *out,
                              size_t capacity);

/* Process values of a book: out[0] fundamental, out[1] external signal. */
int taos_sim_process_values(const taos_sim *sim, uint32_t book, double out[2]);

/* Queues instructions of remote agent agent_id to arrive delay_ns after the last publish
 * instant. Resets take effect immediately. Returns the count accepted or an error. */
int taos_sim_inject(taos_sim *sim, int32_t agent_id, const taos_sim_instruction *instructions,
                    size_t count, uint64_t delay_ns);

/* Local agent id of a background agent slot, for tests: group 0 init, 1 stylized, 2 hft,
 * 3 algo, 4 futures; index within the group. Returns 0 when out of range. */
int32_t taos_sim_agent_id(const taos_sim *sim, int group, uint32_t index);

#ifdef __cplusplus
}
#endif
#endif
