/* The simulation's per-book market: each book drives its own exchange core handle (one book per
 * handle, touched only by the book's thread) and turns the core's events into the simulation's
 * event record, the background agents' acknowledgements and their trade callbacks. Remote
 * accounts pay the exchange's tiered fees; a background group pays its own tiers where the
 * configuration gives it some, else the exchange's. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

static int64_t pow10i(int n) {
  int64_t r = 1;
  while (n-- > 0) r *= 10;
  return r;
}

/* Scales x by 10^shift, truncating toward zero when shift < 0. */
static int64_t rescale(__int128 x, int shift) {
  if (shift >= 0) return (int64_t)(x * pow10i(shift));
  return (int64_t)(x / pow10i(-shift));
}

int64_t sim_lots_to_base(const sim_config *cfg, int64_t lots) {
  return rescale(lots, cfg->base_dp - cfg->volume_dp);
}

int64_t sim_base_to_lots(const sim_config *cfg, int64_t base) {
  return rescale(base, cfg->volume_dp - cfg->base_dp);
}

int32_t sim_agent_id(const struct taos_sim *sim, uint32_t slot) {
  return slot < sim->cfg.remote ? (int32_t)slot : sim->local_ids[slot - sim->local_base];
}

static bool is_remote(const sim_book *book, uint32_t slot) { return slot < book->sim->cfg.remote; }

/* Account slot of an agent id (remote ids are slots; background ids count down from -1). */
static uint32_t slot_of(const sim_book *book, int32_t agent) {
  return agent >= 0 ? (uint32_t)agent : book->sim->local_base + (uint32_t)(-1 - (int64_t)agent);
}

/* ---- initial balances ---- */
static void draw_balances(const sim_balances_cfg *bal, sim_rng *rng, double *base, double *quote) {
  if (bal->kind == 0) {
    *base = bal->a;
    *quote = bal->b;
    return;
  }
  double u = sim_uniform(rng);
  double r = bal->a * pow(1.0 - u, -1.0 / bal->b);
  double wealth = bal->c, price = bal->d;
  *base = wealth / (price * (1.0 + r));
  *quote = wealth * r / (1.0 + r);
  if (bal->kind == 2 && sim_uniform(rng) < 0.5) {
    *base = wealth * r / ((1.0 + r) * price);
    *quote = wealth / (1.0 + r);
  }
}

/* An amount in whole units of 10^-decimals, truncated. A product that misses a whole unit only by
 * the binary representation of a decimal (0.29 x 100 is 28.999999999999996) counts as that unit,
 * by the rule sim/grid.ts applies to prices and volumes, so that a configured 0.29 is 29 units. */
int64_t sim_units(double amount, int decimals) {
  double scaled = amount * (double)pow10i(decimals);
  double nearest = nearbyint(scaled);
  double units = fabs(scaled - nearest) <= scaled * 1e-14 ? nearest : floor(scaled);
  return units > 9.0e18 ? (int64_t)9.0e18 : (int64_t)units;
}

void sim_initial_account(const struct taos_sim *sim, uint32_t book, uint32_t slot,
                         sim_account *out) {
  const sim_config *cfg = &sim->cfg;
  memset(out, 0, sizeof *out);
  if (slot >= cfg->remote) {
    *out = sim->local_start[slot - sim->local_base];
    return;
  }
  sim_rng rng;
  uint32_t resets = sim->books[book].reset_count ? sim->books[book].reset_count[slot] : 0;
  sim_rng_seed(&rng, cfg->seed, book, slot, SIM_RNG_BALANCE + ((uint64_t)resets << 16));
  double base, quote;
  draw_balances(&cfg->remote_bal, &rng, &base, &quote);
  out->base_free = sim_units(base, cfg->base_dp);
  out->quote_free = sim_units(quote, cfg->quote_dp);
}

