/* Both C interfaces refuse bad arguments with their documented code instead of touching memory:
 * a NULL handle in every call, NULL output buffers with a nonzero capacity (read as "count only"),
 * zero capacities, out-of-range sides, books, agents and indices, and one-byte error buffers.
 * The exchange's calls also take every record buffer at any address (a host packing records into
 * a byte array need not align them); the sanitizer build reports a misaligned access. */
#include "sim_harness.h"
#include "taos_exchange.h"

static void exchange_arguments(void) {
  tx_event events[4];
  tx_order orders[2];
  tx_loan loans[2];
  tx_balances balances;
  tx_fee_state fees;
  tx_book_info info;
  int64_t prices[2], volumes[2];
  const tx_event *view = NULL;
  uint32_t index = 0;
  tx_fee_tier tier = {0};
  CHECK(tx_add_account(NULL, 0, 0, 0) == TX_ERR_ARGUMENT);
  CHECK(tx_set_balances(NULL, 0, 0, 0, 0) == TX_ERR_ARGUMENT);
  CHECK(tx_add_fee_policy(NULL, &tier, 1, &index, NULL, 0) == TX_ERR_ARGUMENT);
  CHECK(tx_set_fee_policy(NULL, 0, 0) == TX_ERR_ARGUMENT);
  CHECK(tx_submit(NULL, 0, NULL, 0) == TX_ERR_ARGUMENT);
  CHECK(tx_advance(NULL, 0) == TX_ERR_ARGUMENT);
  CHECK(tx_advance_before(NULL, 0) == TX_ERR_ARGUMENT);
  CHECK(tx_pending_events(NULL) == 0);
  CHECK(tx_drain_events(NULL, events, 4) == 0);
  CHECK(tx_peek_events(NULL, &view) == 0);
  tx_discard_events(NULL, 1);
  CHECK(tx_book_levels(NULL, 0, 0, prices, volumes, 2) == -TX_ERR_ARGUMENT);
  CHECK(tx_level_orders(NULL, 0, 0, 0, orders, 2) == -TX_ERR_ARGUMENT);
  CHECK(tx_agent_orders(NULL, 0, 0, orders, 2) == -TX_ERR_ARGUMENT);
  CHECK(tx_agent_loans(NULL, 0, 0, loans, 2) == -TX_ERR_ARGUMENT);
  CHECK(tx_book_info_get(NULL, 0, &info) == TX_ERR_ARGUMENT);
  CHECK(tx_order_get(NULL, 0, 0, orders) == TX_ERR_ARGUMENT);
  CHECK(tx_balances_get(NULL, 0, 0, &balances) == TX_ERR_ARGUMENT);
  CHECK(tx_fee_state_get(NULL, 0, 0, &fees) == TX_ERR_ARGUMENT);
  CHECK(tx_check(NULL, NULL, 0) == TX_ERR_ARGUMENT);
  tx_close(NULL);

  tx_config config = {.book_count = 1, .price_decimals = 2, .volume_decimals = 4,
                      .base_decimals = 4, .quote_decimals = 8, .agent_count = 2,
                      .default_base = 1000000, .default_quote = 1000000000000,
                      .fee_slot_period_ns = 1000000000, .fee_history_slots = 1,
                      .fee_tier_count = 1};
  tx_exchange *ex = NULL;
  CHECK(tx_open(NULL, &ex, NULL, 0) == TX_ERR_ARGUMENT);
  CHECK(tx_open(&config, NULL, NULL, 0) == TX_ERR_ARGUMENT);
  tx_config bad = config;
  bad.book_count = 0;
  char one[1] = {'x'};
  CHECK(tx_open(&bad, &ex, one, sizeof one) == TX_ERR_CONFIG && one[0] == '\0' && ex == NULL);
  CHECK(tx_open(&config, &ex, NULL, 0) == TX_OK);
  CHECK(tx_submit(ex, 1, NULL, 1) == TX_ERR_ARGUMENT);
  /* A resting order on each side, so that the snapshots have something to copy. */
  tx_instruction in[2] = {
      {.kind = TX_INSTR_LIMIT, .direction = TX_BUY, .agent_id = 0, .client_order_id = TX_NONE,
       .volume = 10000, .price = 100},
      {.kind = TX_INSTR_LIMIT, .direction = TX_SELL, .agent_id = 1, .client_order_id = TX_NONE,
       .volume = 10000, .price = 200},
  };
  CHECK(tx_submit(ex, 1, in, 2) == TX_OK);
  CHECK(tx_drain_events(ex, NULL, 4) == 0);
  CHECK(tx_drain_events(ex, events, 0) == 0);
  CHECK(tx_peek_events(ex, NULL) == 0);
  CHECK(tx_pending_events(ex) == 4);
  tx_discard_events(ex, SIZE_MAX);
  CHECK(tx_pending_events(ex) == 0);
  CHECK(tx_book_levels(ex, 0, 0, NULL, NULL, 2) == 1);
  CHECK(tx_book_levels(ex, 0, 2, prices, volumes, 2) == -TX_ERR_ARGUMENT);
  CHECK(tx_book_levels(ex, 0, -1, prices, volumes, 2) == -TX_ERR_ARGUMENT);
  CHECK(tx_book_levels(ex, 1, 0, prices, volumes, 2) == -TX_ERR_BOOK);
  CHECK(tx_level_orders(ex, 0, 0, 0, NULL, 2) == 1);
  CHECK(tx_level_orders(ex, 0, 1, UINT32_MAX, orders, 2) == -TX_ERR_NOT_FOUND);
  CHECK(tx_agent_orders(ex, 0, 0, NULL, 2) == 1);
  CHECK(tx_agent_orders(ex, INT32_MIN, 0, orders, 2) == -TX_ERR_AGENT);
  CHECK(tx_agent_loans(ex, 0, 0, NULL, 2) == 0);
  CHECK(tx_book_info_get(ex, 0, NULL) == TX_ERR_ARGUMENT);
  CHECK(tx_order_get(ex, 0, 0, NULL) == TX_ERR_ARGUMENT);
  CHECK(tx_order_get(ex, 0, UINT32_MAX, orders) == TX_ERR_NOT_FOUND);
  CHECK(tx_balances_get(ex, 0, 0, NULL) == TX_ERR_ARGUMENT);
  CHECK(tx_fee_state_get(ex, 0, 0, NULL) == TX_ERR_ARGUMENT);
  CHECK(tx_add_fee_policy(ex, NULL, 1, &index, NULL, 0) == TX_ERR_ARGUMENT);
  CHECK(tx_add_fee_policy(ex, &tier, 1, NULL, NULL, 0) == TX_ERR_ARGUMENT);
  CHECK(tx_set_fee_policy(ex, 0, UINT32_MAX) == TX_ERR_ARGUMENT);
  CHECK(tx_check(ex, NULL, 0) == TX_OK);
  tx_close(ex);
}

