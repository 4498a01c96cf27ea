/* Margin trading: collateral reservation and borrowing limits for leveraged orders, loans taken
 * at each leveraged fill, FIFO repayment from opposite-direction proceeds, margin calls and
 * liquidation. */
#include <stdlib.h>
#include <string.h>

#include "exchange_internal.h"

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* ceil(num / den) for num >= 0, den > 0, saturated. */
static int64_t ceil_div(__int128 num, __int128 den) {
  __int128 q = (num + den - 1) / den;
  return q > INT64_MAX ? INT64_MAX : (int64_t)q;
}

/* ceil_q(price * base). */
static int64_t notional_ceil(const tx_exchange *ex, int64_t price, int64_t base) {
  __int128 x = (__int128)price * base;
  if (ex->notional_shift >= 0) return x_scale(x, ex->notional_shift);
  __int128 den = 1;
  for (int i = 0; i < -ex->notional_shift; i++) den *= 10;
  return ceil_div(x, den);
}

/* ceil_b(quote / price). */
static int64_t base_ceil(const tx_exchange *ex, int64_t quote, int64_t price) {
  int k = -ex->notional_shift;
  __int128 num = quote, den = price;
  for (int i = 0; i < k; i++) num *= 10;
  for (int i = 0; i < -k; i++) den *= 10;
  return ceil_div(num, den);
}

/* The exact value of one quote unit and of one base unit at `price`, in a common unit (quote
 * units times 10^-min(shift, 0)), so that values can be compared and split without truncation. */
static void exact_units(const tx_exchange *ex, int64_t price, __int128 *unit, __int128 *per_base) {
  *unit = 1;
  *per_base = price;
  for (int i = 0; i < ex->notional_shift; i++) *per_base *= 10;
  for (int i = 0; i < -ex->notional_shift; i++) *unit *= 10;
}

/* ---- unsigned 256-bit integers: margin arithmetic past 128 bits ----
 * Collateral values and loan limits multiply prices (up to 2^40 ticks, scaled by up to 10^18)
 * by balances and amounts near 2^62 units: such products need up to about 230 bits. The 128-bit
 * computations below cover every ordinary case; these exact ones take over past them, so that
 * the result is the same at any magnitude. Four limbs, least significant first. */
typedef struct {
  uint64_t w[4];
} x_u256;

/* A non-negative 128-bit value, widened. */
static x_u256 wide(__int128 v) {
  unsigned __int128 u = (unsigned __int128)v;
  return (x_u256){{(uint64_t)u, (uint64_t)(u >> 64), 0, 0}};
}

/* a * b, which the callers keep within 256 bits. */
static x_u256 u256_mul(x_u256 a, x_u256 b) {
  x_u256 r = {{0, 0, 0, 0}};
  for (int i = 0; i < 4; i++) {
    unsigned __int128 carry = 0;
    for (int j = 0; i + j < 4; j++) {
      unsigned __int128 t = (unsigned __int128)a.w[i] * b.w[j] + r.w[i + j] + carry;
      r.w[i + j] = (uint64_t)t;
      carry = t >> 64;
    }
  }
  return r;
}

static x_u256 u256_add(x_u256 a, x_u256 b) {
  unsigned __int128 carry = 0;
  for (int i = 0; i < 4; i++) {
    carry += (unsigned __int128)a.w[i] + b.w[i];
    a.w[i] = (uint64_t)carry;
    carry >>= 64;
  }
  return a;
}

/* a - b for a >= b. */
static x_u256 u256_sub(x_u256 a, x_u256 b) {
  uint64_t borrow = 0;
  for (int i = 0; i < 4; i++) {
    unsigned __int128 d = (unsigned __int128)a.w[i] - b.w[i] - borrow;
    a.w[i] = (uint64_t)d;
    borrow = (uint64_t)(d >> 64) & 1u;
  }
  return a;
}

static int u256_cmp(x_u256 a, x_u256 b) {
  for (int i = 3; i >= 0; i--) {
    if (a.w[i] != b.w[i]) return a.w[i] < b.w[i] ? -1 : 1;
  }
  return 0;
}

static unsigned u256_bits(x_u256 a) {
  for (int i = 3; i >= 0; i--) {
    if (a.w[i] != 0) return (unsigned)(64 * i + 64 - __builtin_clzll(a.w[i]));
  }
  return 0;
}

