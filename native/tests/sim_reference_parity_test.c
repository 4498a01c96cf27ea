/* The reference simulator's own unit tests of its message queue and bounded histories, carried
 * over to their counterparts here: a book's event queue (messages in arrival order, equal arrivals
 * in the order they were sent) and a stylized trader's return ring (the newest returns, at most
 * its history length of them). */
#include <math.h>
#include <stdio.h>

#include "seeded_random.h"
#include "sim_harness.h"

/* Sends a message arriving at `time` whose `a` names it. */
static void send_at(sim_book *book, uint64_t time, uint32_t name) {
  sim_msg msg = {.time = time, .kind = MSG_POLL, .a = name};
  CHECK(sim_send(book, &msg) == TAOS_SIM_OK);
}

static uint32_t pop_name(sim_book *book) {
  sim_msg msg;
  sim_heap_pop(&book->heap, &msg);
  return msg.a;
}

/* reference MessageQueueTests API: four sent, three taken, one left. */
static void test_queue_counts_what_it_holds(void) {
  taos_sim *sim = create_with(CHANGES({"sty_count", 0}));
  sim_book *book = empty_book(sim);
  CHECK(book->heap.size == 0);
  for (uint32_t i = 0; i < 4; i++) send_at(book, 0, i);
  CHECK(book->heap.size == 4);
  for (int i = 0; i < 3; i++) pop_name(book);
  CHECK(book->heap.size == 1);
  taos_sim_destroy(sim);
}

/* reference MessageQueueTests EqualArrivals: messages arriving at one instant come out in the
 * order they were sent (1st, 2nd, 3rd of four). */
static void test_equal_arrivals_keep_their_sending_order(void) {
  taos_sim *sim = create_with(CHANGES({"sty_count", 0}));
  sim_book *book = empty_book(sim);
  for (uint32_t i = 1; i <= 4; i++) send_at(book, 0, i);
  for (uint32_t i = 1; i <= 3; i++) CHECK(pop_name(book) == i);
  taos_sim_destroy(sim);
}

/* reference MessageQueueTests DifferingArrivals: the 1st to 4th message sent arrive at 3, 2, 1
 * and 0 ns; the earliest arrival comes out first (4th, 3rd, 2nd). */
static void test_earlier_arrivals_come_first(void) {
  taos_sim *sim = create_with(CHANGES({"sty_count", 0}));
  sim_book *book = empty_book(sim);
  for (uint32_t i = 1; i <= 4; i++) send_at(book, 4 - i, i);
  CHECK(pop_name(book) == 4);
  CHECK(pop_name(book) == 3);
  CHECK(pop_name(book) == 2);
  taos_sim_destroy(sim);
}

/* Both rules at once over many messages, sent between pops as the event loop sends them: every
 * message comes out by arrival, and among equal arrivals in sending order. */
static void test_arrival_then_sending_order_over_a_long_run(void) {
  enum { MESSAGES = 5000 };
  taos_sim *sim = create_with(CHANGES({"sty_count", 0}));
  sim_book *book = empty_book(sim);
  rng_state = 51;
  static uint64_t arrival[MESSAGES];
  uint32_t sent = 0, taken = 0;
  uint64_t last_time = 0;
  uint32_t last_name = 0, out_of_order = 0;
  while (taken < MESSAGES) {
    /* send up to three messages no earlier than the last one taken (the clock never goes back),
     * few distinct instants so that ties are common */
    int burst = (int)uniform(0, 3);
    for (int i = 0; i < burst && sent < MESSAGES; i++) {
      arrival[sent] = last_time + (uint64_t)uniform(0, 3);
      send_at(book, arrival[sent], sent);
      sent++;
    }
    if (book->heap.size == 0) continue;
    uint32_t name = pop_name(book);
    bool in_order = arrival[name] > last_time || (arrival[name] == last_time && name > last_name);
    if (taken > 0 && !in_order && out_of_order++ == 0) {
      fprintf(stderr, "message %u (at %llu) after %u (at %llu)\n", name,
              (unsigned long long)arrival[name], last_name, (unsigned long long)last_time);
    }
    last_time = arrival[name];
    last_name = name;
    taken++;
  }
  CHECK(out_of_order == 0);
  CHECK(book->heap.size == 0);
  taos_sim_destroy(sim);
}

/* reference LimitedDequeTests PushBack and CapacityRespected, on a stylized trader's return ring
 * (the reference keeps these returns in such a deque): with a history length of 50, 60 polls
 * leave 50 returns, the newest, oldest first from the ring's head. The poll's return is
 * log(mid / last price), so the last price set before each poll chooses it. */
static void test_return_history_keeps_the_newest_up_to_its_length(void) {
  taos_sim *sim = create_with(CHANGES({"sty_count", 1}, {"sty_tau_hist", 1}));
  sim_book *book = quoted_book(sim);
  const uint32_t capacity = sim->sty_params[0].hist_len;
  CHECK(capacity == 50);
  sim_sty_book *st = &book->sty[0];
  uint32_t slot = sim->local_base + sim->off_sty;
  sim_msg poll = {.time = book->now, .kind = MSG_POLL, .slot = slot};
  const int polls = 60;
  for (int i = 1; i <= polls; i++) {
    st->last_price = 300.0 / exp(i * 1e-3);
    st->order_in_flight = true; /* record the return only, decide nothing */
    book->heap.size = 0;
    sim_agents_handle(book, &poll);
  }
  CHECK(st->filled == capacity);
  for (uint32_t k = 0; k < capacity; k++) {
    double expected = (polls - (int)capacity + 1 + (int)k) * 1e-3;
    CHECK(fabs(st->returns[(st->head + k) % capacity] - expected) < 1e-12);
  }
  taos_sim_destroy(sim);
}

int main(void) {
  test_queue_counts_what_it_holds();
  test_equal_arrivals_keep_their_sending_order();
  test_earlier_arrivals_come_first();
  test_arrival_then_sending_order_over_a_long_run();
  test_return_history_keeps_the_newest_up_to_its_length();
  if (failures > 0) fprintf(stderr, "%d check(s) failed\n", failures);
  return failures > 0;
}