/* Each record buffer of the exchange API one byte past an 8-byte boundary: the calls read and
 * write the same bytes as with aligned buffers. */
static void exchange_misaligned_buffers(void) {
  static _Alignas(16) unsigned char bytes[4096];
  unsigned char *odd = bytes + 1;
  tx_config config = {.book_count = 1, .price_decimals = 2, .volume_decimals = 4,
                      .base_decimals = 4, .quote_decimals = 8, .agent_count = 2,
                      .default_base = 1000000, .default_quote = 1000000000000,
                      .max_leverage_e9 = 2000000000, .max_loan = 1000000000000,
                      .maintenance_margin_e9 = 100000000, .fee_slot_period_ns = 1000000000,
                      .fee_history_slots = 1, .fee_tier_count = 1};
  memcpy(odd, &config, sizeof config);
  tx_exchange *ex = NULL;
  CHECK(tx_open((const tx_config *)(void *)odd, &ex, NULL, 0) == TX_OK);
  if (ex == NULL) return;
  tx_fee_tier tiers[2] = {{0, 1000000, 2000000}, {100, 0, 1000000}};
  memcpy(odd, tiers, sizeof tiers);
  uint32_t index = 0;
  CHECK(tx_add_fee_policy(ex, (const tx_fee_tier *)(void *)odd, 2, (uint32_t *)(void *)(odd + 64),
                          NULL, 0) == TX_OK);
  memcpy(&index, odd + 64, sizeof index);
  CHECK(index == 1);
  /* A resting sell, and a leveraged buy that takes part of it: an order and a loan to copy. */
  tx_instruction in[2] = {
      {.kind = TX_INSTR_LIMIT, .direction = TX_SELL, .agent_id = 1, .client_order_id = 7,
       .volume = 30000, .price = 100},
      {.kind = TX_INSTR_LIMIT, .direction = TX_BUY, .agent_id = 0, .client_order_id = 8,
       .volume = 10000, .price = 100, .leverage_e9 = 1000000000},
  };
  CHECK(tx_submit(ex, 1, in, 2) == TX_OK);
  tx_discard_events(ex, SIZE_MAX);

  int64_t prices[1], volumes[1];
  CHECK(tx_book_levels(ex, 0, TX_SELL, (int64_t *)(void *)odd, (int64_t *)(void *)(odd + 16),
                       1) == 1);
  CHECK(tx_book_levels(ex, 0, TX_SELL, prices, volumes, 1) == 1);
  CHECK(memcmp(odd, prices, 8) == 0 && memcmp(odd + 16, volumes, 8) == 0);

  tx_order order;
  CHECK(tx_order_get(ex, 0, 0, &order) == TX_OK);
  CHECK(tx_level_orders(ex, 0, TX_SELL, 0, (tx_order *)(void *)odd, 1) == 1);
  CHECK(memcmp(odd, &order, sizeof order) == 0);
  CHECK(tx_agent_orders(ex, 1, 0, (tx_order *)(void *)odd, 1) == 1);
  CHECK(memcmp(odd, &order, sizeof order) == 0);
  CHECK(tx_order_get(ex, 0, 0, (tx_order *)(void *)odd) == TX_OK);
  CHECK(memcmp(odd, &order, sizeof order) == 0);

  tx_loan loan;
  CHECK(tx_agent_loans(ex, 0, 0, &loan, 1) == 1);
  CHECK(tx_agent_loans(ex, 0, 0, (tx_loan *)(void *)odd, 1) == 1);
  CHECK(memcmp(odd, &loan, sizeof loan) == 0);

  tx_balances balances;
  CHECK(tx_balances_get(ex, 0, 0, &balances) == TX_OK);
  CHECK(tx_balances_get(ex, 0, 0, (tx_balances *)(void *)odd) == TX_OK);
  CHECK(memcmp(odd, &balances, sizeof balances) == 0);

  tx_fee_state fees;
  CHECK(tx_fee_state_get(ex, 0, 0, &fees) == TX_OK);
  CHECK(tx_fee_state_get(ex, 0, 0, (tx_fee_state *)(void *)odd) == TX_OK);
  CHECK(memcmp(odd, &fees, sizeof fees) == 0);

  tx_book_info info;
  CHECK(tx_book_info_get(ex, 0, &info) == TX_OK);
  CHECK(tx_book_info_get(ex, 0, (tx_book_info *)(void *)odd) == TX_OK);
  CHECK(memcmp(odd, &info, sizeof info) == 0);
  tx_close(ex);
}

