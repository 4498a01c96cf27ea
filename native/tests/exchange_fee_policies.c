/* Several fee policies in one exchange: each account pays by its own policy's tiers, every fill
 * counts towards the account's one volume history whatever policy governs it, and a policy
 * switch or a reset keeps that bookkeeping consistent. */
#include "exchange_harness.h"

/* Policy 1: zero fees (production background groups). Policy 2: 0.3 % / 0.4 %, free from 500. */
static const tx_fee_tier zero_fee[1] = {{0, 0, 0}};
static const tx_fee_tier steep[2] = {{0, 3000000, 4000000}, {QW(500), 0, 0}};

static void check_ok(tx_exchange *ex) {
  char err[256];
  int rc = tx_check(ex, err, sizeof err);
  if (rc != TX_OK) fprintf(stderr, "tx_check: %s\n", err);
  EXPECT_EQ(rc, TX_OK);
}

static tx_fee_state fee_state(tx_exchange *ex, int agent) {
  tx_fee_state s;
  memset(&s, 0, sizeof s);
  EXPECT_EQ(tx_fee_state_get(ex, agent, 0, &s), TX_OK);
  return s;
}

static void test_policy_api(void) {
  tx_config c = config_t(0, 1);
  tx_exchange *ex = open_exchange(&c);
  uint32_t index = 99;
  char err[256];
  EXPECT_EQ(tx_add_fee_policy(ex, zero_fee, 1, &index, err, sizeof err), TX_OK);
  EXPECT_EQ(index, 1);
  EXPECT_EQ(tx_add_fee_policy(ex, steep, 2, &index, err, sizeof err), TX_OK);
  EXPECT_EQ(index, 2);
  tx_fee_tier bad[2] = {{0, 0, 0}, {0, 0, 0}};
  EXPECT_EQ(tx_add_fee_policy(ex, bad, 2, &index, err, sizeof err), TX_ERR_CONFIG);
  EXPECT(strstr(err, "fee_tiers[1].volume_required") != NULL);
  /* The first tier applies below the second whatever its own threshold (reference rule). */
  bad[0].volume_required = Q(1);
  EXPECT_EQ(tx_add_fee_policy(ex, bad, 1, &index, err, sizeof err), TX_OK);
  EXPECT_EQ(index, 3);
  /* A threshold is a traded volume, never negative: with {-1, 0} an account that never traded
   * took tier 1 when switched to the policy, tier 0 when under it from the start. */
  tx_fee_tier negative[2] = {{-Q(1), 0, 0}, {0, 5000000, 5000000}};
  EXPECT_EQ(tx_add_fee_policy(ex, negative, 2, &index, err, sizeof err), TX_ERR_CONFIG);
  EXPECT(strstr(err, "fee_tiers[0].volume_required: must be >= 0") != NULL);
  tx_config negative_config = c;
  negative_config.fee_tiers[0].volume_required = -1;
  tx_exchange *refused = NULL;
  EXPECT_EQ(tx_open(&negative_config, &refused, err, sizeof err), TX_ERR_CONFIG);
  tx_close(refused);
  bad[0] = (tx_fee_tier){0, 1000000000LL, 0};
  EXPECT_EQ(tx_add_fee_policy(ex, bad, 1, &index, err, sizeof err), TX_ERR_CONFIG);
  EXPECT(strstr(err, "maker_e9") != NULL);
  EXPECT_EQ(tx_add_fee_policy(ex, zero_fee, 0, &index, err, sizeof err), TX_ERR_CONFIG);
  EXPECT_EQ(tx_set_fee_policy(ex, C, 4), TX_ERR_ARGUMENT);
  EXPECT_EQ(tx_set_fee_policy(ex, 77, 1), TX_ERR_AGENT);
  EXPECT_EQ(tx_set_fee_policy(ex, -5, 1), TX_ERR_AGENT);
  EXPECT_EQ(tx_add_account(ex, -5, B(10), Q(1000)), TX_OK);
  EXPECT_EQ(tx_set_fee_policy(ex, -5, 1), TX_OK);
  /* The table holds TX_MAX_FEE_POLICIES; one more is refused with a message. */
  for (int i = 4; i < TX_MAX_FEE_POLICIES; i++) {
    EXPECT_EQ(tx_add_fee_policy(ex, zero_fee, 1, &index, err, sizeof err), TX_OK);
  }
  EXPECT_EQ(tx_add_fee_policy(ex, zero_fee, 1, &index, err, sizeof err), TX_ERR_CONFIG);
  EXPECT(strstr(err, "fee policies") != NULL);
  tx_close(ex);
}

