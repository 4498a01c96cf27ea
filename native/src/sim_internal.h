/* Internal structures shared by the simulation sources (sim_*.c). Not a public interface. */
#ifndef TAOS_SIM_INTERNAL_H
#define TAOS_SIM_INTERNAL_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "taos_exchange.h"
#include "taos_sim.h"

/* Internal symbols stay inside the library: calls between the sources bind directly instead of
 * through the PLT, and the compiler may inline them. */
#pragma GCC visibility push(hidden)

#define SIM_NONE 0xFFFFFFFFu
/* The simulation clock's range (2^62 ns, about 146 years): runs end within it, and a delay past
 * it is as good as never, with room left to add it to any time of a run. */
#define SIM_CLOCK_MAX 4611686018427387904.0

/* ---- random numbers: xoshiro256** streams derived from (seed, book, agent, purpose) ---- */
typedef struct {
  uint64_t s[4];
} sim_rng;

enum sim_purpose {
  SIM_RNG_PARAMS = 1,
  SIM_RNG_BALANCE,
  SIM_RNG_DECISION,
  SIM_RNG_LATENCY,
  SIM_RNG_FUNDAMENTAL,
  SIM_RNG_EXTERNAL,
  SIM_RNG_HISTORY,
};

void sim_rng_seed(sim_rng *rng, uint64_t seed, uint64_t book, uint64_t agent, uint64_t purpose);
static inline uint64_t sim_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* The next number of a stream. Inlined where it is drawn: a draw is a dozen instructions, and a
 * call from another source cost nearly as many again. */
static inline uint64_t sim_rng_next(sim_rng *rng) {
  uint64_t *s = rng->s;
  uint64_t result = sim_rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = sim_rotl(s[3], 45);
  return result;
}

/* [0, 1) */
static inline double sim_uniform(sim_rng *rng) {
  return (double)(sim_rng_next(rng) >> 11) * 0x1.0p-53;
}

double sim_uniform_range(sim_rng *rng, double lo, double hi);
/* The standard normal's ziggurat: SIM_ZIGGURAT_LAYERS layers of equal area SIM_ZIGGURAT_AREA under
 * f(x) = exp(-x^2/2), with f[i] = f(x[i]). Layer i >= 1 is the strip of width x[i] between heights
 * f[i] and f[i + 1]; layer 0 is the strip below f[1], x[1] = SIM_ZIGGURAT_R wide, plus the tail
 * beyond it, and x[0] = area / f[1] is its width as one rectangle. x[SIM_ZIGGURAT_LAYERS] = 0. */
#define SIM_ZIGGURAT_LAYERS 256
#define SIM_ZIGGURAT_R 3.654152885361008796
#define SIM_ZIGGURAT_AREA 0.00492867323399
extern const double sim_ziggurat_x[SIM_ZIGGURAT_LAYERS + 1];
extern const double sim_ziggurat_f[SIM_ZIGGURAT_LAYERS + 1];
bool sim_ziggurat_edge(sim_rng *rng, unsigned layer, double u, double x, double *out);

/* One layer is picked by 8 random bits and a point drawn across it; about 99% of draws fall inside
 * the layer's rectangle and cost one random number, a multiplication and a comparison, here where
 * they are drawn (Box-Muller costs a logarithm, a square root and a cosine on every draw). The
 * rest go out of line to sim_ziggurat_edge, so that the common draw saves no registers. */
static inline double sim_standard_normal(sim_rng *rng) {
  for (;;) {
    uint64_t bits = sim_rng_next(rng);
    unsigned layer = (unsigned)(bits & 0xFF);
    /* The upper 52 bits, disjoint from the layer's: u = (k + 1/2) / 2^51 - 1 is exact, in (-1, 1),
     * symmetric about 0 and never 0. */
    double u = ((double)(bits >> 12) + 0.5) * 0x1.0p-51 - 1.0;
    double x = u * sim_ziggurat_x[layer];
    if (__builtin_expect(fabs(x) < sim_ziggurat_x[layer + 1], 1)) return x;
    double edge;
    if (sim_ziggurat_edge(rng, layer, u, x, &edge)) return edge;
  }
}

