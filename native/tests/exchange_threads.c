/* Distinct exchange handles used concurrently from different threads give exactly the results
 * of running them one after the other (no shared mutable state). */
#include <pthread.h>

#include "exchange_harness.h"

#define STREAM 60000
#define THREADS 4

typedef struct {
  uint64_t seed;
  uint64_t digest; /* FNV-1a over every event and the final balances */
} job;

static uint64_t fnv(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001B3ull;
  return h;
}

static void *run_job(void *arg) {
  job *j = arg;
  uint64_t state = j->seed;
  tx_config c = config_t(0, 2);
  tx_exchange *ex = NULL;
  if (tx_open(&c, &ex, NULL, 0) != TX_OK) return NULL;
  tx_instruction batch[32];
  tx_event out[1024];
  uint64_t h = 0xCBF29CE484222325ull;
  for (int step = 0; step < STREAM / 32; step++) {
    for (int i = 0; i < 32; i++) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      uint32_t r = (uint32_t)(state >> 33);
      tx_instruction in = limit_order((int)(r % 4), (int)((r >> 2) & 1), B(1 + (r >> 3) % 5),
                                      P(100) + (int64_t)((r >> 6) % 21) - 10);
      in.book_id = (r >> 11) & 1;
      if ((r >> 12) % 5 == 0) in.kind = TX_INSTR_MARKET;
      if ((r >> 12) % 5 == 1) {
        in.kind = TX_INSTR_CANCEL;
        in.order_id = (r >> 15) % 2000;
      }
      batch[i] = in;
    }
    if (tx_submit(ex, (uint64_t)step * 1000, batch, 32) != TX_OK) break;
    size_t n;
    while ((n = tx_drain_events(ex, out, 1024)) > 0) h = fnv(h, out, n * sizeof *out);
  }
  for (int agent = 0; agent < 4; agent++) {
    for (uint32_t book = 0; book < 2; book++) {
      tx_balances b;
      tx_balances_get(ex, agent, book, &b);
      h = fnv(h, &b, sizeof b);
    }
  }
  tx_close(ex);
  j->digest = h;
  return NULL;
}

int main(void) {
  job sequential[THREADS], concurrent[THREADS];
  pthread_t threads[THREADS];
  for (int i = 0; i < THREADS; i++) {
    sequential[i] = (job){.seed = (uint64_t)i % 2 + 1};
    concurrent[i] = sequential[i];
    run_job(&sequential[i]);
  }
  for (int i = 0; i < THREADS; i++) {
    if (pthread_create(&threads[i], NULL, run_job, &concurrent[i]) != 0) {
      fprintf(stderr, "pthread_create failed\n");
      return 1;
    }
  }
  for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
  for (int i = 0; i < THREADS; i++) {
    EXPECT(sequential[i].digest != 0);
    EXPECT_EQ(concurrent[i].digest, sequential[i].digest);
  }
  /* Same seed, same results; different seeds, different results. */
  EXPECT_EQ(sequential[0].digest, sequential[2].digest);
  EXPECT(sequential[0].digest != sequential[1].digest);
  if (failures > 0) return 1;
  printf("exchange threads: %d concurrent handles matched their sequential runs\n", THREADS);
  return 0;
}