static void test_charging_and_history(void) {
  tx_config c = config_t(0, 1);
  tx_exchange *ex = open_exchange(&c);
  uint32_t zero = 0, steep_index = 0;
  EXPECT_EQ(tx_add_fee_policy(ex, zero_fee, 1, &zero, NULL, 0), TX_OK);
  EXPECT_EQ(tx_add_fee_policy(ex, steep, 2, &steep_index, NULL, 0), TX_OK);
  EXPECT_EQ(tx_set_fee_policy(ex, C, zero), TX_OK);
  EXPECT_EQ(tx_set_fee_policy(ex, D, steep_index), TX_OK);
  clock_ns = SEC(1);

  /* A (exchange policy, 0.1 % maker) rests a sell; C (zero fee) lifts it. */
  run(ex, limit_order(A, TX_SELL, B(10), P(100)));
  run(ex, market_order(C, TX_BUY, B(10)));
  const tx_event *trade = nth_event(TX_EV_TRADE, 0);
  EXPECT(trade != NULL);
  if (trade != NULL) {
    EXPECT_EQ(trade->notional, Q(1000));
    EXPECT_EQ(trade->maker_fee, Q(1));
    EXPECT_EQ(trade->taker_fee, 0);
  }
  tx_balances bal;
  EXPECT_EQ(tx_balances_get(ex, C, 0, &bal), TX_OK);
  EXPECT_EQ(bal.quote_free, Q(9000));
  EXPECT_EQ(bal.base_free, B(110));

  /* A zero-fee buy reserves exactly its notional; D's steep policy reserves 0.3 % more. */
  run(ex, limit_order(C, TX_BUY, B(1), P(89)));
  EXPECT_EQ(tx_balances_get(ex, C, 0, &bal), TX_OK);
  EXPECT_EQ(bal.quote_reserved, Q(89));
  run(ex, limit_order(D, TX_BUY, B(1), P(90)));
  EXPECT_EQ(tx_balances_get(ex, D, 0, &bal), TX_OK);
  EXPECT_EQ(bal.quote_reserved, Q(90.27));

  /* B (exchange policy, 0.2 % taker) sells into D's better bid: D pays its 0.3 % maker rate. */
  run(ex, market_order(BB, TX_SELL, B(1)));
  trade = nth_event(TX_EV_TRADE, 0);
  EXPECT(trade != NULL);
  if (trade != NULL) {
    EXPECT_EQ(trade->resting_agent_id, D);
    EXPECT_EQ(trade->maker_fee, Q(0.27));
    EXPECT_EQ(trade->taker_fee, Q(0.18));
  }
  check_ok(ex);

  /* Every fill counted in the one history, whatever the policy: after the roll C's 1000 of
   * volume earns nothing more in the one-tier zero policy, but switching C to the exchange
   * policy puts it at once in tier 1 (1000 required), and the steep policy in its free tier. */
  EXPECT_EQ(fee_state(ex, C).volume, Q(1000));
  EXPECT_EQ(fee_state(ex, C).tier, 0);
  EXPECT_EQ(tx_advance(ex, SEC(3600)), TX_OK);
  EXPECT_EQ(fee_state(ex, C).tier, 0);
  EXPECT_EQ(fee_state(ex, C).maker_e9, 0);
  EXPECT_EQ(tx_set_fee_policy(ex, C, 0), TX_OK);
  EXPECT_EQ(fee_state(ex, C).tier, 1);
  EXPECT_EQ(fee_state(ex, C).maker_e9, 500000);
  EXPECT_EQ(tx_set_fee_policy(ex, C, steep_index), TX_OK);
  EXPECT_EQ(fee_state(ex, C).tier, 1);
  EXPECT_EQ(fee_state(ex, C).taker_e9, 0);
  /* D's 90 of volume keeps it in the steep policy's first tier. */
  EXPECT_EQ(fee_state(ex, D).tier, 0);
  EXPECT_EQ(fee_state(ex, D).taker_e9, 4000000);

  /* A reset clears the history and tier but keeps the agent's policy. */
  clock_ns = SEC(3601);
  tx_instruction reset = limit_order(C, 0, 0, 0);
  reset.kind = TX_INSTR_RESET;
  run(ex, reset);
  EXPECT_EQ(count_events(TX_EV_RESET), 1);
  EXPECT_EQ(fee_state(ex, C).volume, 0);
  EXPECT_EQ(fee_state(ex, C).tier, 0);
  EXPECT_EQ(fee_state(ex, C).maker_e9, 3000000);
  check_ok(ex);
  tx_close(ex);
}

int main(void) {
  test_policy_api();
  test_charging_and_history();
  if (failures > 0) {
    fprintf(stderr, "exchange_fee_policies: %d failure(s)\n", failures);
    return 1;
  }
  printf("exchange_fee_policies: ok\n");
  return 0;
}
