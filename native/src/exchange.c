/* Exchange core API: configuration, accounts, fee tiers, the clock (fee rolls, GTT expiries),
 * the event queue, snapshots and the invariant check. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exchange_internal.h"

/* ---- arithmetic ---- */

const int64_t x_pow10[19] = {1LL,
                                     10LL,
                                     100LL,
                                     1000LL,
                                     10000LL,
                                     100000LL,
                                     1000000LL,
                                     10000000LL,
                                     100000000LL,
                                     1000000000LL,
                                     10000000000LL,
                                     100000000000LL,
                                     1000000000000LL,
                                     10000000000000LL,
                                     100000000000000LL,
                                     1000000000000000LL,
                                     10000000000000000LL,
                                     100000000000000000LL,
                                     1000000000000000000LL};

/* 10^k for 0 <= k <= 38. */
static __int128 pow10_128(int k) {
  if (k <= 18) return x_pow10[k];
  __int128 r = x_pow10[18];
  for (k -= 18; k > 18; k -= 18) r *= x_pow10[18];
  return r * x_pow10[k];
}

static int64_t saturate(__int128 x) {
  if (x > INT64_MAX) return INT64_MAX;
  if (x < -INT64_MAX) return -INT64_MAX;
  return (int64_t)x;
}

int64_t x_scale(__int128 x, int k) {
  if (k < 0) {
    if (k >= -18 && x <= INT64_MAX && x >= -INT64_MAX) return (int64_t)x / x_pow10[-k];
    return saturate(x / pow10_128(-k));
  }
  __int128 r;
  if (__builtin_mul_overflow(x, pow10_128(k), &r)) return x < 0 ? -INT64_MAX : INT64_MAX;
  return saturate(r);
}

x_scaler x_scaler_for(int k) {
  x_scaler sc = {.k = k};
  if (k > 0 && k <= 18) sc.multiplier = x_pow10[k];
  if (k < 0 && k >= -18) {
    uint64_t d = (uint64_t)x_pow10[-k];
    while (((uint64_t)1 << sc.shift) < d) sc.shift++;
    unsigned __int128 m = (((unsigned __int128)1) << (64 + sc.shift)) / d + 1;
    sc.magic_lo = (uint64_t)m;
    sc.magic_hi = (uint64_t)(m >> 64);
  }
  return sc;
}

int64_t x_quote_to_base(const tx_exchange *ex, int64_t quote, int64_t price) {
  int k = (int)ex->cfg.price_decimals + (int)ex->cfg.base_decimals - (int)ex->cfg.quote_decimals;
  __int128 num = quote, den = price;
  if (k >= 0) {
    if (__builtin_mul_overflow(num, pow10_128(k), &num)) return X_MAX_VOLUME;
  } else {
    den *= pow10_128(-k);
  }
  int64_t base = saturate(num / den);
  if (base > X_MAX_VOLUME) base = X_MAX_VOLUME;
  return x_lot(ex, base);
}

/* ---- names ---- */

const char *tx_errstr(int code) {
  switch (code) {
  case TX_OK: return "TX_OK";
  case TX_ERR_ARGUMENT: return "TX_ERR_ARGUMENT";
  case TX_ERR_CONFIG: return "TX_ERR_CONFIG";
  case TX_ERR_NOMEM: return "TX_ERR_NOMEM";
  case TX_ERR_BOOK: return "TX_ERR_BOOK";
  case TX_ERR_AGENT: return "TX_ERR_AGENT";
  case TX_ERR_EXISTS: return "TX_ERR_EXISTS";
  case TX_ERR_TIME: return "TX_ERR_TIME";
  case TX_ERR_BUSY: return "TX_ERR_BUSY";
  case TX_ERR_NOT_FOUND: return "TX_ERR_NOT_FOUND";
  case TX_ERR_CORRUPT: return "TX_ERR_CORRUPT";
  case TX_ERR_LIMIT: return "TX_ERR_LIMIT";
  default: return "unknown";
  }
}

const char *tx_reason_name(int reason) {
  static const char *const names[] = {
      "VALID",
      "NONEXISTENT_ACCOUNT",
      "INSUFFICIENT_BASE",
      "INSUFFICIENT_QUOTE",
      "EMPTY_BOOK",
      "PRICE_INCREMENT_VIOLATED",
      "VOLUME_INCREMENT_VIOLATED",
      "EXCEEDING_LOAN",
      "CONTRACT_VIOLATION",
      "INVALID_LEVERAGE",
      "INVALID_VOLUME",
      "INVALID_PRICE",
      "INVALID_BOOK",
      "ORDER_NOT_FOUND",
      "INVALID_INSTRUCTION",
      "UNKNOWN", /* 15 is not assigned */
      "INVALID_EXPIRY",
      "HOLDINGS_LIMIT",
      "ORDER_IDS_EXHAUSTED",
      "BOOK_VOLUME_LIMIT",
      "AGENT_RESET",
  };
  if (reason < 0 || reason >= (int)(sizeof names / sizeof *names)) return "UNKNOWN";
  return names[reason];
}

/* ---- configuration ---- */

static int config_error(char *err, size_t err_len, const char *fmt, ...) {
  if (err != NULL && err_len > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
  }
  return TX_ERR_CONFIG;
}

/* One fee policy's tiers: 1..TX_MAX_FEE_TIERS, thresholds ascending from 0 or above, rates in
 * (-1, 1). The first tier applies below the second whatever its own threshold, as in the
 * reference. */
