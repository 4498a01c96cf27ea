/* Exchange core internals shared by the exchange_*.c modules. */
#ifndef TAOS_EXCHANGE_INTERNAL_H
#define TAOS_EXCHANGE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "taos_exchange.h"

/* Nothing below leaves the library: hidden symbols are called directly, not through the PLT. */
#pragma GCC visibility push(hidden)

#define XNONE 0xFFFFFFFFu
#ifndef X_ID_PAGE_BITS /* smaller in the sanitizer tests, so that page boundaries come often */
#define X_ID_PAGE_BITS 12
#endif
#define X_ID_PAGE (1u << X_ID_PAGE_BITS)
/* First capacity of a growable array, doubled as it fills. The sanitizer tests start every array
 * at one entry, so that the random streams make them grow again and again: a pointer kept across
 * a growth is caught there. */
#ifdef X_TINY_CAPACITIES
#define X_FIRST_CAPACITY(n) 1
#else
#define X_FIRST_CAPACITY(n) (n)
#endif
#define X_MAX_ORDER_ID (XNONE - X_ID_PAGE) /* the last id a book issues: 2^32 - 4097 */
#define X_MAX_PRICE ((int64_t)1 << 40)  /* ticks; keeps price*volume*rate inside __int128 */
#define X_MAX_VOLUME ((int64_t)1 << 53) /* base or quote units of one order */
#define X_AGENT_LIMIT (1 << 20)
#define X_RATE_ONE 1000000000

/* A price level: FIFO of resting orders at one price. */
typedef struct {
  int64_t price;
  int64_t volume; /* sum of the orders' total volumes */
  uint32_t head, tail, count, pad;
} x_level;

/* One side of a book: levels sorted worst first, so the best level is the last element and
 * near-touch insertions and removals move few entries. */
typedef struct {
  x_level *lv;
  uint32_t n, cap;
  int64_t volume;
} x_side;

/* An order in the pool (resting, or the aggressor being processed): two cache lines, the
 * first holding what matching touches. */
typedef struct {
  int64_t total;  /* remaining matchable volume: volume * (1 + leverage), lot-truncated */
  int64_t volume; /* remaining own volume, base units */
  int64_t price;
  int64_t res_base, res_quote;
  int64_t leverage; /* e9, truncated to the lot's decimals */
  int32_t agent;
  uint32_t next; /* level FIFO */
  uint32_t id, account;
  /* second line */
  uint32_t prev;         /* level FIFO */
  uint32_t aprev, anext; /* owner's orders in this book */
  uint32_t loan;         /* its open loan (leveraged orders after a fill), or XNONE */
  uint32_t book, client_id;
  int64_t maker_e9; /* maker rate its quote reservation was sized with */
  uint64_t timestamp;
  uint8_t dir, stp, market;
  uint8_t pad[21];
} x_order;
_Static_assert(sizeof(x_order) == 128, "x_order is two cache lines");

/* A loan taken by the fills of one leveraged order. */
typedef struct {
  int64_t amount; /* outstanding: quote (long) or base (short) units */
  int64_t coll_base, coll_quote;
  int64_t leverage;       /* of the order */
  int64_t price;          /* of its strictest fill (long: highest, short: lowest): the call price */
  uint32_t order_id, account;
  uint32_t prev, next; /* the account's loans, ascending order id; free list when dead */
  uint64_t seq;        /* opening order among all loans: ties between equal margin-call prices */
  uint8_t dir, live, pad[6];
} x_loan;

/* A loan due for liquidation, by slot and opening number (the slot may be reused meanwhile). */
typedef struct {
  uint64_t seq;
  uint32_t loan;
} x_call;

/* Order id -> pool index map of one book, paged so memory follows the live id range. */
typedef struct {
  /* Its ids in use: resting orders, and an accepted order still matching. A page is freed once
   * all its ids are issued and none is in use; counting the order being placed keeps its page
   * alive while its fills remove the page's last resting order. */
  uint32_t live;
  uint32_t slot[X_ID_PAGE]; /* pool index + 1; 0 = none */
} x_id_page;

/* The most a book's margin loans may have lent of an asset, repayments deducted (what is written
 * off stays lent): its accounts then hold at most TX_MAX_HELD + 1 + X_LENT_LIMIT units of each
 * asset in all, and no balance, sum of balances or net fee total can overflow. */
#define X_LENT_LIMIT (TX_MAX_HELD / 2)