/* Balances of a background agent: one draw, the same on every book. */
void sim_local_balances(const sim_config *cfg, const sim_balances_cfg *bal, uint32_t local,
                        sim_account *out) {
  sim_rng rng;
  sim_rng_seed(&rng, cfg->seed, SIM_NONE, cfg->remote + local, SIM_RNG_BALANCE);
  double base, quote;
  draw_balances(bal, &rng, &base, &quote);
  memset(out, 0, sizeof *out);
  out->base_free = sim_units(base, cfg->base_dp);
  out->quote_free = sim_units(quote, cfg->quote_dp);
}


/* ---- the book's exchange ---- */
/* A failed setup call of the book's exchange: out of memory, or a configuration error described
 * in err (by the exchange itself where it gave a message). */
static int exchange_refused(int rc, char *err, size_t err_len, const char *what) {
  if (rc == TX_ERR_NOMEM) return TAOS_SIM_ERR_MEMORY;
  if (err && err_len && err[0] == '\0') {
    snprintf(err, err_len, "the book's exchange refused %s (%s)", what, tx_errstr(rc));
  }
  return TAOS_SIM_ERR_CONFIG;
}

int sim_book_init(sim_book *book, char *err, size_t err_len) {
  const struct taos_sim *sim = book->sim;
  const sim_config *cfg = &sim->cfg;
  tx_config c;
  memset(&c, 0, sizeof c);
  c.book_count = 1;
  c.price_decimals = (uint32_t)cfg->price_dp;
  c.volume_decimals = (uint32_t)cfg->volume_dp;
  c.base_decimals = (uint32_t)cfg->base_dp;
  c.quote_decimals = (uint32_t)cfg->quote_dp;
  c.agent_count = cfg->remote;
  /* truncated so that the core's exact check of maintenance_margin <= 1/(2(1+L)) still holds,
   * except that a product within a double's error of a whole number is that number (1.001 x 1e9
   * is 1000999999.9999999): the limit meant, which the check holds for as exactly */
  double leverage_scaled = P(cfg, max_leverage) * 1e9, leverage_whole = round(leverage_scaled);
  c.max_leverage_e9 =
      (int64_t)(fabs(leverage_scaled - leverage_whole) <= leverage_scaled * 4 * DBL_EPSILON
                    ? leverage_whole
                    : leverage_scaled);
  c.max_loan = sim_units(P(cfg, max_loan), cfg->quote_dp);
  c.maintenance_margin_e9 = (int64_t)(P(cfg, maintenance_margin) * 1e9);
  c.fee_slot_period_ns = cfg->fee_period;
  c.fee_history_slots = cfg->fee_slots;
  c.fee_tier_count = cfg->fee_tiers;
  memcpy(c.fee_tiers, cfg->fee_tier, cfg->fee_tiers * sizeof cfg->fee_tier[0]);
  int rc = tx_open(&c, &book->ex, err, err_len);
  if (rc != TX_OK) return exchange_refused(rc, err, err_len, "its configuration");
  /* A background group with its own fee tiers trades under them; one without pays the
   * exchange's, as the reference's fee wrapper falls back to the exchange policy (production:
   * the initialization, HFT, futures and stylized groups have a zero-fee tier; ALGO pays). */
  for (int g = 0; g < 5; g++) {
    uint32_t count = cfg->group_fee_tiers[g];
    if (count == 0) {
      book->group_policy[g] = 0; /* the exchange's */
      continue;
    }
    rc = tx_add_fee_policy(book->ex, cfg->group_fee_tier[g], count, &book->group_policy[g], err,
                           err_len);
    if (rc != TX_OK) return exchange_refused(rc, err, err_len, "a group's fee tiers");
  }
  const uint32_t group_end[] = {sim->off_sty, sim->off_hft, sim->off_algo, sim->off_fut,
                                sim->n_slots - sim->local_base};
  book->reset_count = calloc(cfg->remote ? cfg->remote : 1, sizeof(uint32_t));
  if (book->reset_count == NULL) return TAOS_SIM_ERR_MEMORY;
  for (uint32_t s = 0; s < sim->n_slots; s++) {
    sim_account a;
    sim_initial_account(sim, book->id, s, &a);
    int32_t agent = sim_agent_id(sim, s);
    if (s < cfg->remote) {
      rc = tx_set_balances(book->ex, agent, 0, a.base_free, a.quote_free);
    } else {
      uint32_t g = 0;
      while (s - sim->local_base >= group_end[g]) g++;
      rc = tx_add_account(book->ex, agent, a.base_free, a.quote_free);
      if (rc == TX_OK) rc = tx_set_fee_policy(book->ex, agent, book->group_policy[g]);
    }
    if (rc != TX_OK) {
      char what[64];
      snprintf(what, sizeof what, "agent %d's starting balances", agent);
      return exchange_refused(rc, err, err_len, what);
    }
  }
  book->last_trade_price = P(cfg, initial_price);
  return TAOS_SIM_OK;
}