static int validate_tiers(const tx_fee_tier *tiers, uint32_t count, char *err, size_t err_len) {
  if (count < 1 || count > TX_MAX_FEE_TIERS) {
    return config_error(err, err_len, "fee_tier_count: must be 1..%d", TX_MAX_FEE_TIERS);
  }
  for (uint32_t i = 0; i < count; i++) {
    const tx_fee_tier *t = &tiers[i];
    /* A threshold is traded volume: a negative one would put an account that never traded on a
     * higher tier when switched to the policy than when under it from the start. */
    if (t->volume_required < 0) {
      return config_error(err, err_len, "fee_tiers[%u].volume_required: must be >= 0", i);
    }
    if (i > 0 && t->volume_required <= tiers[i - 1].volume_required) {
      return config_error(err, err_len, "fee_tiers[%u].volume_required: must be ascending", i);
    }
    if (t->maker_e9 <= -X_RATE_ONE || t->maker_e9 >= X_RATE_ONE) {
      return config_error(err, err_len, "fee_tiers[%u].maker_e9: must be in (-1e9, 1e9)", i);
    }
    if (t->taker_e9 <= -X_RATE_ONE || t->taker_e9 >= X_RATE_ONE) {
      return config_error(err, err_len, "fee_tiers[%u].taker_e9: must be in (-1e9, 1e9)", i);
    }
  }
  return TX_OK;
}

static int validate_config(const tx_config *c, char *err, size_t err_len) {
  if (c->book_count < 1 || c->book_count > 65536) {
    return config_error(err, err_len, "book_count: must be 1..65536, got %u", c->book_count);
  }
  if (c->price_decimals > 12) return config_error(err, err_len, "price_decimals: must be 0..12");
  if (c->volume_decimals > 12) return config_error(err, err_len, "volume_decimals: must be 0..12");
  if (c->base_decimals > 12) return config_error(err, err_len, "base_decimals: must be 0..12");
  if (c->quote_decimals > 18) return config_error(err, err_len, "quote_decimals: must be 0..18");
  if (c->agent_count > X_AGENT_LIMIT) {
    return config_error(err, err_len, "agent_count: must be at most %d", X_AGENT_LIMIT);
  }
  if (c->default_base < 0 || c->default_quote < 0) {
    return config_error(err, err_len, "default_base/default_quote: must not be negative");
  }
  if ((__int128)c->default_base * c->agent_count > TX_MAX_HELD ||
      (__int128)c->default_quote * c->agent_count > TX_MAX_HELD) {
    return config_error(err, err_len,
                        "default_base/default_quote: agent_count accounts would hold more than "
                        "2^62 units of an asset in a book");
  }
  if (c->max_leverage_e9 < 0 || c->max_leverage_e9 > 1000 * (int64_t)X_RATE_ONE) {
    return config_error(err, err_len, "max_leverage_e9: must be 0..1000e9");
  }
  if (c->max_loan < 0) return config_error(err, err_len, "max_loan: must not be negative");
  if (c->maintenance_margin_e9 < 0 ||
      (__int128)c->maintenance_margin_e9 * 2 * (X_RATE_ONE + c->max_leverage_e9) >
          (__int128)X_RATE_ONE * X_RATE_ONE) {
    return config_error(err, err_len,
                        "maintenance_margin_e9: must be in [0, 1/(2(1+max_leverage))]");
  }
  if (c->fee_slot_period_ns == 0) {
    return config_error(err, err_len, "fee_slot_period_ns: must be positive");
  }
  if (c->fee_history_slots < 1 || c->fee_history_slots > 1024) {
    return config_error(err, err_len, "fee_history_slots: must be 1..1024");
  }
  int rc = validate_tiers(c->fee_tiers, c->fee_tier_count, err, err_len);
  if (rc != TX_OK) return rc;
  if ((c->flags & ~(uint64_t)TX_CFG_GENERAL_PATHS) != 0) {
    return config_error(err, err_len, "flags: unknown bits set");
  }
  return TX_OK;
}

/* ---- accounts ---- */

static bool agent_in_range(int32_t agent) {
  return agent >= -X_AGENT_LIMIT && agent < X_AGENT_LIMIT;
}

static const x_account *account_const(const tx_exchange *ex, int32_t agent, uint32_t book) {
  return x_account_of((tx_exchange *)ex, agent, book);
}