typedef struct {
  x_side side[2]; /* TX_BUY = bids, TX_SELL = asks */
  x_id_page **pages;
  uint32_t page_cap;
  uint32_t next_order_id, next_trade_id, order_count;
  int64_t fees;
  int64_t checked_bid, checked_ask; /* best prices at the last margin check */
  /* What the accounts were given in total (at most TX_MAX_HELD; a reset gives again): trading
   * only moves it between them and net fees take from it. Loans add apart, in lent_*. */
  int64_t held_base, held_quote;
  /* What its margin loans created: lent less repaid, written-off loans included (X_LENT_LIMIT). */
  int64_t lent_base, lent_quote;
} x_book;

/* An agent's account in one book. */
typedef struct {
  int64_t base_free, base_reserved, quote_free, quote_reserved;
  int64_t base_loan, quote_loan, base_coll, quote_coll;
  int64_t init_base, init_quote;
  uint32_t head, tail; /* resting orders, ascending id */
  uint32_t loan_head, loan_tail;
  uint32_t order_count, tier;
  int32_t agent;
  uint8_t has_history, policy, pad[2]; /* policy: index into tx_exchange.policies */
  int64_t rolled_volume; /* history sum at the last roll: fixes the tier in any policy */
  /* The rates of its tier, kept beside it (they are read on every fill); rates lie in (-1e9, 1e9).
   * They also bring the record to a power-of-two size: an index is then a shift of an offset. */
  int32_t maker_e9, taker_e9;
} x_account;
_Static_assert(sizeof(x_account) == 128, "x_account is two cache lines");

/* One fee policy's tiers (policy 0 is the configuration's). */
typedef struct {
  tx_fee_tier tiers[TX_MAX_FEE_TIERS];
  uint32_t count;
} x_fee_policy;

/* A scheduled GTT expiry, with what its event says when the order is gone by then. */
typedef struct {
  uint64_t at, seq;
  uint32_t order_id, client_id;
  int32_t agent;
  uint16_t book; /* book ids are below 65536 */
  uint8_t dir, pad;
} x_timer;
_Static_assert(sizeof(x_timer) == 32, "x_timer is 32 bytes");

/* Scaling by a fixed power of ten, v * 10^k, prepared once per exchange. A division by 10^-k
 * is a multiplication by a reciprocal: a 64-bit division instruction costs tens of cycles, and
 * GCC turned the constant divisions of a switch on k into one shared division instruction. */
typedef struct {
  int k;
  uint32_t shift;     /* k < 0: ceil(log2(10^-k)) */
  uint64_t magic_lo;  /* k < 0: floor(2^(64+shift) / 10^-k) + 1, a 65-bit number */
  uint64_t magic_hi;  /* its top bit (0 or 1) */
  int64_t multiplier; /* 0 < k <= 18: 10^k */
} x_scaler;

struct tx_exchange {
  tx_config cfg;
  uint64_t now;
  int64_t lot;        /* base units per volume lot */
  int notional_shift; /* quote_dp - price_dp - base_dp */
  x_scaler to_quote;  /* k = notional_shift: price * base -> quote */
  x_scaler to_fee;    /* k = notional_shift - 9: price * base * rate (e9) -> quote */
  x_book *books;
  x_order *orders;
  uint32_t order_cap, free_order; /* free_order: unused slots, linked by next */
  x_account *accounts; /* row * book_count + book */
  int64_t *fee_slots;  /* (row * book_count + book) * H + slot */
  uint32_t rows, row_cap, fee_head;
  uint64_t next_roll; /* the next fee slot boundary; UINT64_MAX once none fits the clock */
  x_fee_policy policies[TX_MAX_FEE_POLICIES];
  uint32_t policy_count;
  uint32_t *agent_rows; /* zigzag(agent id) -> row + 1 */
  uint32_t agent_rows_cap;
  x_loan *loans;
  uint32_t loan_n, loan_cap, free_loan;
  uint64_t loan_seq;
  x_call *calls; /* scratch: the loans one margin-call pass liquidates */
  uint32_t calls_cap;
  bool margin_dirty; /* a loan appeared or survived its liquidation since the last check */
  x_timer *timers;
  size_t timer_n, timer_cap;
  uint64_t timer_seq;
  /* Event buffer: pending events are [ev_read, ev_write); ev_end is the capacity's end. */
  tx_event *events, *ev_read, *ev_write, *ev_end;
  uint32_t instr; /* index of the instruction being processed */
  uint64_t call;  /* tx_submit calls so far: the current one's number */
  /* Per row: the number of the call that last reset the agent (0: none), for TX_IF_AFTER_RESET. */
  uint64_t *reset_calls;
  int error;      /* sticky TX_ERR_NOMEM of the current call */
};

