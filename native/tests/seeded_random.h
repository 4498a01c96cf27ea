/* The seeded random stream of the fuzz tests: splitmix64 over one state per test program, which a
 * test sets from its seed (and may save and restore to draw a side stream). */
#ifndef SEEDED_RANDOM_H
#define SEEDED_RANDOM_H

#include <stdint.h>

static uint64_t rng_state;

static uint64_t next_random(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* A whole number in [lo, hi]. */
static int64_t uniform(int64_t lo, int64_t hi) {
  return lo + (int64_t)(next_random() % (uint64_t)(hi - lo + 1));
}

#endif