/* a << k for 0 < k < 64, which the callers keep within 256 bits. */
static x_u256 u256_shl(x_u256 a, unsigned k) {
  for (int i = 3; i > 0; i--) a.w[i] = (a.w[i] << k) | (a.w[i - 1] >> (64 - k));
  a.w[0] <<= k;
  return a;
}

/* trunc(n / d) for d > 0 and a quotient below 2^63 (the callers' quotients are balances). */
static int64_t u256_div(x_u256 n, x_u256 d) {
  uint64_t q = 0;
  unsigned bits = u256_bits(d);
  for (int k = 62; k >= 0; k--) {
    if (bits + (unsigned)k > 256) continue; /* d * 2^k is past any n */
    x_u256 step = k == 0 ? d : u256_shl(d, (unsigned)k);
    if (u256_cmp(step, n) <= 0) {
      n = u256_sub(n, step);
      q |= (uint64_t)1 << k;
    }
  }
  return (int64_t)q;
}

/* Would borrowing `coll * L` more (a sell's collateral valued at `price`) take the account's loans,
 * valued at `price`, past maxLoan? Compared exactly, in quote units times 10^-min(shift, 0) and
 * 10^9: truncating the new borrowing or the base loan's value first let an order borrow up to a
 * quote unit past the limit. Products beyond 128 bits are compared in 256, never truncated. */
static bool exceeds_loan_limit(const tx_exchange *ex, const x_account *acct, int dir, int64_t coll,
                               int64_t leverage, int64_t price) {
  __int128 unit, per_base;
  exact_units(ex, price, &unit, &per_base);
  __int128 borrowed, owed_b, owed_q, owed, total, limit;
  if (!__builtin_mul_overflow(dir == TX_BUY ? unit : per_base, (__int128)coll, &borrowed) &&
      !__builtin_mul_overflow(borrowed, (__int128)leverage, &borrowed) &&
      !__builtin_mul_overflow(per_base, (__int128)acct->base_loan, &owed_b) &&
      !__builtin_mul_overflow(unit, (__int128)acct->quote_loan, &owed_q) &&
      !__builtin_add_overflow(owed_b, owed_q, &owed) &&
      !__builtin_mul_overflow(owed, (__int128)X_RATE_ONE, &owed) &&
      !__builtin_add_overflow(borrowed, owed, &total) &&
      !__builtin_mul_overflow(unit * X_RATE_ONE, (__int128)ex->cfg.max_loan, &limit)) {
    return total > limit;
  }
  x_u256 rate_one = wide(X_RATE_ONE);
  x_u256 borrowed_wide =
      u256_mul(u256_mul(wide(dir == TX_BUY ? unit : per_base), wide(coll)), wide(leverage));
  x_u256 owed_wide = u256_mul(u256_add(u256_mul(wide(per_base), wide(acct->base_loan)),
                                       u256_mul(wide(unit), wide(acct->quote_loan))),
                              rate_one);
  x_u256 limit_wide = u256_mul(u256_mul(wide(unit), rate_one), wide(ex->cfg.max_loan));
  return u256_cmp(u256_add(borrowed_wide, owed_wide), limit_wide) > 0;
}

