/* The C tests' assertion: a failed check is reported with its place and counted, and the test goes
 * on, so one run lists every failure; main returns non-zero when `failures` is. */
#ifndef TAOS_TEST_CHECK_H
#define TAOS_TEST_CHECK_H

#include <stdio.h>

static int failures = 0;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                     \
      failures++;                                                                                  \
    }                                                                                              \
  } while (0)

#endif
