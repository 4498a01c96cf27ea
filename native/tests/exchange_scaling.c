/* Scaling by powers of ten: the reciprocal multiplication used for the exchange's fixed shifts
 * truncates exactly as the division it replaces, for every shift and across the int64 range. */
#include <stdint.h>

#include "../src/exchange_internal.h"
#include "check.h"

/* splitmix64: a seeded stream of 64-bit values. */
static uint64_t next(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* What scaling by 10^k must give: C's truncating division by a power of ten up to 10^18, the
 * value itself for k = 0, the general 128-bit path (saturating) otherwise. */
static int64_t expected(int64_t v, int k) {
  if (k < 0 && k >= -18) return v / x_pow10[-k];
  if (k == 0) return v;
  return x_scale(v, k);
}

static void check_value(const x_scaler *sc, int64_t v) {
  int64_t got = x_scale_by(sc, v), want = expected(v, sc->k);
  if (got != want && failures < 10) {
    fprintf(stderr, "k=%d v=%lld: got %lld, want %lld\n", sc->k, (long long)v, (long long)got,
            (long long)want);
  }
  if (got != want) failures++;
}

int main(void) {
  uint64_t state = 79;
  for (int k = -20; k <= 20; k++) {
    x_scaler sc = x_scaler_for(k);
    const int64_t edges[] = {0, 1, -1, 9, 10, 11, -9, -10, -11, INT64_MAX, INT64_MIN, -INT64_MAX,
                             INT64_MAX - 1, INT64_MIN + 1, 999999999999999999ll,
                             1000000000000000000ll, -1000000000000000000ll};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) check_value(&sc, edges[i]);
    /* Around every multiple of the divisor's powers of ten, and uniformly over int64 and over
     * each magnitude. */
    for (int e = 0; e <= 18; e++) {
      for (int64_t delta = -2; delta <= 2; delta++) {
        check_value(&sc, x_pow10[e] + delta);
        check_value(&sc, -x_pow10[e] + delta);
        check_value(&sc, x_pow10[e] * 7 + delta);
      }
    }
    for (int i = 0; i < 200000; i++) {
      uint64_t r = next(&state);
      check_value(&sc, (int64_t)r);
      check_value(&sc, (int64_t)(r >> (r % 63)) * ((r & 1) ? -1 : 1));
    }
  }
  if (failures == 0) printf("exchange scaling: all passed\n");
  return failures != 0;
}