static inline double sim_normal(sim_rng *rng, double mean, double std) {
  return mean + std * sim_standard_normal(rng);
}
double sim_lognormal(sim_rng *rng, double mu, double sigma);
double sim_laplace(sim_rng *rng, double loc, double scale);
/* Gamma(shape, scale), shape > 0 and scale > 0: mean shape * scale. */
double sim_gamma(sim_rng *rng, double shape, double scale);
uint32_t sim_poisson(sim_rng *rng, double lambda);
/* Rayleigh quantile Q_s(u) = s sqrt(-2 ln(1-u)). */
double sim_rayleigh_quantile(double s, double u);

/* ---- configuration (decoded from the flat parameter array) ---- */
typedef struct {
  int kind; /* 0 fixed, 1 pareto, 2 pareto-50 */
  double a, b, c, d;
} sim_balances_cfg;

typedef struct {
  double p[TAOS_SIM_PARAM_COUNT];
  uint64_t seed, start, duration, step, grace;
  uint32_t books, threads, remote;
  bool reference;
  int price_dp, volume_dp, base_dp, quote_dp;
  double tick, lot;
  uint32_t fee_slots, fee_tiers;
  uint64_t fee_period;
  tx_fee_tier fee_tier[8]; /* in the exchange's units, as every book opens with them */
  sim_balances_cfg remote_bal, init_bal, sty_bal, hft_bal, algo_bal, fut_bal;
  uint32_t n_init, n_sty, n_hft, n_algo, n_fut;
  /* each background group's fee policy (group order as the local ids); 0 tiers: the exchange's */
  uint32_t group_fee_tiers[5];
  tx_fee_tier group_fee_tier[5][TAOS_SIM_GROUP_FEE_TIERS];
} sim_config;

#define P(cfg, name) ((cfg)->p[TAOS_SIM_P_##name])

/* ---- messages of a book's event loop ---- */
enum sim_msg_kind {
  MSG_INIT_START = 1,   /* initialization agents seed the book */
  MSG_PLACE_LIMIT,      /* order reaches the exchange */
  MSG_PLACE_MARKET,
  MSG_CANCEL,           /* cancel (volume 0 = whole order) */
  MSG_ACK,              /* placement response reaches the agent (a = order id or SIM_NONE) */
  MSG_POLL,             /* agent receives a top-of-book snapshot */
  MSG_ALGO_WAKEUP,
};

typedef struct {
  uint64_t time, seq;
  int64_t price, volume;
  uint64_t aux; /* expiry ns (remote GTT), latency (local placements) */
  uint32_t slot; /* account slot of the sender */
  uint32_t a;    /* order id / client order id */
  uint16_t kind;
  uint8_t dir, flags; /* flags: bit0 post-only, bits1-2 tif, bits3-5 stp, bit6 quote currency */
  uint32_t leverage; /* placements: margin leverage in 10^-6 (0 = cash order) */
} sim_msg;

typedef struct {
  sim_msg *items;
  size_t size, cap; /* size counts a vacant root */
  bool root_vacant; /* the root was taken and nothing has filled it yet */
} sim_heap;

int sim_heap_push(sim_heap *heap, const sim_msg *msg);
/* Removes the earliest message. */
void sim_heap_pop(sim_heap *heap, sim_msg *out);
/* Copies out the earliest message and leaves its place vacant until the next push, which sinks
 * from the root (most messages send one, often the sender's next poll: that saves a push from the
 * bottom and the refill of the root), or until sim_heap_settle. items[0] is stale and `size` one
 * too many until then. */
void sim_heap_take(sim_heap *heap, sim_msg *out);
/* Fills a vacant root from the bottom; nothing to do otherwise. */
void sim_heap_settle(sim_heap *heap);

/* ---- accounts ---- */
/* Free and reserved balances of an account in one book (base and quote units). */
typedef struct {
  int64_t base_free, base_reserved, quote_free, quote_reserved;
  int64_t base_loan, quote_loan, base_collateral, quote_collateral; /* margin */
} sim_account;