/* ---- fixed-point arithmetic ---- */

/* x * 10^k truncated toward zero, saturated to int64. */
int64_t x_scale(__int128 x, int k);
extern const int64_t x_pow10[19];

/* Prepares scaling by 10^k. */
x_scaler x_scaler_for(int k);

/* v * 10^k truncated toward zero, saturated, with a prepared scaler. Division: for n < 2^64 and
 * 2^(s-1) < d <= 2^s, floor(n / d) = floor(n * m / 2^(64+s)) with m = floor(2^(64+s) / d) + 1
 * (Granlund and Montgomery, 1994), applied to |v| and the sign put back (truncation). */
static inline int64_t x_scale_by(const x_scaler *sc, int64_t v) {
  if (sc->k < 0 && sc->k >= -18) {
    uint64_t n = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    uint64_t high = (uint64_t)(((unsigned __int128)n * sc->magic_lo) >> 64) + n * sc->magic_hi;
    uint64_t q = high >> sc->shift;
    return v < 0 ? -(int64_t)q : (int64_t)q;
  }
  if (sc->k == 0) return v;
  int64_t r;
  if (sc->multiplier != 0 && !__builtin_mul_overflow(v, sc->multiplier, &r)) return r;
  return x_scale(v, sc->k);
}

/* a + b saturated to [-INT64_MAX, INT64_MAX]: sums of notionals near the price and volume limits
 * exceed int64, and a saturated amount then fails the funds checks instead of wrapping. */
static inline int64_t x_sat_add(int64_t a, int64_t b) {
  int64_t r;
  if (!__builtin_add_overflow(a, b, &r) && r != INT64_MIN) return r;
  return b > 0 ? INT64_MAX : -INT64_MAX;
}

/* trunc(a * b * c * 10^k), exact: 64-bit when the product fits, __int128 otherwise. */
static inline int64_t x_product(int64_t a, int64_t b, int64_t c, const x_scaler *sc) {
  int64_t ab, abc;
  if (!__builtin_mul_overflow(a, b, &ab) && !__builtin_mul_overflow(ab, c, &abc)) {
    return x_scale_by(sc, abc);
  }
  return x_scale((__int128)a * b * c, sc->k);
}

/* trunc_q(price * volume). */
static inline int64_t x_notional(const tx_exchange *ex, int64_t price, int64_t volume) {
  return x_product(price, volume, 1, &ex->to_quote);
}
/* trunc_q(price * volume * rate). */
static inline int64_t x_fee(const tx_exchange *ex, int64_t price, int64_t volume, int64_t rate) {
  return x_product(price, volume, rate, &ex->to_fee);
}
/* trunc_q(price * volume * (1 + rate)). */
static inline int64_t x_with_rate(const tx_exchange *ex, int64_t price, int64_t volume,
                                  int64_t rate) {
  return x_product(price, volume, X_RATE_ONE + rate, &ex->to_fee);
}
/* trunc_q(quote * (1 + rate)). */
static inline int64_t x_quote_with_rate(int64_t quote, int64_t rate) {
  int64_t r;
  if (!__builtin_mul_overflow(quote, X_RATE_ONE + rate, &r)) return r / X_RATE_ONE;
  return x_scale((__int128)quote * (X_RATE_ONE + rate), -9);
}
/* trunc_b(quote / price), truncated to the lot. */
int64_t x_quote_to_base(const tx_exchange *ex, int64_t quote, int64_t price);
static inline int64_t x_lot(const tx_exchange *ex, int64_t base) {
  return ex->lot == 1 ? base : base - base % ex->lot; /* a division costs more than the test */
}