int tx_add_account(tx_exchange *ex, int32_t agent_id, int64_t base, int64_t quote) {
  if (ex == NULL || base < 0 || quote < 0) return TX_ERR_ARGUMENT;
  if (!agent_in_range(agent_id)) return TX_ERR_AGENT;
  if (x_row_of(ex, agent_id) != XNONE) return TX_ERR_EXISTS;
  uint32_t z = x_zigzag(agent_id);
  uint32_t books = ex->cfg.book_count, slots = ex->cfg.fee_history_slots;
  if (z >= ex->agent_rows_cap) {
    uint32_t cap = ex->agent_rows_cap ? ex->agent_rows_cap : X_FIRST_CAPACITY(64);
    while (cap <= z) cap *= 2;
    uint32_t *rows = realloc(ex->agent_rows, (size_t)cap * sizeof *rows);
    if (rows == NULL) return TX_ERR_NOMEM;
    memset(rows + ex->agent_rows_cap, 0, (size_t)(cap - ex->agent_rows_cap) * sizeof *rows);
    ex->agent_rows = rows;
    ex->agent_rows_cap = cap;
  }
  if (ex->rows == ex->row_cap) {
    uint32_t cap = ex->row_cap ? ex->row_cap * 2 : X_FIRST_CAPACITY(16);
    x_account *accounts = realloc(ex->accounts, (size_t)cap * books * sizeof *accounts);
    if (accounts == NULL) return TX_ERR_NOMEM;
    ex->accounts = accounts;
    int64_t *fee = realloc(ex->fee_slots, (size_t)cap * books * slots * sizeof *fee);
    if (fee == NULL) return TX_ERR_NOMEM;
    ex->fee_slots = fee;
    uint64_t *reset_calls = realloc(ex->reset_calls, (size_t)cap * sizeof *reset_calls);
    if (reset_calls == NULL) return TX_ERR_NOMEM;
    ex->reset_calls = reset_calls;
    ex->row_cap = cap;
  }
  for (uint32_t b = 0; b < books; b++) {
    if (base > TX_MAX_HELD - ex->books[b].held_base ||
        quote > TX_MAX_HELD - ex->books[b].held_quote) {
      return TX_ERR_LIMIT;
    }
  }
  uint32_t row = ex->rows++;
  for (uint32_t b = 0; b < books; b++) {
    ex->books[b].held_base += base;
    ex->books[b].held_quote += quote;
    ex->accounts[(size_t)row * books + b] = (x_account){
        .base_free = base,
        .quote_free = quote,
        .init_base = base,
        .init_quote = quote,
        .head = XNONE,
        .tail = XNONE,
        .loan_head = XNONE,
        .loan_tail = XNONE,
        .agent = agent_id,
    };
    x_set_tier(ex, &ex->accounts[(size_t)row * books + b], 0);
  }
  memset(&ex->fee_slots[(size_t)row * books * slots], 0, (size_t)books * slots * sizeof(int64_t));
  ex->reset_calls[row] = 0;
  ex->agent_rows[z] = row + 1;
  return TX_OK;
}

int tx_set_balances(tx_exchange *ex, int32_t agent_id, uint32_t book_id, int64_t base,
                    int64_t quote) {
  if (ex == NULL || base < 0 || quote < 0) return TX_ERR_ARGUMENT;
  if (book_id >= ex->cfg.book_count) return TX_ERR_BOOK;
  x_account *acct = x_account_of(ex, agent_id, book_id);
  if (acct == NULL) return TX_ERR_AGENT;
  if (acct->order_count > 0 || acct->loan_head != XNONE) return TX_ERR_BUSY;
  x_book *book = &ex->books[book_id];
  /* An idle account holds exactly its free balances. */
  int64_t held_base = book->held_base - acct->base_free;
  int64_t held_quote = book->held_quote - acct->quote_free;
  if (base > TX_MAX_HELD - held_base || quote > TX_MAX_HELD - held_quote) return TX_ERR_LIMIT;
  book->held_base = held_base + base;
  book->held_quote = held_quote + quote;
  acct->base_free = acct->init_base = base;
  acct->quote_free = acct->init_quote = quote;
  return TX_OK;
}

void x_set_tier(const tx_exchange *ex, x_account *acct, uint32_t tier) {
  const tx_fee_tier *t = &ex->policies[acct->policy].tiers[tier];
  acct->tier = tier;
  acct->maker_e9 = (int32_t)t->maker_e9;
  acct->taker_e9 = (int32_t)t->taker_e9;
}

/* Highest tier of a policy whose threshold `volume` reaches. */
static uint32_t tier_for(const x_fee_policy *policy, int64_t volume) {
  uint32_t tier = 0;
  while (tier + 1 < policy->count && policy->tiers[tier + 1].volume_required <= volume) tier++;
  return tier;
}

int tx_add_fee_policy(tx_exchange *ex, const tx_fee_tier *tiers, uint32_t count,
                      uint32_t *index, char *err, size_t err_len) {
  if (err != NULL && err_len > 0) err[0] = '\0';
  if (ex == NULL || tiers == NULL || index == NULL) return TX_ERR_ARGUMENT;
  if (ex->policy_count == TX_MAX_FEE_POLICIES) {
    return config_error(err, err_len, "fee policies: at most %d", TX_MAX_FEE_POLICIES);
  }
  /* Copied first: the host's array may sit at any address. */
  tx_fee_tier copy[TX_MAX_FEE_TIERS];
  if (count >= 1 && count <= TX_MAX_FEE_TIERS) memcpy(copy, tiers, count * sizeof *tiers);
  int rc = validate_tiers(copy, count, err, err_len);
  if (rc != TX_OK) return rc;
  x_fee_policy *policy = &ex->policies[ex->policy_count];
  memset(policy, 0, sizeof *policy);
  memcpy(policy->tiers, copy, count * sizeof *copy);
  policy->count = count;
  uint32_t added = ex->policy_count++;
  memcpy(index, &added, sizeof added);
  return TX_OK;
}

int tx_set_fee_policy(tx_exchange *ex, int32_t agent_id, uint32_t policy) {
  if (ex == NULL || policy >= ex->policy_count) return TX_ERR_ARGUMENT;
  uint32_t row = x_row_of(ex, agent_id);
  if (row == XNONE) return TX_ERR_AGENT;
  for (uint32_t b = 0; b < ex->cfg.book_count; b++) {
    x_account *acct = &ex->accounts[(size_t)row * ex->cfg.book_count + b];
    acct->policy = (uint8_t)policy;
    x_set_tier(ex, acct, tier_for(&ex->policies[policy], acct->rolled_volume));
  }
  return TX_OK;
}