/* Per-agent per-book state of the background agents. */
typedef struct {
  double *returns; /* ring of hist_len */
  uint32_t head, filled;
  double last_price;
  bool order_in_flight;
  bool regime;               /* in the book-imbalance regime (regimeChangeFlag only) */
  double regime_prob, tau_f; /* current switching probability and fundamentalist horizon */
} sim_sty_book;

typedef struct {
  double inventory;
} sim_hft_book;

typedef struct {
  double buy_bucket, sell_bucket, to_execute, last_price;
  int status; /* 0 asleep, 1 ready, 2 executing */
  uint8_t dir;
} sim_algo_book;

typedef struct {
  double last_ext, last_return, factor, factor0;
  uint64_t last_count; /* ext_count at the last poll */
  uint32_t polls;
  bool order_in_flight;
} sim_fut_book;

#define SIM_STY_MAX_ROUNDS 10

/* Shared (book-independent) per-agent parameters of stylized traders. */
typedef struct {
  double wf, wc, wn, tau_a, aversion;
  uint32_t hist_len, offset; /* offset: start of this agent's ring in a book's return store */
} sim_sty_params;

struct taos_sim;

/* One publish step of the last advance on a book: an advance runs one step, or a window of
 * several in one visit of the book when nothing remote is in play (see taos_sim_advance_steps). */
typedef struct {
  uint64_t time; /* its end: a publish instant */
  uint64_t messages;
  size_t events_end; /* its events end here in the book's events and begin where the previous
                        step's end (at 0 for the first) */
  double fundamental, external;
  uint32_t levels[2]; /* levels on each side at its end */
} sim_step_mark;

typedef struct {
  struct taos_sim *sim;
  uint32_t id;
  uint64_t now, seq, messages;
  sim_heap heap;
  /* the book's exchange: one core handle with one book, touched only by this book's thread */
  tx_exchange *ex;
  uint32_t group_policy[5]; /* fee policy of each background group */
  double last_trade_price;
  uint64_t last_trade_time;
  bool traded;
  uint32_t *reset_count; /* per remote account: resets so far (seeds its next balances) */
  /* events since the last publish */
  taos_sim_event *events;
  size_t n_events, cap_events;
  size_t kept_events; /* recorded after the last advance (injections): kept for the next one */
  /* the steps of the last advance, with the first `depth` levels per side at each step's end */
  sim_step_mark *marks;
  int64_t *mark_levels; /* per step, side and level: price (ticks), volume (lots) */
  size_t cap_marks, cap_mark_levels;
  /* processes */
  sim_rng fund_rng, ext_rng;
  double fund_value, fund_w, fund_j;
  uint64_t fund_k, fund_last_seed, ext_last_seed, last_update;
  double ext_value;
  uint64_t ext_count; /* samples drawn: a 1 ms interval passes 2^32 in 50 simulated days */
  /* agents */
  sim_rng *rng; /* per local agent: decisions */
  sim_rng *lat_rng; /* per local agent: latencies */
  sim_sty_book *sty;
  double *sty_returns;
  double *history_normals; /* draws of the initial price path shared by stylized agents */
  sim_hft_book *hft;
  tx_order *hft_orders; /* scratch: one HFT agent's resting orders, for its inventory cancel */
  size_t hft_orders_cap;
  sim_algo_book *algo;
  sim_fut_book *fut;
  int error;
} sim_book;