void sim_book_free(sim_book *book) {
  tx_close(book->ex);
  book->ex = NULL;
  free(book->reset_count);
  free(book->events);
  free(book->marks);
  free(book->mark_levels);
  free(book->heap.items);
}

/* Appends one record to the book's event stream (kept until the next publish). */
static int sim_record(sim_book *book, const taos_sim_event *event) {
  if (book->n_events == book->cap_events) {
    size_t cap = book->cap_events ? book->cap_events * 2 : 1024;
    taos_sim_event *events = realloc(book->events, cap * sizeof *events);
    if (events == NULL) {
      book->error = TAOS_SIM_ERR_MEMORY;
      return TAOS_SIM_ERR_MEMORY;
    }
    book->events = events;
    book->cap_events = cap;
  }
  book->events[book->n_events++] = *event;
  return TAOS_SIM_OK;
}

/* ---- from the core's events to the simulation's record ---- */
static void note_trade(sim_book *book, const tx_event *e) {
  const sim_config *cfg = &book->sim->cfg;
  int64_t lots = sim_base_to_lots(cfg, e->volume);
  taos_sim_event ev = {.kind = TAOS_SIM_EV_TRADE, .timestamp = e->timestamp, .price = e->price,
                       .volume = lots, .fee_maker = e->maker_fee, .fee_taker = e->taker_fee,
                       .order_id = e->order_id, .resting_order_id = e->resting_order_id,
                       .trade_id = e->trade_id, .agent_id = e->agent_id,
                       .resting_agent_id = e->resting_agent_id,
                       .client_order_id = e->client_order_id,
                       .reserved = e->resting_client_order_id, .direction = e->direction};
  sim_record(book, &ev);
  book->last_trade_price = (double)e->price * cfg->tick;
  book->last_trade_time = book->now;
  book->traded = true;
  sim_agents_on_trade(book, slot_of(book, e->agent_id), slot_of(book, e->resting_agent_id),
                      e->direction, e->price, lots);
}

/* Volume removed from an order: from a resting one by its owner, self-trade prevention, a reset
 * or expiry; from an incoming one before it could rest (its dropped market or IOC remainder, or
 * self-trade prevention), so that the record's place entries always add up. */
static void note_cancel(sim_book *book, const tx_event *e) {
  bool dropped = e->type == TX_EV_STP_REDUCED || e->type == TX_EV_REMAINDER_DROPPED;
  bool stp = e->type == TX_EV_CANCELLED && e->reason == TX_CAUSE_STP;
  uint8_t flags = (uint8_t)(((e->flags & TX_EVF_PARTIAL) ? TAOS_SIM_EVF_PARTIAL : 0) |
                            ((e->flags & TX_EVF_MARKET) ? TAOS_SIM_EVF_MARKET : 0) |
                            (dropped ? TAOS_SIM_EVF_DROPPED : 0) | (stp ? TAOS_SIM_EVF_STP : 0));
  taos_sim_event ev = {.kind = TAOS_SIM_EV_CANCEL, .timestamp = e->timestamp, .price = e->price,
                       .volume = sim_base_to_lots(&book->sim->cfg, e->volume),
                       .order_id = e->order_id, .agent_id = e->agent_id,
                       .client_order_id = e->client_order_id, .direction = e->direction,
                       .leverage_e9 = e->leverage_e9, .flags = flags};
  sim_record(book, &ev);
}