/* ---- accounts and fees (exchange.c) ---- */
/* Agent ids interleaved onto 0, 1, 2, ...: 0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3, ... */
static inline uint32_t x_zigzag(int32_t agent) {
  return agent >= 0 ? (uint32_t)agent * 2u : (uint32_t)(-(int64_t)agent) * 2u - 1u;
}
/* The agent's account row, or XNONE. */
static inline uint32_t x_row_of(const tx_exchange *ex, int32_t agent) {
  if (agent < -X_AGENT_LIMIT || agent >= X_AGENT_LIMIT) return XNONE;
  uint32_t z = x_zigzag(agent);
  return z < ex->agent_rows_cap ? ex->agent_rows[z] - 1 : XNONE;
}
/* The agent's account in a book, or NULL for an unknown agent. */
static inline x_account *x_account_of(tx_exchange *ex, int32_t agent, uint32_t book) {
  uint32_t row = x_row_of(ex, agent);
  return row == XNONE ? NULL : &ex->accounts[(size_t)row * ex->cfg.book_count + book];
}
/* The account's current maker and taker rates (its policy's tier). */
static inline int64_t x_maker_rate(const x_account *acct) { return acct->maker_e9; }
static inline int64_t x_taker_rate(const x_account *acct) { return acct->taker_e9; }
/* Puts the account on a tier of its policy, with that tier's rates. */
void x_set_tier(const tx_exchange *ex, x_account *acct, uint32_t tier);
/* Adds a fill's quote volume to the account's newest fee-history slot. */
static inline void x_add_fee_volume(tx_exchange *ex, x_account *acct, int64_t quote) {
  /* Saturated: traded volume, unlike holdings, has no bound (a notional is never negative). */
  int64_t *slot =
      &ex->fee_slots[(size_t)(acct - ex->accounts) * ex->cfg.fee_history_slots + ex->fee_head];
  int64_t sum;
  *slot = __builtin_add_overflow(*slot, quote, &sum) ? INT64_MAX : sum;
  acct->has_history = 1;
}
void x_reset_fees(tx_exchange *ex, x_account *acct);
void x_emit(tx_exchange *ex, const tx_event *event);
tx_event *x_push_slow(tx_exchange *ex);
/* The next free event slot (filled in place by the caller), or NULL when memory ran out. */
static inline tx_event *x_push(tx_exchange *ex) {
  if (ex->ev_write != ex->ev_end) return ex->ev_write++;
  return x_push_slow(ex);
}
/* Makes room for one more GTT expiry, before the order is accepted: a placement then never
 * fails half-way (an order resting with no expiry). */
int x_timers_reserve(tx_exchange *ex);
/* Schedules the GTT expiry of order `o` at `at`, in room x_timers_reserve made. */
void x_schedule(tx_exchange *ex, uint64_t at, const x_order *o);

/* ---- book structure (exchange_book.c) ---- */
void x_book_free(x_book *book);
int x_grow_capacity(tx_exchange *ex, x_book *book, int side);
/* Makes sure one more order, one more level on `side` and the next id's page fit, so a placement
 * never fails half-way: TX_ERR_NOMEM, or TX_ERR_LIMIT when the book's ids are all issued. Inline:
 * the room is almost always there already. */
static inline int x_reserve_capacity(tx_exchange *ex, x_book *book, int side) {
  const x_side *s = &book->side[side];
  /* A page is made for its first id and freed once all its ids are issued and gone, so the page
   * of an id inside one is there: only a page's first id (where the id limit lies too) needs it
   * looked up. */
  if (ex->free_order != XNONE && s->n < s->cap && (book->next_order_id & (X_ID_PAGE - 1)) != 0) {
    return TX_OK;
  }
  return x_grow_capacity(ex, book, side);
}
/* A pool slot for a new order (capacity reserved beforehand). Every unused slot is on the free
 * list, freed ones first, so taking one never branches on whether the list is empty: that
 * alternates as the book breathes and would mispredict. */
static inline uint32_t x_order_alloc(tx_exchange *ex) {
  uint32_t index = ex->free_order;
  ex->free_order = ex->orders[index].next;
  return index;
}
static inline void x_order_free(tx_exchange *ex, uint32_t index) {
  ex->orders[index].next = ex->free_order;
  ex->free_order = index;
}
/* Pool index of a resting order of the book, or XNONE. */
static inline uint32_t x_order_lookup(const x_book *book, uint32_t id) {
  uint32_t page = id >> X_ID_PAGE_BITS;
  if (page >= book->page_cap || book->pages[page] == NULL) return XNONE;
  return book->pages[page]->slot[id & (X_ID_PAGE - 1)] - 1;
}
/* Marks the book's next order id as taken by an accepted order and returns it. */
static inline uint32_t x_take_id(x_book *book) {
  uint32_t id = book->next_order_id++;
  book->pages[id >> X_ID_PAGE_BITS]->live++;
  return id;
}
/* Gives up an id taken by x_take_id (the order left the book or never rested). A page whose ids
 * are all issued and out of use will never be used again. */