/* ---- fees ---- */

static int64_t *fee_history(const tx_exchange *ex, const x_account *acct) {
  size_t index = (size_t)(acct - ex->accounts);
  return &ex->fee_slots[index * ex->cfg.fee_history_slots];
}

void x_reset_fees(tx_exchange *ex, x_account *acct) {
  memset(fee_history(ex, acct), 0, ex->cfg.fee_history_slots * sizeof(int64_t));
  x_set_tier(ex, acct, 0);
  acct->rolled_volume = 0;
  acct->has_history = 0;
}

static int64_t fee_volume(const tx_exchange *ex, const x_account *acct) {
  const int64_t *slots = fee_history(ex, acct);
  int64_t sum = 0;
  for (uint32_t i = 0; i < ex->cfg.fee_history_slots; i++) sum = x_sat_add(sum, slots[i]);
  return sum;
}

/* Slot boundary: every account's tier becomes the one its last H slots earn, then the oldest
 * slot is dropped to make room for the new one. */
static void roll_fees(tx_exchange *ex) {
  uint32_t slots = ex->cfg.fee_history_slots;
  uint32_t next = (ex->fee_head + 1) % slots;
  size_t n = (size_t)ex->rows * ex->cfg.book_count;
  for (size_t i = 0; i < n; i++) {
    x_account *acct = &ex->accounts[i];
    if (!acct->has_history) continue;
    acct->rolled_volume = fee_volume(ex, acct);
    x_set_tier(ex, acct, tier_for(&ex->policies[acct->policy], acct->rolled_volume));
    ex->fee_slots[i * slots + next] = 0;
  }
  ex->fee_head = next;
}

/* ---- events ---- */

tx_event *x_push_slow(tx_exchange *ex) {
  size_t pending = (size_t)(ex->ev_write - ex->ev_read);
  if (ex->ev_read != ex->events) {
    memmove(ex->events, ex->ev_read, pending * sizeof *ex->events);
  } else {
    size_t used = (size_t)(ex->ev_end - ex->events);
    size_t cap = used ? used * 2 : X_FIRST_CAPACITY(4096);
    tx_event *events = realloc(ex->events, cap * sizeof *events);
    if (events == NULL) {
      ex->error = TX_ERR_NOMEM;
      return NULL;
    }
    ex->events = events;
    ex->ev_end = events + cap;
  }
  ex->ev_read = ex->events;
  ex->ev_write = ex->events + pending;
  return ex->ev_write++;
}

void x_emit(tx_exchange *ex, const tx_event *event) {
  tx_event *slot = x_push(ex);
  if (slot != NULL) *slot = *event;
}

size_t tx_pending_events(const tx_exchange *ex) {
  return ex == NULL ? 0 : (size_t)(ex->ev_write - ex->ev_read);
}

/* Releases the oldest `count` pending events (at most all); an empty buffer starts over. Zero
 * returns first: before the first event the buffer is NULL, and NULL + 0 is undefined. */
static void release_events(tx_exchange *ex, size_t count) {
  if (count == 0) return;
  ex->ev_read += count;
  if (ex->ev_read == ex->ev_write) ex->ev_read = ex->ev_write = ex->events;
}

size_t tx_drain_events(tx_exchange *ex, tx_event *out, size_t capacity) {
  if (ex == NULL || out == NULL) return 0;
  size_t pending = (size_t)(ex->ev_write - ex->ev_read);
  size_t n = capacity < pending ? capacity : pending;
  if (n > 0) memcpy(out, ex->ev_read, n * sizeof *out);
  release_events(ex, n);
  return n;
}

size_t tx_peek_events(const tx_exchange *ex, const tx_event **out) {
  if (ex == NULL || out == NULL) return 0;
  *out = ex->ev_read;
  return (size_t)(ex->ev_write - ex->ev_read);
}

void tx_discard_events(tx_exchange *ex, size_t count) {
  if (ex == NULL) return;
  size_t pending = (size_t)(ex->ev_write - ex->ev_read);
  release_events(ex, count < pending ? count : pending);
}

/* ---- GTT timers (binary min-heap on time, then scheduling order) ---- */

static bool timer_before(const x_timer *a, const x_timer *b) {
  return a->at != b->at ? a->at < b->at : a->seq < b->seq;
}

int x_timers_reserve(tx_exchange *ex) {
  if (ex->timer_n < ex->timer_cap) return TX_OK;
  size_t cap = ex->timer_cap ? ex->timer_cap * 2 : X_FIRST_CAPACITY(256);
  x_timer *timers = realloc(ex->timers, cap * sizeof *timers);
  if (timers == NULL) return TX_ERR_NOMEM;
  ex->timers = timers;
  ex->timer_cap = cap;
  return TX_OK;
}

void x_schedule(tx_exchange *ex, uint64_t at, const x_order *o) {
  x_timer t = {.at = at,
               .seq = ex->timer_seq++,
               .order_id = o->id,
               .client_id = o->client_id,
               .agent = o->agent,
               .book = (uint16_t)o->book,
               .dir = o->dir};
  size_t i = ex->timer_n++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!timer_before(&t, &ex->timers[parent])) break;
    ex->timers[i] = ex->timers[parent];
    i = parent;
  }
  ex->timers[i] = t;
}

