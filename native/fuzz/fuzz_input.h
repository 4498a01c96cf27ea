/* What the libFuzzer harnesses share: reading the input as a stream of little-endian values, and
 * stopping with a message when an invariant fails (abort, so libFuzzer keeps the input). */
#ifndef TAOS_FUZZ_INPUT_H
#define TAOS_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define REQUIRE(cond, ...)                                                                         \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, __LINE__, #cond);                \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fputc('\n', stderr);                                                                         \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

typedef struct {
  const uint8_t *data;
  size_t size, at;
} input;

/* The next `bytes` bytes as a little-endian integer; past the end of the input, zeros. */
static inline uint64_t take(input *in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) {
    v |= (uint64_t)(in->at < in->size ? in->data[in->at] : 0) << (8 * i);
    in->at++;
  }
  return v;
}

#endif