int x_margin_reserve(tx_exchange *ex, x_account *acct, x_order *o, int dir, int64_t leverage,
                     int64_t amount, int64_t ref_price, int64_t coll_price) {
  int64_t coll = (int64_t)((__int128)amount * X_RATE_ONE / (X_RATE_ONE + leverage));
  if (coll <= 0 || amount == INT64_MAX || ref_price <= 0) return TX_R_EXCEEDING_LOAN;
  int64_t wealth = x_sat_add(x_notional(ex, ref_price, acct->base_free), acct->quote_free);
  int64_t coll_quote = dir == TX_BUY ? coll : x_notional(ex, ref_price, coll);
  if (coll_quote > wealth ||
      exceeds_loan_limit(ex, acct, dir, coll, leverage, ref_price)) {
    return TX_R_EXCEEDING_LOAN;
  }
  /* What runs short in the order's currency is taken from the other at `coll_price`, the best
   * price a crossing order meets: its fills value their collateral at the best opposite price,
   * at most that good, and would otherwise find the reservation short (leverage past L). */
  int64_t res_base, res_quote;
  if (dir == TX_BUY) {
    res_quote = min64(coll, acct->quote_free);
    res_base = coll > res_quote ? base_ceil(ex, coll - res_quote, coll_price) : 0;
    if (res_base > acct->base_free) return TX_R_EXCEEDING_LOAN;
  } else {
    res_base = min64(coll, acct->base_free);
    res_quote = coll > res_base ? notional_ceil(ex, coll_price, coll - res_base) : 0;
    if (res_quote > acct->quote_free) return TX_R_EXCEEDING_LOAN;
  }
  if (o != NULL) {
    acct->base_free -= res_base;
    acct->base_reserved += res_base;
    acct->quote_free -= res_quote;
    acct->quote_reserved += res_quote;
    o->res_base = res_base;
    o->res_quote = res_quote;
  }
  return TX_R_VALID;
}

int x_loans_reserve(tx_exchange *ex, uint32_t need) {
  uint32_t spare = 0; /* freed slots, counted up to `need` */
  for (uint32_t li = ex->free_loan; li != XNONE && spare < need; li = ex->loans[li].next) spare++;
  if (ex->loan_cap - ex->loan_n + spare >= need) return TX_OK;
  uint32_t cap = ex->loan_cap ? ex->loan_cap * 2 : X_FIRST_CAPACITY(64);
  while (cap - ex->loan_n + spare < need) cap *= 2;
  x_loan *loans = realloc(ex->loans, (size_t)cap * sizeof *loans);
  if (loans == NULL) return TX_ERR_NOMEM;
  ex->loans = loans;
  ex->loan_cap = cap;
  return TX_OK;
}

/* The open loan of a leveraged order, created (in the account's order-id sequence) at its first
 * fill, in room x_loans_reserve made before the fill. Every fill at `price` registers a
 * margin-call price of its own (7.6), and the loan is called when any of them is breached: it
 * keeps the strictest, from its highest fill for a long, its lowest for a short. */
static x_loan *loan_of(tx_exchange *ex, x_account *acct, x_order *o, int64_t price) {
  /* The order's loan may have been repaid in full meanwhile (e.g. by a self-trade of the
   * aggressor), in which case a fill starts a new one. */
  if (o->loan != XNONE) {
    x_loan *loan = &ex->loans[o->loan];
    if (loan->live && loan->order_id == o->id && loan->account == o->account) {
      if (o->dir == TX_BUY ? price > loan->price : price < loan->price) {
        loan->price = price;
        ex->margin_dirty = true; /* a stricter call price: the check is owed */
      }
      return loan;
    }
  }
  uint32_t li;
  if (ex->free_loan != XNONE) {
    li = ex->free_loan;
    ex->free_loan = ex->loans[li].next;
  } else {
    li = ex->loan_n++;
  }
  ex->margin_dirty = true;
  x_loan *loan = &ex->loans[li];
  *loan = (x_loan){
      .leverage = o->leverage,
      .price = price,
      .order_id = o->id,
      .account = o->account,
      .seq = ex->loan_seq++,
      .dir = o->dir,
      .live = 1,
  };
  uint32_t after = acct->loan_tail;
  while (after != XNONE && ex->loans[after].order_id > o->id) after = ex->loans[after].prev;
  loan->prev = after;
  loan->next = after == XNONE ? acct->loan_head : ex->loans[after].next;
  if (loan->next != XNONE) ex->loans[loan->next].prev = li;
  else acct->loan_tail = li;
  if (after != XNONE) ex->loans[after].next = li;
  else acct->loan_head = li;
  o->loan = li;
  return loan;
}

static void take_collateral(x_account *acct, x_order *o, x_loan *loan, int64_t base,
                            int64_t quote) {
  o->res_base -= base;
  acct->base_reserved -= base;
  o->res_quote -= quote;
  acct->quote_reserved -= quote;
  loan->coll_base += base;
  loan->coll_quote += quote;
  acct->base_coll += base;
  acct->quote_coll += quote;
}