static x_timer pop_timer(tx_exchange *ex) {
  x_timer top = ex->timers[0];
  x_timer last = ex->timers[--ex->timer_n];
  size_t i = 0, n = ex->timer_n;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && timer_before(&ex->timers[child + 1], &ex->timers[child])) child++;
    if (!timer_before(&ex->timers[child], &last)) break;
    ex->timers[i] = ex->timers[child];
    i = child;
  }
  if (n > 0) ex->timers[i] = last;
  return top;
}

/* ---- lifecycle ---- */

int tx_open(const tx_config *host_config, tx_exchange **out, char *err, size_t err_len) {
  if (err != NULL && err_len > 0) err[0] = '\0';
  if (host_config == NULL || out == NULL) return TX_ERR_ARGUMENT;
  *out = NULL;
  /* Copied first: the host's record may sit at any address. */
  tx_config copy;
  memcpy(&copy, host_config, sizeof copy);
  const tx_config *config = &copy;
  int rc = validate_config(config, err, err_len);
  if (rc != TX_OK) return rc;
  tx_exchange *ex = calloc(1, sizeof *ex);
  if (ex == NULL) return TX_ERR_NOMEM;
  ex->cfg = *config;
  uint32_t lot_dp = config->volume_decimals < config->base_decimals ? config->volume_decimals
                                                                    : config->base_decimals;
  ex->lot = (int64_t)pow10_128((int)(config->base_decimals - lot_dp));
  ex->notional_shift =
      (int)config->quote_decimals - (int)config->price_decimals - (int)config->base_decimals;
  ex->to_quote = x_scaler_for(ex->notional_shift);
  ex->to_fee = x_scaler_for(ex->notional_shift - 9);
  ex->free_order = XNONE;
  ex->free_loan = XNONE;
  ex->next_roll = config->fee_slot_period_ns;
  memcpy(ex->policies[0].tiers, config->fee_tiers, sizeof config->fee_tiers);
  ex->policies[0].count = config->fee_tier_count;
  ex->policy_count = 1;
  ex->books = calloc(config->book_count, sizeof *ex->books);
  if (ex->books == NULL) {
    tx_close(ex);
    return TX_ERR_NOMEM;
  }
  for (uint32_t i = 0; i < config->agent_count; i++) {
    rc = tx_add_account(ex, (int32_t)i, config->default_base, config->default_quote);
    if (rc != TX_OK) {
      tx_close(ex);
      return rc;
    }
  }
  *out = ex;
  return TX_OK;
}

void tx_close(tx_exchange *ex) {
  if (ex == NULL) return;
  if (ex->books != NULL) {
    for (uint32_t i = 0; i < ex->cfg.book_count; i++) x_book_free(&ex->books[i]);
  }
  free(ex->books);
  free(ex->orders);
  free(ex->accounts);
  free(ex->fee_slots);
  free(ex->reset_calls);
  free(ex->agent_rows);
  free(ex->loans);
  free(ex->calls);
  free(ex->timers);
  free(ex->events);
  free(ex);
}

/* ---- the clock and instruction processing ---- */

/* Expires the GTT orders due by `now`, each at its own time, and leaves the clock at `now`. */
static void fire_due_timers(tx_exchange *ex, uint64_t now) {
  ex->instr = XNONE;
  while (ex->timer_n > 0 && ex->timers[0].at <= now) {
    x_timer t = pop_timer(ex);
    ex->now = t.at; /* an expiry's events carry its own time, not the later call's */
    x_expire(ex, &t);
  }
  ex->now = now;
}

/* Moves the clock to `now`, rolling the fee slots whose boundaries it reaches; with `settle`, it
 * also fires the expiries due by then and checks margin, else only the expiries due before. */
static void advance(tx_exchange *ex, uint64_t now, bool settle) {
  uint64_t period = ex->cfg.fee_slot_period_ns;
  uint32_t rolls = 0;
  /* A boundary past the clock's range is never reached: next_roll then stays at UINT64_MAX and
   * rolls no more (else a clock at UINT64_MAX would roll at every call; so a boundary at exactly
   * UINT64_MAX is not rolled either). */
  while (ex->next_roll <= now && ex->next_roll != UINT64_MAX) {
    uint64_t next;
    /* After H+1 empty rolls every history is zero: skip the rest of a long idle gap. */
    if (++rolls > ex->cfg.fee_history_slots + 1) {
      next = now / period * period;
      if (__builtin_add_overflow(next, period, &next)) next = UINT64_MAX;
      ex->next_roll = next;
      break;
    }
    roll_fees(ex);
    if (__builtin_add_overflow(ex->next_roll, period, &next)) next = UINT64_MAX;
    ex->next_roll = next;
  }
  if (!settle) {
    if (now > 0) fire_due_timers(ex, now - 1);
    ex->now = now;
    return;
  }
  fire_due_timers(ex, now);
  if (ex->loan_n > 0) x_margin_calls(ex);
}

int tx_advance(tx_exchange *ex, uint64_t now_ns) {
  if (ex == NULL) return TX_ERR_ARGUMENT;
  if (now_ns < ex->now) return TX_ERR_TIME;
  ex->error = TX_OK;
  advance(ex, now_ns, true);
  return ex->error;
}

int tx_advance_before(tx_exchange *ex, uint64_t now_ns) {
  if (ex == NULL) return TX_ERR_ARGUMENT;
  if (now_ns < ex->now) return TX_ERR_TIME;
  ex->error = TX_OK;
  advance(ex, now_ns, false);
  return ex->error;
}