/* The outcome of a placement: the record's place or reject line, announced before its fills. */
static void note_outcome(sim_book *book, const sim_msg *msg, const tx_event *e, bool market) {
  bool remote = is_remote(book, msg->slot);
  taos_sim_event ev = {.timestamp = book->now, .agent_id = sim_agent_id(book->sim, msg->slot),
                       .client_order_id = remote ? msg->a : SIM_NONE, .direction = msg->dir,
                       .flags = market ? TAOS_SIM_EVF_MARKET : 0};
  if (e != NULL && e->type == TX_EV_ACCEPTED) {
    ev.kind = TAOS_SIM_EV_PLACE;
    ev.order_id = e->order_id;
    ev.leverage_e9 = e->leverage_e9;
    ev.price = market ? 0 : msg->price;
    if (market && (msg->flags & 0x40)) {
      /* sized in quote: the requested quote amount, as the reference's response reports it */
      ev.volume = msg->volume;
      ev.flags |= TAOS_SIM_EVF_QUOTE;
    } else {
      ev.volume = sim_base_to_lots(&book->sim->cfg, e->volume);
    }
    sim_record(book, &ev);
  } else if (remote) {
    ev.kind = TAOS_SIM_EV_REJECT;
    ev.order_id = SIM_NONE;
    ev.price = msg->price;
    ev.volume = msg->volume;
    if (market && (msg->flags & 0x40)) ev.flags |= TAOS_SIM_EVF_QUOTE;
    ev.code = e != NULL ? e->reason : TX_R_INVALID_INSTRUCTION;
    sim_record(book, &ev);
  }
}

/* A margin call's liquidation, a market order the core places for the loan's owner outside any
 * instruction (its events carry no instruction index): the record announces it as the owner's
 * placement, as the reference's exchange sends PLACE_ORDER_MARKET in the owner's name, before its
 * first fill or dropped remainder (the core's acceptance comes after them). Returns its id. */
static uint32_t note_liquidation(sim_book *book, const tx_event *events, size_t from, size_t n,
                                 uint32_t order_id) {
  const tx_event *e = NULL;
  for (size_t j = from; j < n && e == NULL; j++) {
    const tx_event *c = &events[j];
    if (c->type == TX_EV_ACCEPTED && c->instruction == TX_NONE && c->order_id == order_id) e = c;
  }
  if (e == NULL) return TX_NONE;
  taos_sim_event ev = {.kind = TAOS_SIM_EV_PLACE, .timestamp = e->timestamp, .price = 0,
                       .volume = sim_base_to_lots(&book->sim->cfg, e->volume),
                       .order_id = e->order_id, .agent_id = e->agent_id,
                       .client_order_id = SIM_NONE, .direction = e->direction,
                       .leverage_e9 = e->leverage_e9, .flags = TAOS_SIM_EVF_MARKET};
  sim_record(book, &ev);
  return order_id;
}

/* Translates the waiting core events. `msg` is the placement that caused instruction 0 (NULL
 * for cancels and clock moves); a cancel's own rejection is reported through *cancel_failed. */