struct taos_sim {
  sim_config cfg;
  uint32_t n_slots, local_base; /* slot = remote id for remote, local_base + k for local agents */
  uint32_t off_init, off_sty, off_hft, off_algo, off_fut; /* local index offsets */
  int32_t *local_ids;       /* agent id per local index */
  sim_account *local_start; /* initial balances per local index (same for every book) */
  sim_sty_params *sty_params;
  /* the least uniform draw giving a stylized poll more than k selection rounds (k = 0..9, +inf
   * for none): see sim_stylized_rounds */
  double sty_rounds_above[SIM_STY_MAX_ROUNDS];
  sim_book *books;
  uint64_t now;
  bool ended;
  uint32_t window_steps, window_depth; /* steps run by the last advance, L2 levels kept of each */
  /* optional recorded price feeds: fundamental seed prices per update, external samples */
  double *feed[2];
  size_t feed_len[2];
  bool feed_on[2]; /* the series follows its feed (set or extended), even while it is empty */
  bool external_live; /* the external feed is extended between advances: its newest sample counts */
  double live_fundamental; /* latest live seed price (0 = none): overrides the recorded feed */
  /* thread pool */
  struct sim_pool *pool;
};

/* market (sim_market.c): the book's exchange core and the translation of its events */
/* A configuration the book's exchange refuses returns TAOS_SIM_ERR_CONFIG with its message in
 * err. */
int sim_book_init(sim_book *book, char *err, size_t err_len);
void sim_book_free(sim_book *book);
/* A non-negative amount in whole units of 10^-decimals, truncated (a decimal that misses a unit
 * only by its binary representation counts as on it), capped at 9e18. */
int64_t sim_units(double amount, int decimals);
int64_t sim_lots_to_base(const sim_config *cfg, int64_t lots);
int64_t sim_base_to_lots(const sim_config *cfg, int64_t base);
void sim_place_limit(sim_book *book, const sim_msg *msg);
void sim_place_market(sim_book *book, const sim_msg *msg);
void sim_cancel(sim_book *book, const sim_msg *msg);
void sim_reset_account(sim_book *book, uint32_t slot);
/* Moves the book's exchange clock to book->now: fee rolls and due GTT expiries, or at a step's
 * end (`at_step_end`) the rolls and only the expiries due before it, as a publish at that instant
 * comes before the messages arriving at it. */
void sim_market_advance(sim_book *book, bool at_step_end);
int32_t sim_agent_id(const struct taos_sim *sim, uint32_t slot);
void sim_initial_account(const struct taos_sim *sim, uint32_t book, uint32_t slot,
                         sim_account *out);
void sim_local_balances(const sim_config *cfg, const sim_balances_cfg *bal, uint32_t local,
                        sim_account *out);

/* Best bid and ask in ticks, -1 for an empty side. */
void sim_best(const sim_book *book, int64_t *bid, int64_t *ask);
/* Total resting volume of a side (base units). */
int64_t sim_side_volume(const sim_book *book, int side);
/* An account's balances in the book. */
sim_account sim_account_of(const sim_book *book, uint32_t slot);
/* The resting order `id`, when it is still in the book. */
bool sim_order_get(const sim_book *book, uint32_t id, tx_order *out);
/* Fee state of a remote account: rolling volume (quote), maker rate, taker rate. */
void sim_fee_state(const sim_book *book, uint32_t slot, double out[3]);

size_t sim_book_levels(const sim_book *book, int side, size_t max_levels, int64_t *prices,
                       int64_t *volumes);
size_t sim_book_level_orders(const sim_book *book, int side, size_t level_index,
                             taos_sim_order *out, size_t capacity);
size_t sim_book_account_orders(const sim_book *book, uint32_t slot, taos_sim_order *out,
                               size_t capacity);

/* agents (sim_agents.c) */
int sim_agents_init(struct taos_sim *sim);
int sim_agents_book_init(sim_book *book);
void sim_agents_book_free(sim_book *book);
void sim_agents_handle(sim_book *book, const sim_msg *msg);
/* Selection rounds of a stylized poll for the uniform draw u (sim_agents_init must have run), and
 * the same from the Rayleigh quantile directly. */
int sim_stylized_rounds(const struct taos_sim *sim, double u);
int sim_stylized_rounds_of_quantile(double scale, double u);
void sim_agents_on_trade(sim_book *book, uint32_t aggressor, uint32_t resting, int dir,
                         int64_t price, int64_t volume);
void sim_ack(sim_book *book, const sim_msg *msg, uint32_t order_id);
int sim_send(sim_book *book, sim_msg *msg);

#pragma GCC visibility pop

#endif