int tx_submit(tx_exchange *ex, uint64_t now_ns, const tx_instruction *records, size_t count) {
  if (ex == NULL || (records == NULL && count > 0)) return TX_ERR_ARGUMENT;
  if (now_ns < ex->now) return TX_ERR_TIME;
  ex->error = TX_OK;
  ex->call++;
  advance(ex, now_ns, true);
  /* A host buffer need not be 8-byte aligned: such records are copied before use. */
  bool aligned = ((uintptr_t)records % _Alignof(tx_instruction)) == 0;
  tx_instruction copy;
  /* Whether the record before was dropped after a reset: a TX_IF_JOINED record shares its fate. */
  bool dropping = false;
  for (size_t i = 0; i < count && ex->error == TX_OK; i++) {
    const tx_instruction *in = &records[i];
    if (!aligned) {
      memcpy(&copy, (const unsigned char *)records + i * sizeof copy, sizeof copy);
      in = &copy;
    }
    ex->instr = (uint32_t)i;
    if (__builtin_expect(in->flags & (TX_IF_AFTER_RESET | TX_IF_JOINED), 0)) {
      if (!(in->flags & TX_IF_JOINED)) dropping = x_sender_reset_in_call(ex, in);
      if (dropping) {
        x_reject_after_reset(ex, in);
        continue;
      }
    } else {
      dropping = false;
    }
    switch (in->kind) {
    case TX_INSTR_LIMIT:
      if ((ex->cfg.flags & TX_CFG_GENERAL_PATHS) || !x_place_passive(ex, in)) x_place(ex, in);
      break;
    case TX_INSTR_MARKET: x_place(ex, in); break;
    case TX_INSTR_CANCEL: x_cancel(ex, in); break;
    case TX_INSTR_RESET: x_reset(ex, in); break;
    default: {
      tx_event e = {.timestamp = ex->now,
                    .instruction = ex->instr,
                    .book_id = in->book_id,
                    .order_id = XNONE,
                    .resting_order_id = XNONE,
                    .trade_id = XNONE,
                    .agent_id = in->agent_id,
                    .client_order_id = in->client_order_id,
                    .resting_client_order_id = XNONE,
                    .type = TX_EV_REJECTED,
                    .reason = TX_R_INVALID_INSTRUCTION};
      x_emit(ex, &e);
    }
    }
  }
  /* A GTT order of expiry 0 is cancelled at once, after the call's instructions, as a cancel
   * message due now would be processed after the messages already queued for now. */
  fire_due_timers(ex, ex->now);
  return ex->error;
}

/* ---- snapshots ---- */

/* Snapshot records are written with memcpy: the host's buffer may sit at any address. */
static void copy_order(const x_order *o, tx_order *out) {
  tx_order record = {
      .timestamp = o->timestamp,
      .price = o->price,
      .volume = o->volume,
      .leverage_e9 = o->leverage,
      .reserved_base = o->res_base,
      .reserved_quote = o->res_quote,
      .order_id = o->id,
      .agent_id = o->agent,
      .client_order_id = o->client_id,
      .book_id = o->book,
      .direction = o->dir,
      .stp = o->stp,
  };
  memcpy(out, &record, sizeof record);
}

int64_t tx_book_levels(const tx_exchange *ex, uint32_t book_id, int side, int64_t *prices,
                       int64_t *volumes, size_t capacity) {
  if (ex == NULL || (side != TX_BUY && side != TX_SELL)) return -TX_ERR_ARGUMENT;
  if (book_id >= ex->cfg.book_count) return -TX_ERR_BOOK;
  const x_side *s = &ex->books[book_id].side[side];
  for (size_t i = 0; i < capacity && i < s->n; i++) {
    const x_level *lv = &s->lv[s->n - 1 - i];
    if (prices != NULL) memcpy(&prices[i], &lv->price, sizeof lv->price);
    if (volumes != NULL) memcpy(&volumes[i], &lv->volume, sizeof lv->volume);
  }
  return s->n;
}

int64_t tx_level_orders(const tx_exchange *ex, uint32_t book_id, int side, uint32_t level_index,
                        tx_order *out, size_t capacity) {
  if (ex == NULL || (side != TX_BUY && side != TX_SELL)) return -TX_ERR_ARGUMENT;
  if (book_id >= ex->cfg.book_count) return -TX_ERR_BOOK;
  const x_side *s = &ex->books[book_id].side[side];
  if (level_index >= s->n) return -TX_ERR_NOT_FOUND;
  const x_level *lv = &s->lv[s->n - 1 - level_index];
  size_t i = 0;
  for (uint32_t oi = lv->head; oi != XNONE; oi = ex->orders[oi].next, i++) {
    if (out != NULL && i < capacity) copy_order(&ex->orders[oi], &out[i]);
  }
  return (int64_t)i;
}

/* The account a per-agent snapshot reads, or the error code to return negated. */
static int snapshot_account(const tx_exchange *ex, int32_t agent_id, uint32_t book_id,
                            const x_account **out) {
  if (ex == NULL) return TX_ERR_ARGUMENT;
  if (book_id >= ex->cfg.book_count) return TX_ERR_BOOK;
  *out = account_const(ex, agent_id, book_id);
  return *out == NULL ? TX_ERR_AGENT : TX_OK;
}

int64_t tx_agent_orders(const tx_exchange *ex, int32_t agent_id, uint32_t book_id, tx_order *out,
                        size_t capacity) {
  const x_account *acct;
  int rc = snapshot_account(ex, agent_id, book_id, &acct);
  if (rc != TX_OK) return -rc;
  size_t i = 0;
  for (uint32_t oi = acct->head; oi != XNONE; oi = ex->orders[oi].anext, i++) {
    if (out != NULL && i < capacity) copy_order(&ex->orders[oi], &out[i]);
  }
  return (int64_t)i;
}

