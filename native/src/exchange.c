/* Exchange core (skeleton): the public API of taos_exchange.h; matching comes next. */
#include <stdlib.h>
#include <string.h>

#include "taos_exchange.h"

struct tx_exchange {
  tx_config cfg;
  uint64_t now;
};

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
  default: return "unknown";
  }
}

const char *tx_reason_name(int reason) { (void)reason; return "UNKNOWN"; }

int tx_open(const tx_config *config, tx_exchange **out, char *err, size_t err_len) {
  if (config == NULL || out == NULL) return TX_ERR_ARGUMENT;
  (void)err; (void)err_len;
  tx_exchange *ex = calloc(1, sizeof *ex);
  if (ex == NULL) return TX_ERR_NOMEM;
  ex->cfg = *config;
  *out = ex;
  return TX_OK;
}

void tx_close(tx_exchange *ex) { free(ex); }

int tx_add_account(tx_exchange *ex, int32_t agent_id, int64_t base, int64_t quote) {
  (void)ex; (void)agent_id; (void)base; (void)quote;
  return TX_ERR_AGENT;
}

int tx_set_balances(tx_exchange *ex, int32_t agent_id, uint32_t book_id, int64_t base,
                    int64_t quote) {
  (void)ex; (void)agent_id; (void)book_id; (void)base; (void)quote;
  return TX_ERR_AGENT;
}

int tx_submit(tx_exchange *ex, uint64_t now_ns, const tx_instruction *records, size_t count) {
  (void)records; (void)count;
  return tx_advance(ex, now_ns);
}

int tx_advance(tx_exchange *ex, uint64_t now_ns) {
  if (ex == NULL) return TX_ERR_ARGUMENT;
  if (now_ns < ex->now) return TX_ERR_TIME;
  ex->now = now_ns;
  return TX_OK;
}

size_t tx_pending_events(const tx_exchange *ex) { (void)ex; return 0; }
size_t tx_drain_events(tx_exchange *ex, tx_event *out, size_t capacity) {
  (void)ex; (void)out; (void)capacity;
  return 0;
}

int64_t tx_book_levels(const tx_exchange *ex, uint32_t book_id, int side, int64_t *prices,
                       int64_t *volumes, size_t capacity) {
  (void)ex; (void)book_id; (void)side; (void)prices; (void)volumes; (void)capacity;
  return -TX_ERR_BOOK;
}
int64_t tx_level_orders(const tx_exchange *ex, uint32_t book_id, int side, uint32_t level_index,
                        tx_order *out, size_t capacity) {
  (void)ex; (void)book_id; (void)side; (void)level_index; (void)out; (void)capacity;
  return -TX_ERR_BOOK;
}
int64_t tx_agent_orders(const tx_exchange *ex, int32_t agent_id, uint32_t book_id, tx_order *out,
                        size_t capacity) {
  (void)ex; (void)agent_id; (void)book_id; (void)out; (void)capacity;
  return -TX_ERR_BOOK;
}
int tx_book_info_get(const tx_exchange *ex, uint32_t book_id, tx_book_info *out) {
  (void)ex; (void)book_id; (void)out;
  return TX_ERR_BOOK;
}
int tx_order_get(const tx_exchange *ex, uint32_t book_id, uint32_t order_id, tx_order *out) {
  (void)ex; (void)book_id; (void)order_id; (void)out;
  return TX_ERR_BOOK;
}
int tx_balances_get(const tx_exchange *ex, int32_t agent_id, uint32_t book_id, tx_balances *out) {
  (void)ex; (void)agent_id; (void)book_id; (void)out;
  return TX_ERR_BOOK;
}
int tx_fee_state_get(const tx_exchange *ex, int32_t agent_id, uint32_t book_id,
                     tx_fee_state *out) {
  (void)ex; (void)agent_id; (void)book_id; (void)out;
  return TX_ERR_BOOK;
}
int tx_check(const tx_exchange *ex, char *err, size_t err_len) {
  (void)ex; (void)err; (void)err_len;
  return TX_OK;
}