void x_margin_buy_leg(tx_exchange *ex, x_account *acct, x_order *o, int64_t price, int64_t ask,
                      int64_t cost) {
  if (cost <= 0) return; /* a fill too small to be worth one quote unit borrows nothing */
  x_loan *loan = loan_of(ex, acct, o, price);
  int64_t c = ceil_div((__int128)cost * X_RATE_ONE, X_RATE_ONE + o->leverage);
  int64_t quote = min64(c, o->res_quote);
  int64_t base = c > quote ? min64(base_ceil(ex, c - quote, ask), o->res_base) : 0;
  take_collateral(acct, o, loan, base, quote);
  loan->amount += cost;
  acct->quote_loan += cost;
  ex->books[o->book].lent_quote += cost;
}

void x_margin_sell_leg(tx_exchange *ex, x_account *acct, x_order *o, int64_t price, int64_t bid,
                       int64_t volume) {
  x_loan *loan = loan_of(ex, acct, o, price);
  int64_t c = ceil_div((__int128)volume * X_RATE_ONE, X_RATE_ONE + o->leverage);
  int64_t base = min64(c, o->res_base);
  int64_t quote = c > base ? min64(notional_ceil(ex, bid, c - base), o->res_quote) : 0;
  take_collateral(acct, o, loan, base, quote);
  loan->amount += volume;
  acct->base_loan += volume;
  ex->books[o->book].lent_base += volume;
}

/* Unlinks a finished loan from its account and from its order (if that still rests). */
static void free_loan(tx_exchange *ex, x_account *acct, uint32_t li) {
  x_loan *loan = &ex->loans[li];
  if (loan->prev != XNONE) ex->loans[loan->prev].next = loan->next;
  else acct->loan_head = loan->next;
  if (loan->next != XNONE) ex->loans[loan->next].prev = loan->prev;
  else acct->loan_tail = loan->prev;
  uint32_t book_id = loan->account % ex->cfg.book_count;
  uint32_t oi = x_order_lookup(&ex->books[book_id], loan->order_id);
  if (oi != XNONE && ex->orders[oi].loan == li) ex->orders[oi].loan = XNONE;
  loan->live = 0;
  loan->next = ex->free_loan;
  ex->free_loan = li;
}

/* Returns collateral to the account's free balances. */
static void release_collateral(x_account *acct, x_loan *loan, int64_t base, int64_t quote) {
  loan->coll_base -= base;
  loan->coll_quote -= quote;
  acct->base_coll -= base;
  acct->quote_coll -= quote;
  acct->base_free += base;
  acct->quote_free += quote;
}

/* The collateral a repayment of `s` of `loan` (valued at `price`) releases, exactly (Q17): the
 * share s / amount of the collateral's value, taken from the other currency first (long loans
 * give back base first, short loans quote first). With the value V = Vb + Vq (base part at
 * `price`, quote part), a long releases trunc_b(s V / (amount Vb) * base) while s V / amount < Vb,
 * then all its base and trunc_q(s V / amount - Vb) quote; a short likewise. Values are kept in
 * quote units times 10^-min(shift, 0), so nothing is truncated before the end: in 128 bits where
 * the products fit, else in 256 (a truncated split would be a few units off). */