int64_t tx_agent_loans(const tx_exchange *ex, int32_t agent_id, uint32_t book_id, tx_loan *out,
                       size_t capacity) {
  const x_account *acct;
  int rc = snapshot_account(ex, agent_id, book_id, &acct);
  if (rc != TX_OK) return -rc;
  size_t i = 0;
  for (uint32_t li = acct->loan_head; li != XNONE; li = ex->loans[li].next, i++) {
    if (out != NULL && i < capacity) x_copy_loan(ex, &ex->loans[li], &out[i]);
  }
  return (int64_t)i;
}

int tx_book_info_get(const tx_exchange *ex, uint32_t book_id, tx_book_info *out) {
  if (ex == NULL || out == NULL) return TX_ERR_ARGUMENT;
  if (book_id >= ex->cfg.book_count) return TX_ERR_BOOK;
  const x_book *b = &ex->books[book_id];
  const x_side *bids = &b->side[TX_BUY], *asks = &b->side[TX_SELL];
  tx_book_info record = {
      .best_bid = bids->n ? bids->lv[bids->n - 1].price : 0,
      .best_ask = asks->n ? asks->lv[asks->n - 1].price : 0,
      .bid_volume = bids->volume,
      .ask_volume = asks->volume,
      .bid_levels = bids->n,
      .ask_levels = asks->n,
      .order_count = b->order_count,
      .next_order_id = b->next_order_id,
      .next_trade_id = b->next_trade_id,
      .fees_collected = b->fees,
  };
  memcpy(out, &record, sizeof record);
  return TX_OK;
}

int tx_order_get(const tx_exchange *ex, uint32_t book_id, uint32_t order_id, tx_order *out) {
  if (ex == NULL || out == NULL) return TX_ERR_ARGUMENT;
  if (book_id >= ex->cfg.book_count) return TX_ERR_BOOK;
  uint32_t index = x_order_lookup(&ex->books[book_id], order_id);
  if (index == XNONE) return TX_ERR_NOT_FOUND;
  copy_order(&ex->orders[index], out);
  return TX_OK;
}

int tx_balances_get(const tx_exchange *ex, int32_t agent_id, uint32_t book_id, tx_balances *out) {
  if (ex == NULL || out == NULL) return TX_ERR_ARGUMENT;
  if (book_id >= ex->cfg.book_count) return TX_ERR_BOOK;
  const x_account *a = account_const(ex, agent_id, book_id);
  if (a == NULL) return TX_ERR_AGENT;
  tx_balances record = {
      .base_free = a->base_free,
      .base_reserved = a->base_reserved,
      .quote_free = a->quote_free,
      .quote_reserved = a->quote_reserved,
      .base_loan = a->base_loan,
      .quote_loan = a->quote_loan,
      .base_collateral = a->base_coll,
      .quote_collateral = a->quote_coll,
  };
  memcpy(out, &record, sizeof record);
  return TX_OK;
}

int tx_fee_state_get(const tx_exchange *ex, int32_t agent_id, uint32_t book_id,
                     tx_fee_state *out) {
  if (ex == NULL || out == NULL) return TX_ERR_ARGUMENT;
  if (book_id >= ex->cfg.book_count) return TX_ERR_BOOK;
  const x_account *a = account_const(ex, agent_id, book_id);
  if (a == NULL) return TX_ERR_AGENT;
  tx_fee_state record = {
      .volume = fee_volume(ex, a),
      .maker_e9 = x_maker_rate(a),
      .taker_e9 = x_taker_rate(a),
      .tier = a->tier,
  };
  memcpy(out, &record, sizeof record);
  return TX_OK;
}

/* ---- invariant check ---- */

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      if (err != NULL && err_len > 0) snprintf(err, err_len, __VA_ARGS__);                         \
      return TX_ERR_CORRUPT;                                                                       \
    }                                                                                              \
  } while (0)