static const tx_event *translate(sim_book *book, const sim_msg *msg, bool market,
                                 bool *cancel_failed) {
  const tx_event *events;
  size_t n = tx_peek_events(book->ex, &events);
  const tx_event *outcome = NULL;
  if (msg != NULL) {
    for (size_t i = n; i-- > 0;) {
      const tx_event *e = &events[i];
      if (e->instruction == 0 && (e->type == TX_EV_ACCEPTED || e->type == TX_EV_REJECTED)) {
        outcome = e;
        break;
      }
    }
  }
  bool announced = msg == NULL;
  uint32_t liquidation = TX_NONE; /* the liquidation order announced last */
  for (size_t i = 0; i < n; i++) {
    const tx_event *e = &events[i];
    bool unannounced_liquidation =
        e->instruction == TX_NONE && e->order_id != liquidation &&
        (e->type == TX_EV_TRADE || e->type == TX_EV_REMAINDER_DROPPED || e->type == TX_EV_ACCEPTED);
    if (unannounced_liquidation) liquidation = note_liquidation(book, events, i, n, e->order_id);
    if (!announced && e->instruction == 0) {
      note_outcome(book, msg, outcome, market);
      announced = true;
    }
    switch (e->type) {
    case TX_EV_TRADE: note_trade(book, e); break;
    case TX_EV_CANCELLED:
    case TX_EV_EXPIRED:
    case TX_EV_STP_REDUCED:
    case TX_EV_REMAINDER_DROPPED: note_cancel(book, e); break;
    case TX_EV_REJECTED:
      if (msg == NULL && e->instruction == 0 && cancel_failed) *cancel_failed = true;
      /* A GTT expiry that found its order gone (filled before it): the remote owner hears of a
       * failed cancel, as the reference's scheduled cancel is answered. */
      if ((e->flags & TX_EVF_EXPIRY) && e->agent_id >= 0 && is_remote(book, (uint32_t)e->agent_id)) {
        taos_sim_event ev = {.kind = TAOS_SIM_EV_CANCEL_FAIL, .timestamp = e->timestamp,
                             .order_id = e->order_id, .agent_id = e->agent_id,
                             .client_order_id = SIM_NONE};
        sim_record(book, &ev);
      }
      break;
    default: break;
    }
  }
  if (!announced) note_outcome(book, msg, outcome, market);
  tx_discard_events(book->ex, n);
  return outcome;
}

/* Runs one instruction through the book's exchange at book->now. */
static bool submit(sim_book *book, const tx_instruction *in) {
  int rc = tx_submit(book->ex, book->now, in, 1);
  if (rc == TX_OK) return true;
  book->error = rc == TX_ERR_NOMEM ? TAOS_SIM_ERR_MEMORY : TAOS_SIM_ERR_ARGUMENT;
  return false;
}

static tx_instruction placement(const sim_book *book, const sim_msg *msg, uint8_t kind) {
  const sim_config *cfg = &book->sim->cfg;
  bool quote = kind == TX_INSTR_MARKET && (msg->flags & 0x40);
  tx_instruction in = {.kind = kind, .direction = msg->dir,
                       .currency = quote ? TX_CURRENCY_QUOTE : TX_CURRENCY_BASE,
                       .stp = (uint8_t)((msg->flags >> 3) & 7),
                       .agent_id = sim_agent_id(book->sim, msg->slot), .book_id = 0,
                       .client_order_id = is_remote(book, msg->slot) ? msg->a : TX_NONE,
                       .order_id = TX_NONE,
                       .volume = quote ? msg->volume : sim_lots_to_base(cfg, msg->volume),
                       .leverage_e9 = (int64_t)msg->leverage * 1000};
  if (msg->volume <= 0) in.volume = msg->volume; /* rejected by the core as INVALID_VOLUME */
  return in;
}

void sim_place_limit(sim_book *book, const sim_msg *msg) {
  tx_instruction in = placement(book, msg, TX_INSTR_LIMIT);
  in.price = msg->price;
  in.time_in_force = (uint8_t)((msg->flags >> 1) & 3);
  in.post_only = msg->flags & 1;
  /* Only remote orders carry an expiry (a local placement's aux is its latency). */
  bool gtt = in.time_in_force == TX_GTT && is_remote(book, msg->slot);
  if (gtt) in.expiry_ns = msg->aux;
  else if (in.time_in_force == TX_GTT) in.time_in_force = TX_GTC;
  if (!submit(book, &in)) return;
  const tx_event *outcome = translate(book, msg, false, NULL);
  bool accepted = outcome != NULL && outcome->type == TX_EV_ACCEPTED;
  uint32_t id = accepted ? outcome->order_id : SIM_NONE;
  if (gtt && accepted) {
    /* wake the book when the order's lifetime ends so its expiry lands at exactly that time (an
     * order filled at once finds itself gone then, as in the reference) */
    sim_msg expiry = {.time = book->now + msg->aux, .kind = MSG_CANCEL, .slot = msg->slot,
                      .a = id, .flags = 0x80};
    sim_send(book, &expiry);
  }
  if (!is_remote(book, msg->slot)) sim_ack(book, msg, id);
}