static inline void x_release_id(x_book *book, uint32_t id) {
  uint32_t p = id >> X_ID_PAGE_BITS;
  x_id_page *page = book->pages[p];
  if (--page->live == 0 && ((uint64_t)p + 1) * X_ID_PAGE <= book->next_order_id) {
    free(page);
    book->pages[p] = NULL;
  }
}
void x_rest(tx_exchange *ex, x_book *book, uint32_t index);
void x_unlink(tx_exchange *ex, x_book *book, uint32_t index);
/* x_unlink for an order known to sit on its side's best level. */
void x_unlink_best(tx_exchange *ex, x_book *book, uint32_t index);
x_level *x_level_at(const x_book *book, int side, int64_t price);

/* ---- margin (exchange_margin.c) ---- */
/* Checks funds for a leveraged order and, when `o` is given, reserves its collateral; `amount`
 * is what a cash order of the whole leveraged volume would reserve. The checks value base at
 * `ref_price`; collateral taken from the other currency is valued at `coll_price`. Returns
 * TX_R_VALID or a rejection reason. */
int x_margin_reserve(tx_exchange *ex, x_account *acct, x_order *o, int dir, int64_t leverage,
                     int64_t amount, int64_t ref_price, int64_t coll_price);
/* Makes room for `need` more loans, so that the fill about to open them cannot fail half-way. */
int x_loans_reserve(tx_exchange *ex, uint32_t need);
/* The leveraged buyer's side of a fill at `price`: collateral from its reservations (base valued
 * at the best ask `ask`), the rest borrowed. */
void x_margin_buy_leg(tx_exchange *ex, x_account *acct, x_order *o, int64_t price, int64_t ask,
                      int64_t cost);
/* The leveraged seller's side of a fill (quote collateral valued at the best bid `bid`). */
void x_margin_sell_leg(tx_exchange *ex, x_account *acct, x_order *o, int64_t price, int64_t bid,
                       int64_t volume);
/* Repays the account's loans of direction `dir` FIFO with `incoming` just deposited, valuing
 * collateral at `price` (the best ask for a buyer, the best bid for a seller). */
void x_repay(tx_exchange *ex, x_account *acct, int dir, int64_t incoming, int64_t price);
/* Margin calls: liquidates every loan whose margin-call price the book has crossed. */
void x_margin_calls(tx_exchange *ex);
void x_copy_loan(const tx_exchange *ex, const x_loan *loan, tx_loan *out);

/* ---- instructions (exchange_order.c) ---- */
void x_place(tx_exchange *ex, const tx_instruction *in);
/* The commonest placement (a cash limit order in base units that does not reach the opposite
 * side) by a short path; false, with nothing done, for anything else. */
bool x_place_passive(tx_exchange *ex, const tx_instruction *in);
/* Own volume of a total (matchable) volume at a leverage, lot-truncated. */
static inline int64_t x_own_volume(const tx_exchange *ex, int64_t total, int64_t leverage) {
  if (leverage == 0) return total;
  return x_lot(ex, (int64_t)((__int128)total * X_RATE_ONE / (X_RATE_ONE + leverage)));
}
/* Total volume of an own volume at a leverage, lot-truncated. */
static inline int64_t x_total_volume(const tx_exchange *ex, int64_t own, int64_t leverage) {
  if (leverage == 0) return own;
  return x_lot(ex, (int64_t)((__int128)own * (X_RATE_ONE + leverage) / X_RATE_ONE));
}
/* Removes every resting order of the account, emitting cancels with `cause`. */
void x_cancel_all(tx_exchange *ex, uint32_t book_id, x_account *acct, uint8_t cause);
void x_cancel(tx_exchange *ex, const tx_instruction *in);
void x_reset(tx_exchange *ex, const tx_instruction *in);
/* Whether a reset of the instruction's sender (sender_id with TX_IF_SENDER, else agent_id) was
 * accepted earlier in this call. */
bool x_sender_reset_in_call(const tx_exchange *ex, const tx_instruction *in);
/* Rejects an instruction as TX_R_AGENT_RESET: its one outcome event. */
void x_reject_after_reset(tx_exchange *ex, const tx_instruction *in);
void x_expire(tx_exchange *ex, const x_timer *timer);
/* Quote a resting buy must hold: trunc_q(price * volume * (1 + its maker rate)). */
int64_t x_target_quote(const tx_exchange *ex, const x_order *o);

#pragma GCC visibility pop

#endif