static void exact_release(const tx_exchange *ex, const x_loan *loan, int64_t s, int64_t price,
                          int dir, int64_t *base, int64_t *quote) {
  __int128 unit, per_base;
  exact_units(ex, price, &unit, &per_base);
  __int128 a = loan->amount, vb, vq, value, share, owed_b, owed_q, den_b, den_q;
  if (!__builtin_mul_overflow(per_base, (__int128)loan->coll_base, &vb) &&
      !__builtin_mul_overflow(unit, (__int128)loan->coll_quote, &vq) &&
      !__builtin_add_overflow(vb, vq, &value) &&
      !__builtin_mul_overflow(value, (__int128)s, &share) &&
      !__builtin_mul_overflow(vb, a, &owed_b) && !__builtin_mul_overflow(vq, a, &owed_q) &&
      !__builtin_mul_overflow(per_base, a, &den_b) && !__builtin_mul_overflow(unit, a, &den_q)) {
    /* share / amount is the repaid value; owed_b / amount and owed_q / amount the two parts. */
    if (dir == TX_BUY) {
      if (share < owed_b) {
        *base = (int64_t)(share / den_b);
        *quote = 0;
      } else {
        *base = loan->coll_base;
        *quote = min64((int64_t)((share - owed_b) / den_q), loan->coll_quote);
      }
    } else if (share < owed_q) {
      *quote = (int64_t)(share / den_q);
      *base = 0;
    } else {
      *quote = loan->coll_quote;
      *base = min64((int64_t)((share - owed_q) / den_b), loan->coll_base);
    }
    return;
  }
  x_u256 wa = wide(a), wvb = u256_mul(wide(per_base), wide(loan->coll_base)),
         wvq = u256_mul(wide(unit), wide(loan->coll_quote));
  x_u256 wshare = u256_mul(u256_add(wvb, wvq), wide(s));
  x_u256 wowed_b = u256_mul(wvb, wa), wowed_q = u256_mul(wvq, wa);
  x_u256 wden_b = u256_mul(wide(per_base), wa), wden_q = u256_mul(wide(unit), wa);
  if (dir == TX_BUY) {
    if (u256_cmp(wshare, wowed_b) < 0) {
      *base = u256_div(wshare, wden_b);
      *quote = 0;
    } else {
      *base = loan->coll_base;
      *quote = min64(u256_div(u256_sub(wshare, wowed_b), wden_q), loan->coll_quote);
    }
  } else if (u256_cmp(wshare, wowed_q) < 0) {
    *quote = u256_div(wshare, wden_q);
    *base = 0;
  } else {
    *quote = loan->coll_quote;
    *base = min64(u256_div(u256_sub(wshare, wowed_q), wden_b), loan->coll_base);
  }
}

void x_repay(tx_exchange *ex, x_account *acct, int dir, int64_t incoming, int64_t price) {
  x_book *book = &ex->books[(size_t)(acct - ex->accounts) % ex->cfg.book_count];
  uint32_t li = acct->loan_head;
  while (li != XNONE && incoming > 0) {
    x_loan *loan = &ex->loans[li];
    uint32_t next = loan->next;
    if (loan->dir != dir || loan->amount <= 0) {
      li = next;
      continue;
    }
    int64_t s = min64(loan->amount, incoming);
    int64_t base = loan->coll_base, quote = loan->coll_quote;
    if (s < loan->amount) exact_release(ex, loan, s, price, dir, &base, &quote);
    release_collateral(acct, loan, base, quote);
    loan->amount -= s;
    incoming -= s;
    if (dir == TX_BUY) {
      acct->quote_free -= s;
      acct->quote_loan -= s;
      book->lent_quote -= s;
    } else {
      acct->base_free -= s;
      acct->base_loan -= s;
      book->lent_base -= s;
    }
    if (loan->amount == 0) {
      release_collateral(acct, loan, loan->coll_base, loan->coll_quote);
      free_loan(ex, acct, li);
    }
    li = next;
  }
}

/* Has the book's best price crossed the loan's margin-call price? Long:
 * p*L/((1+L)(1-mm)) > best bid; short: p*(2+L)/((1+L)(1+mm)) < best ask. Exact in integers. */
static bool breached(const tx_exchange *ex, const x_loan *loan) {
  const x_book *book = &ex->books[loan->account % ex->cfg.book_count];
  int64_t mm = ex->cfg.maintenance_margin_e9, lev = loan->leverage;
  if (loan->dir == TX_BUY) {
    const x_side *bids = &book->side[TX_BUY];
    if (bids->n == 0) return false;
    int64_t best = bids->lv[bids->n - 1].price;
    return (__int128)loan->price * lev * X_RATE_ONE >
           (__int128)best * (X_RATE_ONE + lev) * (X_RATE_ONE - mm);
  }
  const x_side *asks = &book->side[TX_SELL];
  if (asks->n == 0) return false;
  int64_t best = asks->lv[asks->n - 1].price;
  return (__int128)loan->price * (2 * (int64_t)X_RATE_ONE + lev) * X_RATE_ONE <
         (__int128)best * (X_RATE_ONE + lev) * (X_RATE_ONE + mm);
}