void sim_place_market(sim_book *book, const sim_msg *msg) {
  tx_instruction in = placement(book, msg, TX_INSTR_MARKET);
  if (!submit(book, &in)) return;
  const tx_event *outcome = translate(book, msg, true, NULL);
  bool accepted = outcome != NULL && outcome->type == TX_EV_ACCEPTED;
  if (!is_remote(book, msg->slot)) sim_ack(book, msg, accepted ? outcome->order_id : SIM_NONE);
}

void sim_market_advance(sim_book *book, bool at_step_end) {
  int rc = at_step_end ? tx_advance_before(book->ex, book->now) : tx_advance(book->ex, book->now);
  if (rc != TX_OK) {
    book->error = TAOS_SIM_ERR_ARGUMENT;
    return;
  }
  translate(book, NULL, false, NULL);
}

void sim_cancel(sim_book *book, const sim_msg *msg) {
  if (msg->flags & 0x80) { /* a GTT lifetime ended: the core expires the order itself */
    sim_market_advance(book, false);
    return;
  }
  tx_instruction in = {.kind = TX_INSTR_CANCEL, .agent_id = sim_agent_id(book->sim, msg->slot),
                       .client_order_id = TX_NONE, .order_id = msg->a};
  if (msg->volume > 0 || (msg->flags & 1)) { /* bit 0: partial, even of 0 lots */
    in.flags = TX_IF_PARTIAL;
    in.volume = sim_lots_to_base(&book->sim->cfg, msg->volume);
  }
  if (!submit(book, &in)) return;
  bool failed = false;
  translate(book, NULL, false, &failed);
  if (failed && is_remote(book, msg->slot)) {
    taos_sim_event ev = {.kind = TAOS_SIM_EV_CANCEL_FAIL, .timestamp = book->now,
                         .order_id = msg->a, .volume = msg->volume,
                         .agent_id = (int32_t)msg->slot, .client_order_id = SIM_NONE};
    sim_record(book, &ev);
  }
}

void sim_reset_account(sim_book *book, uint32_t slot) {
  tx_instruction in = {.kind = TX_INSTR_RESET, .agent_id = sim_agent_id(book->sim, slot),
                       .client_order_id = TX_NONE, .order_id = TX_NONE};
  if (!submit(book, &in)) return;
  translate(book, NULL, false, NULL);
  /* a reset account starts over with freshly drawn balances */
  book->reset_count[slot]++;
  sim_account a;
  sim_initial_account(book->sim, book->id, slot, &a);
  if (tx_set_balances(book->ex, (int32_t)slot, 0, a.base_free, a.quote_free) != TX_OK) {
    book->error = TAOS_SIM_ERR_ARGUMENT;
    return;
  }
  /* purge the agent's instructions still in flight */
  size_t kept = 0;
  for (size_t i = 0; i < book->heap.size; i++) {
    const sim_msg *m = &book->heap.items[i];
    bool own = m->slot == slot && (m->kind == MSG_PLACE_LIMIT || m->kind == MSG_PLACE_MARKET ||
                                   m->kind == MSG_CANCEL);
    if (!own) book->heap.items[kept++] = *m;
  }
  sim_heap rebuilt = {0};
  size_t n = kept;
  book->heap.size = 0;
  sim_msg *items = book->heap.items;
  rebuilt.items = malloc((n ? n : 1) * sizeof(sim_msg));
  if (rebuilt.items == NULL) {
    book->error = TAOS_SIM_ERR_MEMORY;
    return;
  }
  rebuilt.cap = n ? n : 1;
  for (size_t i = 0; i < n; i++) sim_heap_push(&rebuilt, &items[i]);
  free(items);
  book->heap = rebuilt;
}

/* ---- read access for the agents and for publishing ---- */
void sim_best(const sim_book *book, int64_t *bid, int64_t *ask) {
  tx_book_info info;
  if (tx_book_info_get(book->ex, 0, &info) != TX_OK) {
    *bid = *ask = -1;
    return;
  }
  *bid = info.bid_levels ? info.best_bid : -1;
  *ask = info.ask_levels ? info.best_ask : -1;
}

int64_t sim_side_volume(const sim_book *book, int side) {
  tx_book_info info;
  if (tx_book_info_get(book->ex, 0, &info) != TX_OK) return 0;
  return side == 0 ? info.bid_volume : info.ask_volume;
}