static int check_book(const tx_exchange *ex, uint32_t b, char *err, size_t err_len) {
  const x_book *book = &ex->books[b];
  uint32_t orders = 0;
  for (int side = 0; side < 2; side++) {
    const x_side *s = &book->side[side];
    int64_t side_volume = 0;
    for (uint32_t li = 0; li < s->n; li++) {
      const x_level *lv = &s->lv[li];
      if (li > 0) {
        bool ordered = side == TX_BUY ? s->lv[li - 1].price < lv->price
                                      : s->lv[li - 1].price > lv->price;
        CHECK(ordered, "book %u side %d: levels out of order at %u", b, side, li);
      }
      int64_t volume = 0;
      uint32_t count = 0, prev = XNONE;
      for (uint32_t oi = lv->head; oi != XNONE; oi = ex->orders[oi].next) {
        const x_order *o = &ex->orders[oi];
        CHECK(o->prev == prev, "book %u order %u: broken level links", b, o->id);
        CHECK(o->price == lv->price && o->dir == side && o->book == b,
              "book %u order %u: on the wrong level", b, o->id);
        CHECK(o->volume > 0 && o->volume % ex->lot == 0 && o->total >= o->volume &&
                  o->total % ex->lot == 0,
              "book %u order %u: volume %lld total %lld", b, o->id, (long long)o->volume,
              (long long)o->total);
        CHECK(x_order_lookup(book, o->id) == oi, "book %u order %u: not in the id map", b, o->id);
        if (o->leverage > 0) {
          CHECK(o->res_base >= 0 && o->res_quote >= 0, "book %u order %u: negative reservation",
                b, o->id);
        } else if (side == TX_SELL) {
          CHECK(o->res_base == o->volume && o->res_quote == 0,
                "book %u order %u: sell reservation %lld for volume %lld", b, o->id,
                (long long)o->res_base, (long long)o->volume);
        } else {
          const x_account *acct = &ex->accounts[o->account];
          int64_t need = x_target_quote(ex, o);
          CHECK(o->res_base == 0 && o->res_quote == need,
                "book %u order %u: buy reservation %lld, needs %lld (free %lld)", b, o->id,
                (long long)o->res_quote, (long long)need, (long long)acct->quote_free);
        }
        volume += o->total;
        count++;
        prev = oi;
      }
      CHECK(lv->tail == prev, "book %u: level tail", b);
      CHECK(count > 0 && count == lv->count, "book %u: level count %u vs %u", b, lv->count, count);
      CHECK(volume == lv->volume, "book %u: level %lld volume %lld vs orders %lld", b,
            (long long)lv->price, (long long)lv->volume, (long long)volume);
      side_volume += volume;
      orders += count;
    }
    CHECK(side_volume == s->volume, "book %u side %d: side volume", b, side);
  }
  const x_side *bids = &book->side[TX_BUY], *asks = &book->side[TX_SELL];
  CHECK(bids->n == 0 || asks->n == 0 ||
            bids->lv[bids->n - 1].price < asks->lv[asks->n - 1].price,
        "book %u: crossed", b);
  CHECK(orders == book->order_count, "book %u: order count %u vs %u", b, book->order_count,
        orders);
  return TX_OK;
}

int tx_check(const tx_exchange *ex, char *err, size_t err_len) {
  if (ex == NULL) return TX_ERR_ARGUMENT;
  for (uint32_t b = 0; b < ex->cfg.book_count; b++) {
    int rc = check_book(ex, b, err, err_len);
    if (rc != TX_OK) return rc;
  }
  size_t n = (size_t)ex->rows * ex->cfg.book_count;
  for (size_t i = 0; i < n; i++) {
    const x_account *a = &ex->accounts[i];
    CHECK(a->base_free >= 0 && a->base_reserved >= 0 && a->quote_free >= 0 &&
              a->quote_reserved >= 0,
          "agent %d book %zu: negative balance", a->agent, i % ex->cfg.book_count);
    int64_t base = 0, quote = 0;
    uint32_t count = 0;
    for (uint32_t oi = a->head; oi != XNONE; oi = ex->orders[oi].anext) {
      const x_order *o = &ex->orders[oi];
      CHECK(o->account == i && o->agent == a->agent, "agent %d: foreign order %u in its list",
            a->agent, o->id);
      base += o->res_base;
      quote += o->res_quote;
      count++;
    }
    CHECK(count == a->order_count, "agent %d: order count", a->agent);
    int64_t loans[2] = {0, 0}, coll[2] = {0, 0};
    uint32_t last_id = 0, prev = XNONE;
    for (uint32_t li = a->loan_head; li != XNONE; li = ex->loans[li].next) {
      const x_loan *l = &ex->loans[li];
      CHECK(l->live && l->account == i && l->prev == prev && l->amount > 0 &&
                l->coll_base >= 0 && l->coll_quote >= 0 &&
                (prev == XNONE || l->order_id > last_id),
            "agent %d: bad loan for order %u (amount %lld, collateral %lld/%lld)", a->agent,
            l->order_id, (long long)l->amount, (long long)l->coll_base, (long long)l->coll_quote);
      loans[l->dir] += l->amount;
      coll[0] += l->coll_base;
      coll[1] += l->coll_quote;
      last_id = l->order_id;
      prev = li;
    }
    CHECK(a->loan_tail == prev, "agent %d: loan list tail", a->agent);
    CHECK(loans[TX_BUY] == a->quote_loan && loans[TX_SELL] == a->base_loan &&
              coll[0] == a->base_coll && coll[1] == a->quote_coll,
          "agent %d book %zu: loan totals %lld/%lld vs %lld/%lld", a->agent,
          i % ex->cfg.book_count, (long long)a->quote_loan, (long long)a->base_loan,
          (long long)loans[TX_BUY], (long long)loans[TX_SELL]);
    CHECK(base == a->base_reserved && quote == a->quote_reserved,
          "agent %d book %zu: reserved %lld/%lld vs orders %lld/%lld", a->agent,
          i % ex->cfg.book_count, (long long)a->base_reserved, (long long)a->quote_reserved,
          (long long)base, (long long)quote);
  }
  /* What a book has lent covers its open loans (more when some were written off). */
  for (uint32_t b = 0; b < ex->cfg.book_count; b++) {
    __int128 base = 0, quote = 0;
    for (size_t i = b; i < n; i += ex->cfg.book_count) {
      base += ex->accounts[i].base_loan;
      quote += ex->accounts[i].quote_loan;
    }
    const x_book *book = &ex->books[b];
    CHECK(book->lent_base >= base && book->lent_quote >= quote &&
              book->lent_base <= X_LENT_LIMIT && book->lent_quote <= X_LENT_LIMIT,
          "book %u: lent %lld/%lld, open loans %lld/%lld", b, (long long)book->lent_base,
          (long long)book->lent_quote, (long long)base, (long long)quote);
  }
  return TX_OK;
}