static void simulation_arguments(void) {
  uint64_t now = 0, messages = 0;
  double values[3];
  int64_t balances[TAOS_SIM_BALANCE_VALUES], prices[2], volumes[2];
  taos_sim_event events[2];
  taos_sim_order orders[2];
  taos_sim_instruction instruction = {.kind = 1, .client_order_id = 0xFFFFFFFFu};
  CHECK(taos_sim_create(NULL, TAOS_SIM_PARAM_COUNT, NULL, NULL, 0) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_set_feed(NULL, 0, values, 1) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_extend_feed(NULL, 0, values, 1) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_set_live_fundamental(NULL, 1) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_advance(NULL, &now, &messages) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_advance_steps(NULL, 1, 0, &now, &messages) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_steps(NULL) == 0);
  CHECK(taos_sim_step_info(NULL, 0, 0, NULL, NULL, NULL) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_step_events(NULL, 0, 0, events, 2) == 0);
  CHECK(taos_sim_step_levels(NULL, 0, 0, 0, 2, prices, volumes) == 0);
  CHECK(taos_sim_events(NULL, 0, events, 2) == 0);
  CHECK(taos_sim_levels(NULL, 0, 0, 2, prices, volumes) == 0);
  CHECK(taos_sim_level_orders(NULL, 0, 0, 0, orders, 2) == 0);
  CHECK(taos_sim_balances(NULL, 0, 0, balances) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_account_orders(NULL, 0, 0, orders, 2) == 0);
  CHECK(taos_sim_fee_state(NULL, 0, 0, values) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_remote_accounts(NULL, 0, balances, values) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_remote_orders(NULL, 0, orders, 2) == 0);
  CHECK(taos_sim_process_values(NULL, 0, values) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_inject(NULL, 0, &instruction, 1, 0) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_agent_id(NULL, 0, 0) == 0);
  taos_sim_destroy(NULL);

  taos_sim *sim = create_with(CHANGES({"duration", 10e9}, {"init_count", 1}, {"hft_count", 4}));
  CHECK(taos_sim_set_feed(sim, 2, values, 1) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_extend_feed(sim, 0, NULL, 1) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_advance_steps(sim, 0, 0, &now, &messages) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_inject(sim, 0, NULL, 1, 0) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_inject(sim, -1, &instruction, 1, 0) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_inject(sim, 0, &instruction, 1, UINT64_MAX) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_advance(sim, &now, &messages) == 1);
  /* The first step's events, counted without a buffer to copy them into. */
  size_t recorded = taos_sim_events(sim, 0, events, 0);
  CHECK(recorded > 0);
  CHECK(taos_sim_events(sim, 0, NULL, 2) == recorded);
  CHECK(taos_sim_events(sim, 1, events, 2) == 0);
  CHECK(taos_sim_step_events(sim, 0, 0, NULL, 2) == recorded);
  CHECK(taos_sim_step_info(sim, 0, 1, NULL, NULL, NULL) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_levels(sim, 0, 2, 2, prices, volumes) == 0);
  CHECK(taos_sim_levels(sim, 0, 0, 2, NULL, NULL) > 0);
  CHECK(taos_sim_level_orders(sim, 0, 0, 0, NULL, 2) > 0);
  CHECK(taos_sim_level_orders(sim, 0, -1, 0, orders, 2) == 0);
  CHECK(taos_sim_balances(sim, 0, 0, NULL) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_balances(sim, INT32_MIN, 0, balances) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_balances(sim, 0, 1, balances) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_remote_accounts(sim, 0, NULL, values) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_remote_orders(sim, 0, NULL, 2) == 0);
  CHECK(taos_sim_process_values(sim, 0, NULL) == TAOS_SIM_ERR_ARGUMENT);
  CHECK(taos_sim_agent_id(sim, 5, 0) == 0);
  while (taos_sim_advance(sim, NULL, NULL) == 1) {
  }
  CHECK(taos_sim_advance(sim, NULL, NULL) == TAOS_SIM_ERR_ENDED);
  CHECK(taos_sim_inject(sim, 0, &instruction, 1, 0) == TAOS_SIM_ERR_ENDED);
  taos_sim_destroy(sim);
}

int main(void) {
  exchange_arguments();
  exchange_misaligned_buffers();
  simulation_arguments();
  if (failures == 0) printf("api arguments: ok\n");
  return failures != 0;
}