sim_account sim_account_of(const sim_book *book, uint32_t slot) {
  tx_balances b;
  sim_account out = {0};
  if (tx_balances_get(book->ex, sim_agent_id(book->sim, slot), 0, &b) == TX_OK) {
    out = (sim_account){.base_free = b.base_free, .base_reserved = b.base_reserved,
                        .quote_free = b.quote_free, .quote_reserved = b.quote_reserved,
                        .base_loan = b.base_loan, .quote_loan = b.quote_loan,
                        .base_collateral = b.base_collateral,
                        .quote_collateral = b.quote_collateral};
  }
  return out;
}

bool sim_order_get(const sim_book *book, uint32_t id, tx_order *out) {
  return tx_order_get(book->ex, 0, id, out) == TX_OK;
}

void sim_fee_state(const sim_book *book, uint32_t slot, double out[3]) {
  tx_fee_state f;
  if (tx_fee_state_get(book->ex, sim_agent_id(book->sim, slot), 0, &f) != TX_OK) {
    out[0] = out[1] = out[2] = 0;
    return;
  }
  /* Divided by the exact power of ten: multiplying by its inexact inverse adds float noise
   * (2776.9989760000003 for 2776.998976). */
  out[0] = (double)f.volume / pow(10.0, book->sim->cfg.quote_dp);
  out[1] = (double)f.maker_e9 / 1e9;
  out[2] = (double)f.taker_e9 / 1e9;
}

size_t sim_book_levels(const sim_book *book, int s, size_t max_levels, int64_t *prices,
                       int64_t *volumes) {
  int64_t n = tx_book_levels(book->ex, 0, s, prices, volumes, max_levels);
  if (n < 0) return 0;
  for (size_t i = 0; i < max_levels && i < (size_t)n; i++) {
    if (volumes != NULL) volumes[i] = sim_base_to_lots(&book->sim->cfg, volumes[i]);
  }
  return (size_t)n;
}

static taos_sim_order order_record(const sim_book *book, const tx_order *o) {
  return (taos_sim_order){.timestamp = o->timestamp, .price = o->price,
                          .volume = sim_base_to_lots(&book->sim->cfg, o->volume),
                          .order_id = o->order_id, .agent_id = o->agent_id,
                          .client_order_id = o->client_order_id, .direction = o->direction,
                          .leverage_e9 = o->leverage_e9};
}

size_t sim_book_level_orders(const sim_book *book, int s, size_t level_index, taos_sim_order *out,
                             size_t capacity) {
  if (level_index > UINT32_MAX) return 0;
  int64_t n = tx_level_orders(book->ex, 0, s, (uint32_t)level_index, NULL, 0);
  if (n <= 0) return 0;
  size_t take = capacity < (size_t)n ? capacity : (size_t)n;
  if (take > 0 && out != NULL) {
    tx_order *orders = malloc(take * sizeof *orders);
    if (orders == NULL) return 0;
    tx_level_orders(book->ex, 0, s, (uint32_t)level_index, orders, take);
    for (size_t i = 0; i < take; i++) out[i] = order_record(book, &orders[i]);
    free(orders);
  }
  return (size_t)n;
}

/* The account's resting orders, newest first. */
size_t sim_book_account_orders(const sim_book *book, uint32_t slot, taos_sim_order *out,
                               size_t capacity) {
  int32_t agent = sim_agent_id(book->sim, slot);
  int64_t n = tx_agent_orders(book->ex, agent, 0, NULL, 0);
  if (n <= 0) return 0;
  size_t take = capacity < (size_t)n ? capacity : (size_t)n;
  if (take > 0 && out != NULL) {
    tx_order *orders = malloc((size_t)n * sizeof *orders);
    if (orders == NULL) return 0;
    tx_agent_orders(book->ex, agent, 0, orders, (size_t)n);
    for (size_t i = 0; i < take; i++) out[i] = order_record(book, &orders[(size_t)n - 1 - i]);
    free(orders);
  }
  return (size_t)n;
}