static int64_t call_price(const tx_exchange *ex, const x_loan *loan) {
  int64_t mm = ex->cfg.maintenance_margin_e9, lev = loan->leverage;
  if (loan->dir == TX_BUY) {
    return (int64_t)((__int128)loan->price * lev * X_RATE_ONE /
                     ((__int128)(X_RATE_ONE + lev) * (X_RATE_ONE - mm)));
  }
  return (int64_t)((__int128)loan->price * (2 * (int64_t)X_RATE_ONE + lev) * X_RATE_ONE /
                   ((__int128)(X_RATE_ONE + lev) * (X_RATE_ONE + mm)));
}

static void margin_event(tx_exchange *ex, uint8_t type, const x_loan *loan, int64_t price,
                         int64_t amount, uint8_t flags) {
  const x_account *acct = &ex->accounts[loan->account];
  tx_event e = {
      .timestamp = ex->now,
      .price = price,
      .leverage_e9 = loan->leverage,
      .instruction = XNONE,
      .book_id = loan->account % ex->cfg.book_count,
      .order_id = loan->order_id,
      .resting_order_id = XNONE,
      .trade_id = XNONE,
      .agent_id = acct->agent,
      .client_order_id = XNONE,
      .resting_client_order_id = XNONE,
      .type = type,
      .direction = loan->dir,
      .flags = flags,
      .amount = amount,
  };
  x_emit(ex, &e);
}

static bool last_event_rejected(const tx_exchange *ex) {
  return ex->ev_write != ex->ev_read && ex->ev_write[-1].type == TX_EV_REJECTED;
}

static bool loan_alive(const tx_exchange *ex, uint32_t li, uint32_t account, uint32_t order_id) {
  const x_loan *loan = &ex->loans[li];
  return loan->live && loan->account == account && loan->order_id == order_id;
}

/* Can the account still buy one lot at the book's best ask, taker fee included? A short loan
 * whose owner cannot is closed against its collateral: buying back is over. */
static bool affords_lot(const tx_exchange *ex, const x_account *acct, const x_book *book) {
  const x_side *asks = &book->side[TX_SELL];
  if (asks->n == 0) return true; /* nothing to buy yet: not over */
  int64_t cost = x_with_rate(ex, asks->lv[asks->n - 1].price, ex->lot, x_taker_rate(acct));
  return acct->quote_free >= cost;
}

/* Liquidates one loan: clears the owner's orders in the book, then sells (long) enough base to
 * raise the loan or buys (short) the borrowed base, with whatever the account can afford. A loan
 * the account can no longer trade for is closed against its collateral and its free balance in
 * the loan's currency, and only the rest written off. */
