/* Random streams (xoshiro256**, seeded through splitmix64 from a hash of seed, book, agent and
 * purpose so that a book's draws never depend on other books or on thread scheduling), the
 * distributions the agents use, and the message priority queue. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void sim_rng_seed(sim_rng *rng, uint64_t seed, uint64_t book, uint64_t agent, uint64_t purpose) {
  uint64_t state = seed;
  uint64_t mix = splitmix64(&state);
  state = mix ^ (book * 0xD1B54A32D192ED03ull);
  mix = splitmix64(&state);
  state = mix ^ (agent * 0x8CB92BA72F3D8DD7ull);
  mix = splitmix64(&state);
  state = mix ^ (purpose * 0xABC98388FB8FAC03ull);
  for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&state);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sim_rng_next(sim_rng *rng) {
  uint64_t *s = rng->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double sim_uniform(sim_rng *rng) { return (double)(sim_rng_next(rng) >> 11) * 0x1.0p-53; }

double sim_uniform_range(sim_rng *rng, double lo, double hi) {
  return lo + (hi - lo) * sim_uniform(rng);
}

double sim_normal(sim_rng *rng, double mean, double std) {
  /* Box-Muller, one value per call: no cached second value that could leak across reseeds. */
  double u1 = 1.0 - sim_uniform(rng);
  double u2 = sim_uniform(rng);
  return mean + std * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double sim_lognormal(sim_rng *rng, double mu, double sigma) {
  return exp(sim_normal(rng, mu, sigma));
}

double sim_laplace(sim_rng *rng, double loc, double scale) {
  double u = sim_uniform(rng) - 0.5;
  double sign = u < 0 ? -1.0 : 1.0;
  return loc - scale * sign * log(1.0 - 2.0 * fabs(u));
}

uint32_t sim_poisson(sim_rng *rng, double lambda) {
  /* Inversion: lambda is tiny (jump probability per update). */
  double u = sim_uniform(rng);
  double p = exp(-lambda), cumulative = p;
  uint32_t k = 0;
  while (u > cumulative && k < 1000) {
    k++;
    p *= lambda / k;
    cumulative += p;
  }
  return k;
}

double sim_rayleigh_quantile(double s, double u) { return s * sqrt(-2.0 * log(1.0 - u)); }

/* ---- binary heap ordered by (time, seq) ---- */
static bool earlier(const sim_msg *a, const sim_msg *b) {
  return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

int sim_heap_push(sim_heap *heap, const sim_msg *msg) {
  if (heap->size == heap->cap) {
    size_t cap = heap->cap ? heap->cap * 2 : 1024;
    sim_msg *items = realloc(heap->items, cap * sizeof *items);
    if (items == NULL) return TAOS_SIM_ERR_MEMORY;
    heap->items = items;
    heap->cap = cap;
  }
  size_t i = heap->size++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!earlier(msg, &heap->items[parent])) break;
    heap->items[i] = heap->items[parent];
    i = parent;
  }
  heap->items[i] = *msg;
  return TAOS_SIM_OK;
}

void sim_heap_pop(sim_heap *heap, sim_msg *out) {
  *out = heap->items[0];
  sim_msg last = heap->items[--heap->size];
  size_t i = 0, n = heap->size;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && earlier(&heap->items[child + 1], &heap->items[child])) child++;
    if (!earlier(&heap->items[child], &last)) break;
    heap->items[i] = heap->items[child];
    i = child;
  }
  if (n > 0) heap->items[i] = last;
}