static void liquidate(tx_exchange *ex, uint32_t li) {
  x_loan *loan = &ex->loans[li];
  uint32_t account = loan->account, order_id = loan->order_id;
  uint32_t book_id = account % ex->cfg.book_count;
  x_account *acct = &ex->accounts[account];
  const x_side *opp = &ex->books[book_id].side[loan->dir == TX_BUY ? TX_BUY : TX_SELL];
  margin_event(ex, TX_EV_MARGIN_CALL, loan, opp->lv[opp->n - 1].price, loan->amount, 0);
  x_cancel_all(ex, book_id, acct, TX_CAUSE_MARGIN_CALL);

  tx_instruction in = {
      .kind = TX_INSTR_MARKET,
      .direction = loan->dir == TX_BUY ? TX_SELL : TX_BUY,
      .currency = loan->dir == TX_BUY ? TX_CURRENCY_QUOTE : TX_CURRENCY_BASE,
      .stp = TX_STP_CO,
      .agent_id = acct->agent,
      .book_id = book_id,
      .client_order_id = XNONE,
      .order_id = XNONE,
      .volume = loan->amount,
  };
  x_place(ex, &in);
  if (last_event_rejected(ex) && loan_alive(ex, li, account, order_id)) {
    /* A loan worth less than a lot (what a taker fee left of an earlier call) cannot be traded
     * for: one lot closes it. A loan the account cannot cover: liquidate what it holds. */
    acct = &ex->accounts[account];
    loan = &ex->loans[li];
    const x_book *book = &ex->books[book_id];
    const x_side *bids = &book->side[TX_BUY];
    /* (The owner's own bids, cancelled above, may have been the whole side.) */
    bool below_lot =
        in.direction == TX_SELL
            ? bids->n > 0 && loan->amount < x_notional(ex, bids->lv[bids->n - 1].price, ex->lot)
            : loan->amount < ex->lot;
    /* Collateral held in the currency the liquidation trades is sold (or spent) with the rest:
     * kept aside, it would go back to the account at a write-off that it could have reduced. */
    int64_t freed = 0;
    if (book->side[!in.direction].n > 0) {
      freed = in.direction == TX_SELL ? loan->coll_base : loan->coll_quote;
      if (in.direction == TX_SELL) release_collateral(acct, loan, freed, 0);
      else release_collateral(acct, loan, 0, freed);
    }
    /* The order may have been refused only for the collateral it could not touch: with that
     * freed, the loan-sized order is tried once more before the account's whole holding goes. */
    bool can_trade = in.direction == TX_SELL ? acct->base_free >= ex->lot
                                             : affords_lot(ex, acct, book);
    bool placed = false;
    if (freed > 0 && !below_lot && can_trade) {
      x_place(ex, &in);
      placed = !last_event_rejected(ex) || !loan_alive(ex, li, account, order_id);
      acct = &ex->accounts[account];
      loan = &ex->loans[li];
      book = &ex->books[book_id];
    }
    if (placed) {
      in.volume = 0;
    } else if (in.direction == TX_SELL) {
      in.currency = TX_CURRENCY_BASE;
      in.volume = !below_lot ? x_lot(ex, acct->base_free)
                  : acct->base_free >= ex->lot ? ex->lot
                                               : 0;
    } else if (!affords_lot(ex, acct, book)) {
      in.volume = 0;
    } else if (below_lot) {
      in.volume = ex->lot; /* in base, as the first order */
    } else {
      in.currency = TX_CURRENCY_QUOTE;
      in.volume = (int64_t)((__int128)acct->quote_free * X_RATE_ONE /
                            (X_RATE_ONE + x_taker_rate(acct)));
    }
    if (in.volume > 0) x_place(ex, &in);
  }
  if (!loan_alive(ex, li, account, order_id)) return;
  acct = &ex->accounts[account];
  loan = &ex->loans[li];
  bool exhausted = loan->dir == TX_BUY ? acct->base_free < ex->lot
                                       : !affords_lot(ex, acct, &ex->books[book_id]);
  if (!exhausted) {
    ex->margin_dirty = true; /* check it again next time even if prices stay put */
    return;
  }
  /* Close out: the collateral in the loan's currency repays what it can, then the account's
   * free balance in that currency; the rest of the collateral goes back to the account and only
   * what neither covers is written off. */
  int64_t paid, from_free;
  x_book *book = &ex->books[book_id];
  if (loan->dir == TX_BUY) {
    paid = min64(loan->coll_quote, loan->amount);
    loan->coll_quote -= paid;
    acct->quote_coll -= paid;
    from_free = min64(acct->quote_free, loan->amount - paid);
    acct->quote_free -= from_free;
    paid += from_free;
    acct->quote_loan -= loan->amount;
    book->lent_quote -= paid; /* what is written off stays in the book */
  } else {
    paid = min64(loan->coll_base, loan->amount);
    loan->coll_base -= paid;
    acct->base_coll -= paid;
    from_free = min64(acct->base_free, loan->amount - paid);
    acct->base_free -= from_free;
    paid += from_free;
    acct->base_loan -= loan->amount;
    book->lent_base -= paid;
  }
  int64_t written_off = loan->amount - paid;
  loan->amount = 0;
  release_collateral(acct, loan, loan->coll_base, loan->coll_quote);
  margin_event(ex, TX_EV_LOAN_SETTLED, loan, 0, written_off,
               written_off > 0 ? TX_EVF_WRITE_OFF : 0);
  free_loan(ex, acct, li);
}

static int64_t best_price(const x_side *s) { return s->n > 0 ? s->lv[s->n - 1].price : 0; }

/* Does `a` come before `b` in a margin-call pass: the lower margin-call price first (exactly,
 * the maintenance margin being common to both), then the older loan, as the reference walks its
 * registry of call prices upwards. */
static bool called_before(const x_loan *a, const x_loan *b) {
  __int128 one = X_RATE_ONE, pa, pb;
  if (a->dir == TX_BUY) { /* p L / (1 + L) */
    pa = (__int128)a->price * a->leverage * (one + b->leverage);
    pb = (__int128)b->price * b->leverage * (one + a->leverage);
  } else { /* p (2 + L) / (1 + L) */
    pa = (__int128)a->price * (2 * one + a->leverage) * (one + b->leverage);
    pb = (__int128)b->price * (2 * one + b->leverage) * (one + a->leverage);
  }
  return pa != pb ? pa < pb : a->seq < b->seq;
}

void x_margin_calls(tx_exchange *ex) {
  /* A breach depends only on the loans and the best prices: skip when neither changed. */
  bool changed = ex->margin_dirty;
  for (uint32_t b = 0; b < ex->cfg.book_count; b++) {
    x_book *book = &ex->books[b];
    int64_t bid = best_price(&book->side[TX_BUY]), ask = best_price(&book->side[TX_SELL]);
    if (bid != book->checked_bid || ask != book->checked_ask) changed = true;
    book->checked_bid = bid;
    book->checked_ask = ask;
  }
  if (!changed) return;
  ex->margin_dirty = false;
  /* Room for every loan twice: a group's loans, then those called once more. */
  uint32_t need = 2 * ex->loan_n;
  if (ex->calls_cap < need) {
    x_call *calls = realloc(ex->calls, (size_t)need * sizeof *calls);
    if (calls == NULL) {
      ex->margin_dirty = true; /* the check is owed: the next call makes it */
      ex->error = TX_ERR_NOMEM;
      return;
    }
    ex->calls = calls;
    ex->calls_cap = need;
  }
  /* As the reference: book by book, longs before shorts, each group by ascending margin-call
   * price. A loan is liquidated if it is still open and still breached when its turn comes (an
   * earlier liquidation may have repaid it or moved the book). Proceeds repay the owner's oldest
   * loans first: a loan whose liquidation repaid only older ones is called once more at the end
   * of its group, as the reference's orders for all breached loans together sell for each. */
  for (uint32_t b = 0; b < ex->cfg.book_count && ex->error == TX_OK; b++) {
    for (int dir = TX_BUY; dir <= TX_SELL && ex->error == TX_OK; dir++) {
      uint32_t n = 0;
      for (uint32_t li = 0; li < ex->loan_n; li++) {
        const x_loan *loan = &ex->loans[li];
        if (!loan->live || loan->amount <= 0 || loan->dir != dir ||
            loan->account % ex->cfg.book_count != b || !breached(ex, loan)) {
          continue;
        }
        uint32_t at = n++;
        while (at > 0 && called_before(loan, &ex->loans[ex->calls[at - 1].loan])) {
          ex->calls[at] = ex->calls[at - 1];
          at--;
        }
        ex->calls[at] = (x_call){.seq = loan->seq, .loan = li};
      }
      uint32_t first_pass = n;
      for (uint32_t i = 0; i < n && ex->error == TX_OK; i++) {
        x_call call = ex->calls[i];
        const x_loan *loan = &ex->loans[call.loan];
        if (!loan->live || loan->seq != call.seq || loan->amount <= 0 || !breached(ex, loan)) {
          continue;
        }
        const x_account *acct = &ex->accounts[loan->account];
        int64_t amount = loan->amount;
        int64_t owed = dir == TX_BUY ? acct->quote_loan : acct->base_loan;
        liquidate(ex, call.loan);
        loan = &ex->loans[call.loan];
        bool repaid_others = (dir == TX_BUY ? acct->quote_loan : acct->base_loan) < owed;
        if (i < first_pass && loan->live && loan->seq == call.seq && loan->amount == amount &&
            repaid_others) {
          ex->calls[n++] = call;
        }
      }
    }
  }
}

void x_copy_loan(const tx_exchange *ex, const x_loan *loan, tx_loan *out) {
  tx_loan record = {
      .amount = loan->amount,
      .collateral_base = loan->coll_base,
      .collateral_quote = loan->coll_quote,
      .leverage_e9 = loan->leverage,
      .price = loan->price,
      .call_price = call_price(ex, loan),
      .order_id = loan->order_id,
      .direction = loan->dir,
  };
  memcpy(out, &record, sizeof record); /* the host's buffer may sit at any address */
}
