/* Instructions: placement (validation, reservation, price-time matching, self-trade prevention,
 * settlement), cancels, GTT expiry and agent resets. Every failure becomes a rejection event. */
#include <stddef.h>
#include <string.h>

#include "exchange_internal.h"

/* Event records are written field by field, without zero-filling first. The 32-bit and 8-bit
 * fields from `instruction` on are written in 64-bit pairs: event writes are a good part of the
 * work (about a fifth of the bench mix's time), and five wide stores replace thirteen narrow ones
 * (2 to 4 % on the bench mix). Little-endian hosts only, as the header test below. */
static inline void put_pair(void *at, uint32_t lo, uint32_t hi) {
  uint64_t v = (uint64_t)lo | (uint64_t)hi << 32;
  memcpy(at, &v, sizeof v);
}
/* resting_client_order_id and the four bytes after it: type, direction, reason, flags. */
static inline void put_tail(tx_event *e, uint32_t resting_client, uint8_t type, uint8_t dir,
                            uint8_t reason, uint8_t flags) {
  uint64_t v = (uint64_t)resting_client | (uint64_t)type << 32 | (uint64_t)dir << 40 |
               (uint64_t)reason << 48 | (uint64_t)flags << 56;
  memcpy(&e->resting_client_order_id, &v, sizeof v);
}
#define X_ADJOIN(lo, hi) \
  _Static_assert(offsetof(tx_event, hi) == offsetof(tx_event, lo) + 4, #lo " and " #hi " adjoin")
X_ADJOIN(instruction, book_id);
X_ADJOIN(order_id, resting_order_id);
X_ADJOIN(trade_id, agent_id);
X_ADJOIN(resting_agent_id, client_order_id);
X_ADJOIN(resting_client_order_id, type);
_Static_assert(offsetof(tx_event, flags) == offsetof(tx_event, type) + 3, "type to flags adjoin");
#undef X_ADJOIN

static void reject(tx_exchange *ex, const tx_instruction *in, int reason, uint8_t flags) {
  tx_event *e = x_push(ex);
  if (e == NULL) return;
  e->timestamp = ex->now;
  e->price = in->price;
  e->volume = in->volume;
  e->remaining = 0;
  e->notional = 0;
  e->maker_fee = 0;
  e->taker_fee = 0;
  e->leverage_e9 = in->leverage_e9;
  put_pair(&e->instruction, ex->instr, in->book_id);
  put_pair(&e->order_id, in->kind == TX_INSTR_CANCEL ? in->order_id : XNONE, XNONE);
  put_pair(&e->trade_id, XNONE, (uint32_t)in->agent_id);
  put_pair(&e->resting_agent_id, 0, in->client_order_id);
  put_tail(e, XNONE, TX_EV_REJECTED, in->direction, (uint8_t)reason, flags);
  e->amount = 0;
}

/* An order event (placed, accepted, cancelled, expired, STP reduction, dropped remainder). */
static inline void order_event(tx_exchange *ex, const x_order *o, uint8_t type, int64_t volume,
                        uint8_t reason) {
  tx_event *e = x_push(ex);
  if (e == NULL) return;
  e->timestamp = ex->now;
  e->price = o->market ? 0 : o->price;
  e->volume = volume;
  e->remaining = o->volume;
  e->notional = 0;
  e->maker_fee = 0;
  e->taker_fee = 0;
  e->leverage_e9 = o->leverage;
  put_pair(&e->instruction, ex->instr, o->book);
  put_pair(&e->order_id, o->id, XNONE);
  put_pair(&e->trade_id, XNONE, (uint32_t)o->agent);
  put_pair(&e->resting_agent_id, 0, o->client_id);
  put_tail(e, XNONE, type, o->dir, reason,
           (uint8_t)((o->market ? TX_EVF_MARKET : 0) |
                     ((type == TX_EV_CANCELLED && o->volume > 0) ? TX_EVF_PARTIAL : 0)));
  e->amount = 0;
}

/* Quote a resting buy needs reserved: its volume at its price plus the maker fee it was sized
 * with. */
int64_t x_target_quote(const tx_exchange *ex, const x_order *o) {
  return o->dir == TX_BUY ? x_with_rate(ex, o->price, o->volume, o->maker_e9) : 0;
}

static void release_all(x_account *acct, x_order *o) {
  acct->quote_free += o->res_quote;
  acct->quote_reserved -= o->res_quote;
  acct->base_free += o->res_base;
  acct->base_reserved -= o->res_base;
  o->res_quote = o->res_base = 0;
}

/* Brings an order's reservation to exactly what its remaining volume needs: the surplus goes
 * back to free. A buy never needs more than it holds: its fills take at most what they freed or
 * set aside (settle_fill), and it keeps the maker rate it was reserved with. */
static void settle_reservation(tx_exchange *ex, x_account *acct, x_order *o) {
  if (o->dir == TX_BUY) {
    int64_t delta = o->res_quote - x_target_quote(ex, o);
    o->res_quote -= delta;
    acct->quote_reserved -= delta;
    acct->quote_free += delta;
  } else {
    int64_t delta = o->res_base - o->volume;
    o->res_base -= delta;
    acct->base_reserved -= delta;
    acct->base_free += delta;
  }
}

/* Removes a resting order entirely (its reservation goes back to free) and emits `type`
 * (`emit`); `at_best` skips looking its level up. */
static inline void remove_order(tx_exchange *ex, x_book *book, uint32_t index, uint8_t type,
                         uint8_t cause, bool emit, bool at_best) {
  x_order *o = &ex->orders[index];
  x_account *acct = &ex->accounts[o->account];
  int64_t volume = o->volume;
  if (at_best) x_unlink_best(ex, book, index);
  else x_unlink(ex, book, index);
  release_all(acct, o);
  o->volume = o->total = 0;
  if (emit) order_event(ex, o, type, volume, cause);
  x_order_free(ex, index);
}

static void remove_resting(tx_exchange *ex, x_book *book, uint32_t index, uint8_t type,
                           uint8_t cause) {
  remove_order(ex, book, index, type, cause, true, false);
}

/* Shrinks a resting order to `own` own volume (its matchable volume following), keeping its
 * place in the queue; the reservation follows (exactly for cash orders, proportionally for
 * leveraged ones). */
static void shrink_resting(tx_exchange *ex, x_book *book, x_order *o, int64_t own,
                           uint8_t cause) {
  x_account *acct = &ex->accounts[o->account];
  int64_t total = x_total_volume(ex, own, o->leverage);
  if (own <= 0) {
    remove_resting(ex, book, (uint32_t)(o - ex->orders), TX_EV_CANCELLED, cause);
    return;
  }
  x_level *lv = x_level_at(book, o->dir, o->price);
  int64_t removed = o->volume - own;
  lv->volume -= o->total - total;
  book->side[o->dir].volume -= o->total - total;
  if (o->leverage == 0) {
    o->volume = own;
    o->total = total;
    settle_reservation(ex, acct, o);
  } else {
    int64_t rel_b = o->volume > 0 ? (int64_t)((__int128)o->res_base * removed / o->volume) : 0;
    int64_t rel_q = o->volume > 0 ? (int64_t)((__int128)o->res_quote * removed / o->volume) : 0;
    o->res_base -= rel_b;
    acct->base_reserved -= rel_b;
    acct->base_free += rel_b;
    o->res_quote -= rel_q;
    acct->quote_reserved -= rel_q;
    acct->quote_free += rel_q;
    o->volume = own;
    o->total = total;
  }
  order_event(ex, o, TX_EV_CANCELLED, removed, cause);
}

/* The best price of `side`, or `fallback` when the side is empty. */
static inline int64_t best_or(const x_book *book, int side, int64_t fallback) {
  const x_side *s = &book->side[side];
  return s->n > 0 ? s->lv[s->n - 1].price : fallback;
}

/* What rebates may still create in the book: its quote holdings (what it was given, less net
 * fees) stay within TX_MAX_HELD, the bound that keeps every balance from overflowing. */
static inline int64_t rebate_room(const x_book *book) {
  return TX_MAX_HELD - (book->held_quote - book->fees);
}

/* Rebates (negative fees) create quote: they are paid only as far as rebate_room allows. The
 * fill's positive fee, if any, makes room first. */
static void limit_rebates(const x_book *book, int64_t *maker_fee, int64_t *taker_fee) {
  int64_t room = rebate_room(book);
  if (*maker_fee > 0) room += *maker_fee;
  if (*taker_fee > 0) room += *taker_fee;
  if (room < 0) room = 0;
  if (*maker_fee < 0) {
    if (-*maker_fee > room) *maker_fee = -room;
    room += *maker_fee;
  }
  if (*taker_fee < 0 && -*taker_fee > room) *taker_fee = -room;
}

/* What became of a fill: done, or refused and nothing changed. */
enum {
  FILL_DONE,
  FILL_UNPAYABLE, /* a cash buyer cannot pay it without a rebate the book has no room for */
  FILL_PAST_LIMIT, /* its loans would take what the book has lent past X_LENT_LIMIT */
  FILL_NOMEM       /* no memory for the loans it would open (TX_ERR_NOMEM) */
};

/* Loans create the quote (long) or base (short) they lend: would a fill's loans take what the
 * book has lent past X_LENT_LIMIT? */
static bool lends_past_limit(const x_book *book, const x_order *buy, const x_order *sell,
                             int64_t q, int64_t notional, int64_t buyer_fee) {
  return (buy->leverage > 0 && (__int128)book->lent_quote + notional + buyer_fee > X_LENT_LIMIT) ||
         (sell->leverage > 0 && (__int128)book->lent_base + q > X_LENT_LIMIT);
}

/* One fill of `q` base at the resting price between the aggressor `a` and resting order `r`;
 * returns FILL_*. */
static int settle_fill(tx_exchange *ex, x_book *book, x_order *a, x_order *r, int64_t q,
                       int64_t price) {
  x_account *aa = &ex->accounts[a->account];
  x_account *ra = &ex->accounts[r->account];
  int64_t notional = x_notional(ex, price, q);
  int64_t maker_fee = x_fee(ex, price, q, x_maker_rate(ra));
  int64_t taker_fee = x_fee(ex, price, q, x_taker_rate(aa));
  if ((maker_fee | taker_fee) < 0) limit_rebates(book, &maker_fee, &taker_fee);
  bool aggressor_buys = a->dir == TX_BUY;
  x_order *buy = aggressor_buys ? a : r, *sell = aggressor_buys ? r : a;
  x_account *buyer = aggressor_buys ? aa : ra, *seller = aggressor_buys ? ra : aa;
  int64_t buyer_fee = aggressor_buys ? taker_fee : maker_fee;
  int64_t seller_fee = aggressor_buys ? maker_fee : taker_fee;

  if ((buy->leverage | sell->leverage) != 0) {
    if (lends_past_limit(book, buy, sell, q, notional, buyer_fee)) return FILL_PAST_LIMIT;
    /* Both sides may open a loan: room for two is made before anything moves. */
    if (x_loans_reserve(ex, 2) != TX_OK) {
      ex->error = TX_ERR_NOMEM;
      return FILL_NOMEM;
    }
  }
  if (buy->leverage == 0) {
    /* A resting buy pays a fill from the part of its reservation the fill frees and from free
     * quote; what its remaining volume needs stays reserved (taking from it would leave the
     * order short, and its later fills with fees below the floor). A maker rate raised since it
     * was reserved can make the fee more than that: the fee is then cut to what the buyer can
     * pay. The freed part covers the fee at the rate the reservation was sized with, save one
     * unit of rounding when that rate is a rebate (trunc(x * (1 + m)) against trunc(x) +
     * trunc(m * x)), so the cut fee is never lower than that fee by more. */
    if (buy == r) {
      int64_t keep = x_with_rate(ex, r->price, r->volume - q, r->maker_e9);
      int64_t payable = r->res_quote - keep + buyer->quote_free - notional;
      if (buyer_fee > payable) {
        /* Below zero, the fee is a rebate the reservation counted on (sized at a rebate rate)
         * and the buyer has nothing else to pay with. The seller's rebate gets only the room
         * left after it. */
        buyer_fee = payable;
        if (buyer_fee < 0) {
          int64_t counted = buyer_fee;
          limit_rebates(book, &counted, &seller_fee);
        }
      }
    }
    /* The fill is paid from the order's reservation, then from free quote. An aggressing buy's
     * reservation covers its fills; should rounding leave a unit unpaid, or the bound refuse a
     * taker rebate its reservation counted on, the fee absorbs it (never a negative balance). */
    int64_t owed = notional + buyer_fee;
    int64_t from_res = owed < buy->res_quote ? owed : buy->res_quote;
    /* An aggressing buy at a taker rebate reserved each fill's cost at that rebate: a fill that
     * costs more (the bound refused the rebate, or a unit of rounding) takes the difference from
     * free quote, never from what the rest of the order set aside for its own fills and rest. */
    if (buy == a && x_taker_rate(aa) < 0) {
      int64_t share = x_with_rate(ex, price, q, x_taker_rate(aa));
      if (from_res > share) from_res = share;
    }
    if (from_res < 0) from_res = 0;
    int64_t from_free = owed - from_res;
    if (from_free > buyer->quote_free) {
      buyer_fee -= from_free - buyer->quote_free;
      from_free = buyer->quote_free;
    }
    /* A rebate the buyer had to be paid may pass the room limit_rebates keeps. One unit of
     * rounding is let through (a book's holdings then end at most one unit past the bound);
     * more, and the fill is refused: its caller cancels the resting buy or halts the aggressing
     * one, so that no balance can ever overflow. */
    if ((buyer_fee | seller_fee) < 0 &&
        -(buyer_fee + seller_fee) > rebate_room(book) + 1) {
      return FILL_UNPAYABLE;
    }
    buy->res_quote -= from_res;
    buyer->quote_reserved -= from_res;
    buyer->quote_free -= from_free;
  } else {
    /* Margin legs and repayments value the other currency at the best ask (buyer) or best bid
     * (seller) as the fill happens. The resting order is still on its level, so the matched
     * side's best is the trade price. */
    x_margin_buy_leg(ex, buyer, buy, price, best_or(book, TX_SELL, price), notional + buyer_fee);
  }
  buyer->base_free += q;
  if (buyer->loan_head != XNONE) x_repay(ex, buyer, TX_SELL, q, best_or(book, TX_SELL, price));

  if (sell->leverage > 0) {
    x_margin_sell_leg(ex, seller, sell, price, best_or(book, TX_BUY, price), q);
  } else {
    sell->res_base -= q;
    seller->base_reserved -= q;
  }
  seller->quote_free += notional - seller_fee;
  if (seller->loan_head != XNONE) {
    x_repay(ex, seller, TX_BUY, notional - seller_fee, best_or(book, TX_BUY, price));
  }
  maker_fee = aggressor_buys ? seller_fee : buyer_fee;
  taker_fee = aggressor_buys ? buyer_fee : seller_fee;

  book->fees += maker_fee + taker_fee;
  x_add_fee_volume(ex, aa, notional);
  x_add_fee_volume(ex, ra, notional);

  a->total -= q;
  a->volume = x_own_volume(ex, a->total, a->leverage);
  r->total -= q;
  r->volume = x_own_volume(ex, r->total, r->leverage);
  uint32_t trade_id = book->next_trade_id++;
  /* After 2^32 - 1 trades the ids start again at 0: XNONE means no trade. */
  if (book->next_trade_id == XNONE) book->next_trade_id = 0;
  tx_event *e = x_push(ex);
  if (e == NULL) return FILL_DONE;
  e->timestamp = ex->now;
  e->price = price;
  e->volume = q;
  e->remaining = a->volume;
  e->notional = notional;
  e->maker_fee = maker_fee;
  e->taker_fee = taker_fee;
  e->leverage_e9 = a->leverage;
  put_pair(&e->instruction, ex->instr, a->book);
  put_pair(&e->order_id, a->id, r->id);
  put_pair(&e->trade_id, trade_id, (uint32_t)a->agent);
  put_pair(&e->resting_agent_id, (uint32_t)r->agent, a->client_id);
  put_tail(e, r->client_id, TX_EV_TRADE, a->dir, 0, a->market ? TX_EVF_MARKET : 0);
  e->amount = r->volume > 0 ? r->total : 0;
  return FILL_DONE;
}

/* Does a level at `level_price` satisfy a `dir` order limited to `limit`? Both comparisons are
 * made and the side selects one by masks: the side is a coin toss to the branch predictor, and a
 * branch here was mispredicted often enough to cost about 3% of the placement rate. */
static inline bool within(int dir, int64_t level_price, int64_t limit) {
  unsigned sell = (unsigned)dir & 1u;
  return ((unsigned)(level_price <= limit) & (sell ^ 1u)) |
         ((unsigned)(level_price >= limit) & sell);
}

/* Self-trade prevention removes `total` matchable units from the aggressor: its own volume drops
 * by trunc_v(total / (1 + L)) and its matchable volume follows from what is left. */
static void stp_reduce(tx_exchange *ex, x_order *a, int64_t total) {
  int64_t before = a->volume;
  if (total >= a->total) {
    a->volume = a->total = 0;
  } else {
    a->volume -= x_own_volume(ex, total, a->leverage);
    if (a->volume < 0) a->volume = 0;
    a->total = x_total_volume(ex, a->volume, a->leverage);
  }
  order_event(ex, a, TX_EV_STP_REDUCED, before - a->volume, TX_CAUSE_STP);
}

/* Price-time matching of the aggressor against the opposite side up to `limit`. Returns false
 * when the aggressor was halted at a fill settle_fill refused: its remainder must then not rest,
 * crossing as it does. */
static bool match(tx_exchange *ex, x_book *book, x_order *a, int64_t limit) {
  int opp = !a->dir;
  x_side *s = &book->side[opp];
  while (a->volume > 0 && s->n > 0) {
    x_level *lv = &s->lv[s->n - 1];
    if (!within(a->dir, lv->price, limit)) break;
    uint32_t ri = lv->head;
    x_order *r = &ex->orders[ri];
    if (r->agent == a->agent && a->stp != TX_STP_NONE) {
      int64_t vr = r->total, va = a->total;
      switch (a->stp) {
      case TX_STP_CO:
        remove_order(ex, book, ri, TX_EV_CANCELLED, TX_CAUSE_STP, true, true);
        continue;
      case TX_STP_CN:
        stp_reduce(ex, a, va);
        return true;
      case TX_STP_CB:
        remove_order(ex, book, ri, TX_EV_CANCELLED, TX_CAUSE_STP, true, true);
        stp_reduce(ex, a, va);
        return true;
      default: /* TX_STP_DC */
        if (vr <= va) {
          remove_order(ex, book, ri, TX_EV_CANCELLED, TX_CAUSE_STP, true, true);
          stp_reduce(ex, a, vr);
          continue;
        }
        /* The resting order gives up trunc_v(Va / (1 + Lr)) of its own volume. */
        shrink_resting(ex, book, r, r->volume - x_own_volume(ex, va, r->leverage), TX_CAUSE_STP);
        stp_reduce(ex, a, va);
        return true;
      }
    }
    int64_t q = r->total < a->total ? r->total : a->total;
    int64_t price = lv->price;
    lv->volume -= q;
    s->volume -= q;
    int fill = settle_fill(ex, book, a, r, q, price);
    if (fill != FILL_DONE) {
      lv->volume += q;
      s->volume += q;
      /* A resting buy that cannot pay is cancelled; otherwise the aggressor stops there. */
      if (fill != FILL_UNPAYABLE || r->dir == TX_SELL) return false;
      remove_order(ex, book, ri, TX_EV_CANCELLED, TX_CAUSE_UNFUNDED, true, true);
      continue;
    }
    if (r->volume == 0) {
      remove_order(ex, book, ri, 0, 0, false, true);
    } else if (r->dir == TX_BUY && r->leverage == 0) {
      settle_reservation(ex, &ex->accounts[r->account], r);
    }
  }
  return true;
}

/* How resting orders of the same agent count when looking at the opposite side. */
enum { OWN_COUNT, OWN_SKIP, OWN_STOP, OWN_STOP_ZERO };

typedef struct {
  int64_t vol;   /* base collected */
  int64_t cost;  /* buy, base mode: sum of trunc_q(price * piece * (1 + rate)) */
  int64_t quote; /* quote mode: quote collected */
} x_walk;

/* Walks the side opposite to `dir`, best first, within `limit` (has_limit), collecting up to
 * `target` base (or quote when by_quote). */
static x_walk walk(const tx_exchange *ex, const x_book *book, int dir, bool has_limit,
                   int64_t limit, int32_t agent, int own, bool by_quote, int64_t target,
                   int64_t rate) {
  x_walk w = {0, 0, 0};
  const x_side *s = &book->side[!dir];
  for (uint32_t li = s->n; li-- > 0;) {
    const x_level *lv = &s->lv[li];
    if (has_limit && !within(dir, lv->price, limit)) return w;
    for (uint32_t oi = lv->head; oi != XNONE; oi = ex->orders[oi].next) {
      const x_order *o = &ex->orders[oi];
      if (o->agent == agent) {
        if (own == OWN_SKIP) continue;
        if (own == OWN_STOP) return w;
        if (own == OWN_STOP_ZERO) return (x_walk){0, 0, 0};
      }
      if (by_quote) {
        int64_t q = x_notional(ex, lv->price, o->total);
        if (x_sat_add(w.quote, q) >= target) {
          w.vol += x_quote_to_base(ex, target - w.quote, lv->price);
          w.quote = target;
          return w;
        }
        w.quote += q;
        w.vol += o->total;
      } else {
        int64_t piece = target - w.vol < o->total ? target - w.vol : o->total;
        w.vol += piece;
        if (dir == TX_BUY) w.cost = x_sat_add(w.cost, x_with_rate(ex, lv->price, piece, rate));
        if (w.vol == target) return w;
      }
    }
  }
  return w;
}

/* An upper bound of what a cash buy of `size` base reserves, found without walking the book:
 * every piece it takes or rests is priced at `worst` or better, and with rates that are not
 * negative a sum of truncated amounts is at most the truncated sum, so trunc_q(worst * size *
 * (1 + rate_hi)) covers the walked amount. It can stand in for the exact amount when the account
 * can afford it and the exact amount cannot truncate to nothing (a lot at the best price costs
 * something): the funds check then passes either way, and a cash buy's reservation is settled or
 * released as soon as it has matched, so reserving more while it matches changes no balance, fill
 * or event. Returns the bound, or 0 where the exact amount is needed. */
static inline int64_t affordable_buy_bound(const tx_exchange *ex, const x_account *acct,
                                           int64_t size, int64_t best, int64_t worst,
                                           int64_t rate_lo, int64_t rate_hi) {
  if (rate_lo < 0) return 0;
  int64_t bound = x_with_rate(ex, worst, size, rate_hi);
  if (bound > acct->quote_free || bound == INT64_MAX) return 0;
  return x_with_rate(ex, best, ex->lot, rate_lo) > 0 ? bound : 0;
}

/* Post-only: would the order take liquidity? (reference rules per STP mode) */
static bool takes_liquidity(const tx_exchange *ex, const x_book *book, int dir, int64_t price,
                            int32_t agent, int stp, int64_t volume) {
  const x_side *s = &book->side[!dir];
  if (s->n == 0) return false;
  const x_level *best = &s->lv[s->n - 1];
  if (!within(dir, best->price, price)) return false;
  if (stp == TX_STP_NONE || stp == TX_STP_CN) return true;
  if (stp == TX_STP_CB) return ex->orders[best->head].agent != agent;
  int64_t own = 0;
  for (uint32_t li = s->n; li-- > 0;) {
    const x_level *lv = &s->lv[li];
    if (!within(dir, lv->price, price)) break;
    for (uint32_t oi = lv->head; oi != XNONE; oi = ex->orders[oi].next) {
      if (ex->orders[oi].agent != agent) return true;
      own += ex->orders[oi].total;
    }
  }
  return stp == TX_STP_DC && own >= volume;
}

static int reservation_own_mode(int stp) {
  return stp == TX_STP_NONE || stp == TX_STP_DC ? OWN_COUNT : OWN_SKIP;
}

/* The notional a cash buy of `size` base trades: the walk's pieces at their prices (own orders
 * counted as the reservation counts them), the rest of a limit order at its limit. */
static int64_t buy_notional(const tx_exchange *ex, const x_book *book, const tx_instruction *in,
                            bool market, int64_t size) {
  int own = reservation_own_mode(in->stp);
  x_walk w = walk(ex, book, TX_BUY, !market, in->price, in->agent_id, own, false, size, 0);
  return market ? w.cost : x_sat_add(w.cost, x_notional(ex, in->price, size - w.vol));
}

/* Does some tier of some fee policy pay a rebate (a negative maker or taker rate)? */
static bool pays_rebates(const tx_exchange *ex) {
  for (uint32_t p = 0; p < ex->policy_count; p++) {
    const x_fee_policy *policy = &ex->policies[p];
    for (uint32_t t = 0; t < policy->count; t++) {
      if (policy->tiers[t].maker_e9 < 0 || policy->tiers[t].taker_e9 < 0) return true;
    }
  }
  return false;
}

/* Could a fill-or-kill order meet a fill the holdings bound or the lending limit refuses? Such a
 * fill stops an aggressor part-way, or cancels a resting buy the order's fillable volume counted,
 * and the order would then fill in part. It is judged on bounds, so that the order fills whole
 * whenever it is accepted: its fills' notionals sum to at most N = trunc_q(P * size), P its
 * limit (buys) or the best bid (sells); a fill's two fees are each below its notional, and a
 * leveraged buyer borrows the notional and its fee, so 2N bounds both the rebates and the quote
 * lent, with four units per fill (at most one per resting order) for rounding; a leveraged
 * seller borrows at most the base it sells. Only a book near the bound (about 2^62 quote units
 * held, or 2^61 lent) is close enough for that to refuse anything. */
static bool fok_may_stop(const tx_exchange *ex, const x_book *book, int dir, int64_t price,
                         int64_t size) {
  const x_side *opp = &book->side[!dir];
  int64_t top = dir == TX_BUY ? price : opp->lv[opp->n - 1].price;
  __int128 reach = 2 * (__int128)x_notional(ex, top, size) + 4 * ((__int128)book->order_count + 1);
  if (reach > rebate_room(book) && pays_rebates(ex)) {
    return true;
  }
  return ex->cfg.max_leverage_e9 > 0 &&
         ((__int128)book->lent_quote + reach > X_LENT_LIMIT ||
          (__int128)book->lent_base + size > X_LENT_LIMIT);
}

/* Validates an instruction's enum fields and padding. */
static inline bool well_formed(const tx_instruction *in) {
  return in->direction <= TX_SELL && in->currency <= TX_CURRENCY_QUOTE &&
         in->time_in_force <= TX_FOK && in->stp <= TX_STP_DC && in->post_only <= 1 &&
         in->pad0 == 0 && in->reserved == 0 && (in->sender_id == 0 || (in->flags & TX_IF_SENDER)) &&
         (in->flags & ~(TX_IF_PARTIAL | TX_IF_AFTER_RESET | TX_IF_SENDER | TX_IF_JOINED)) == 0;
}

/* Leverage truncated to the volume lot's decimals, in 1e-9. */
static int64_t lot_leverage(const tx_exchange *ex, int64_t leverage) {
  uint32_t dp = ex->cfg.volume_decimals;
  if (leverage == 0 || dp >= 9) return leverage;
  int64_t unit = 1;
  for (uint32_t i = dp; i < 9; i++) unit *= 10;
  return leverage - leverage % unit;
}

/* Fills a new pool order for an accepted placement of `total` matchable and `own` own volume,
 * consuming the book's next order id; nothing is reserved and nothing linked yet. Field by field:
 * zero-filling the whole two-line record first costs more. */
static inline void init_order(tx_exchange *ex, x_book *book, x_order *o, const tx_instruction *in,
                              const x_account *acct, int64_t total, int64_t own, int64_t price,
                              int64_t leverage, int64_t maker_rate, bool market) {
  o->total = total;
  o->volume = own;
  o->price = price;
  o->res_base = o->res_quote = 0;
  o->leverage = leverage;
  o->agent = in->agent_id;
  o->loan = XNONE; /* its level and owner links are set if it comes to rest */
  o->id = x_take_id(book);
  o->account = (uint32_t)(acct - ex->accounts);
  o->book = in->book_id;
  o->client_id = in->client_order_id;
  o->maker_e9 = maker_rate;
  o->timestamp = ex->now;
  o->dir = in->direction;
  o->stp = in->stp;
  o->market = market;
}

/* Moves a new cash order's reservation out of the free balance: quote for a buy, base for a
 * sell. */
static inline void reserve_cash(x_account *acct, x_order *o, int64_t amount) {
  if (o->dir == TX_BUY) {
    acct->quote_free -= amount;
    acct->quote_reserved += amount;
    o->res_quote = amount;
  } else {
    acct->base_free -= amount;
    acct->base_reserved += amount;
    o->res_base = amount;
  }
}

/* The header bytes (kind .. pad0) of a cash limit placement that the short path takes: kind is
 * LIMIT, currency BASE and time in force GTC or GTT; direction, post-only and flags hold no bits
 * beyond their lowest; stp is below 8 (its upper bound is checked apart). */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the instruction header test assumes a little-endian host"
#endif
#define SHORT_PATH_HEADER_MASK 0xFFFEFEF8FEFFFEFFull
#define SHORT_PATH_HEADER 0x01ull

/* The commonest placement, a cash limit order in base units that does not reach the opposite
 * side, in a short path: the general path spends most of its work on cases this one cannot be.
 * It does exactly what the general path would. Anything else, every rejection included, returns
 * false untouched and goes the general way. */
bool x_place_passive(tx_exchange *ex, const tx_instruction *in) {
  uint64_t header;
  memcpy(&header, in, sizeof header);
  /* With no flag but the lowest, sender_id and reserved must both be 0: one 8-byte word. */
  uint64_t tail;
  memcpy(&tail, &in->sender_id, sizeof tail);
  if ((header & SHORT_PATH_HEADER_MASK) != SHORT_PATH_HEADER || in->stp > TX_STP_DC ||
      tail != 0 || in->leverage_e9 != 0 || in->book_id >= ex->cfg.book_count) {
    return false;
  }
  x_account *acct = x_account_of(ex, in->agent_id, in->book_id);
  int64_t price = in->price, size = x_lot(ex, in->volume);
  if (acct == NULL || in->volume > X_MAX_VOLUME || size <= 0 || price <= 0 ||
      price > X_MAX_PRICE) {
    return false;
  }
  bool gtt = in->time_in_force == TX_GTT;
  if (gtt && in->expiry_ns > UINT64_MAX - ex->now) return false;
  int dir = in->direction;
  x_book *book = &ex->books[in->book_id];
  const x_side *opp = &book->side[!dir];
  if (opp->n > 0 && within(dir, opp->lv[opp->n - 1].price, price)) return false;
  int64_t rate_m = x_maker_rate(acct);
  int64_t amount = size;
  if (dir == TX_BUY) {
    /* A buy at a maker rebate, or reserving past the holdings bound, goes the general way, which
     * judges its notional against the bound. */
    if (rate_m < 0) return false;
    amount = x_with_rate(ex, price, size, rate_m);
    if (amount <= 0 || amount > acct->quote_free || amount > TX_MAX_HELD) return false;
  } else if (amount > acct->base_free) {
    return false;
  }
  if (book->side[dir].volume > TX_MAX_HELD - size || x_reserve_capacity(ex, book, dir) != TX_OK ||
      (gtt && x_timers_reserve(ex) != TX_OK)) {
    return false;
  }

  uint32_t index = x_order_alloc(ex);
  x_order *o = &ex->orders[index];
  init_order(ex, book, o, in, acct, size, size, price, 0, rate_m, false);
  reserve_cash(acct, o, amount);
  x_rest(ex, book, index);
  order_event(ex, o, TX_EV_PLACED, size, 0);
  bool placed = ex->error == TX_OK;
  if (gtt) x_schedule(ex, ex->now + in->expiry_ns, o);
  /* Written field by field like the placement, not copied from it: GCC makes a copy of the
   * 112-byte record a `rep movs`, whose start-up cost was a third of this path's time. */
  if (placed) order_event(ex, o, TX_EV_ACCEPTED, size, 0);
  return true;
}

/* The quote a quote-sized order walks: trunc_q(volume * (1 + L)). Below 2^63: the volume is at
 * most X_MAX_VOLUME (2^53) and 1 + L at most 1001. */
static inline int64_t quote_target(int64_t volume, int64_t leverage) {
  return leverage == 0 ? volume
                       : (int64_t)((__int128)volume * (X_RATE_ONE + leverage) / X_RATE_ONE);
}

/* A quote-sized order that walked `bought` base (a lot multiple): its own volume is
 * trunc_v(bought / (1 + L)) (`*own`), and it trades that much levered, as a leveraged order sized
 * in base of that own volume does. Returns the matchable volume. */
static inline int64_t quote_sized(const tx_exchange *ex, int64_t bought, int64_t leverage,
                                  int64_t *own) {
  *own = x_own_volume(ex, bought, leverage);
  return x_total_volume(ex, *own, leverage);
}

void x_place(tx_exchange *ex, const tx_instruction *in) {
  bool market = in->kind == TX_INSTR_MARKET;
  if (!well_formed(in)) return reject(ex, in, TX_R_INVALID_INSTRUCTION, 0);
  if (in->book_id >= ex->cfg.book_count) return reject(ex, in, TX_R_INVALID_BOOK, 0);
  x_book *book = &ex->books[in->book_id];
  x_account *acct = x_account_of(ex, in->agent_id, in->book_id);
  if (acct == NULL) return reject(ex, in, TX_R_NONEXISTENT_ACCOUNT, 0);

  /* Validation in the reference's order: leverage, volume, price. */
  if (in->leverage_e9 < 0 || in->leverage_e9 > ex->cfg.max_leverage_e9) {
    return reject(ex, in, TX_R_INVALID_LEVERAGE, 0);
  }
  int64_t lev = lot_leverage(ex, in->leverage_e9);
  bool by_quote = in->currency == TX_CURRENCY_QUOTE;
  if (in->volume <= 0 || in->volume > X_MAX_VOLUME) return reject(ex, in, TX_R_INVALID_VOLUME, 0);
  if (!market && (in->price <= 0 || in->price > X_MAX_PRICE)) {
    return reject(ex, in, TX_R_INVALID_PRICE, 0);
  }
  int dir = in->direction;
  /* `target`: the requested amount in the order's currency, leverage included. An order sized in
   * base keeps the own volume asked for (3.4), its matchable volume following from it; one sized
   * in quote walks trunc_q(volume * (1 + L)) and owns the base that walk buys divided by 1 + L
   * (quote_sized), so that the quote asked for is what it puts up, fees aside. */
  int64_t own_size = by_quote ? 0 : x_lot(ex, in->volume);
  int64_t target = by_quote ? quote_target(in->volume, lev) : x_total_volume(ex, own_size, lev);
  if (target <= 0) return reject(ex, in, TX_R_INVALID_VOLUME, 0);
  int tif = market ? TX_GTC : in->time_in_force;
  bool post_only = !market && in->post_only;
  if (tif == TX_GTT && in->expiry_ns > UINT64_MAX - ex->now) {
    return reject(ex, in, TX_R_INVALID_EXPIRY, 0);
  }
  if (post_only && (tif == TX_IOC || tif == TX_FOK)) {
    return reject(ex, in, TX_R_CONTRACT_VIOLATION, 0);
  }
  const x_side *opp = &book->side[!dir];
  if (market && opp->n == 0) return reject(ex, in, TX_R_EMPTY_BOOK, 0);

  /* Order size (total matchable base volume) and the amount a cash order would reserve (quote
   * for buys, base for sells). */
  int64_t rate_t = x_taker_rate(acct), rate_m = x_maker_rate(acct);
  int own = reservation_own_mode(in->stp);
  int64_t price = in->price, size, amount;
  if (market && dir == TX_SELL && !by_quote) {
    size = amount = target;
  } else if (market) {
    /* A cash buy in base may take any of the side: its prices go up to the side's worst. */
    amount = dir == TX_BUY && !by_quote && lev == 0 && own == OWN_COUNT
                 ? affordable_buy_bound(ex, acct, target, opp->lv[opp->n - 1].price,
                                        opp->lv[0].price, rate_t, rate_t)
                 : 0;
    size = target; /* every order counts then, and the side has some: it is not empty */
    if (amount == 0) {
      x_walk w = walk(ex, book, dir, false, 0, in->agent_id, own, by_quote, target, rate_t);
      if (w.vol == 0) {
        /* A quote amount the book could take in full that trades less than a lot is too small;
         * otherwise there is nothing (but the agent's own orders) to trade against. */
        bool too_small = by_quote && w.quote == target;
        return reject(ex, in, too_small ? TX_R_INVALID_VOLUME : TX_R_EMPTY_BOOK, 0);
      }
      if (by_quote) {
        size = quote_sized(ex, w.vol, lev, &own_size);
        amount = dir == TX_BUY ? x_quote_with_rate(w.quote, rate_t) : w.vol;
      } else {
        amount = dir == TX_BUY ? w.cost : size;
      }
    }
  } else if (by_quote) {
    x_walk w = walk(ex, book, dir, true, price, in->agent_id, own, true, target, rate_t);
    int64_t maker_quote = target - w.quote;
    int64_t bought = x_lot(ex, w.vol + x_quote_to_base(ex, maker_quote, price));
    size = quote_sized(ex, bought, lev, &own_size);
    /* One truncation over both parts (3.4): truncating each part apart can come out one unit
     * lower and accept a buy the specification refuses. */
    amount = dir == TX_BUY ? x_scale((__int128)w.quote * (X_RATE_ONE + rate_t) +
                                         (__int128)maker_quote * (X_RATE_ONE + rate_m),
                                     -9)
                           : bought;
    if (size <= 0) return reject(ex, in, TX_R_INVALID_VOLUME, 0);
  } else {
    size = target;
    amount = 0; /* computed below, after time in force may shrink the size */
  }

  if (tif == TX_IOC || tif == TX_FOK) {
    int mode = in->stp == TX_STP_CO                              ? OWN_SKIP
               : (in->stp == TX_STP_CN || in->stp == TX_STP_CB) ? (tif == TX_IOC ? OWN_STOP_ZERO
                                                                                  : OWN_STOP)
                                                                : OWN_COUNT;
    x_walk x = walk(ex, book, dir, true, price, in->agent_id, mode, false, size, 0);
    if (x.vol == 0 || (tif == TX_FOK && x.vol < size)) {
      return reject(ex, in, TX_R_CONTRACT_VIOLATION, 0);
    }
    if (tif == TX_FOK && fok_may_stop(ex, book, dir, price, size)) {
      return reject(ex, in, TX_R_HOLDINGS_LIMIT, 0);
    }
    if (x.vol < size) {
      /* The own volume becomes trunc_v(X / (1 + L)), and the order trades that much levered. */
      own_size = x_own_volume(ex, x.vol, lev);
      size = x_total_volume(ex, own_size, lev);
      by_quote = false; /* reserve for the reduced size */
    }
  }
  if (post_only && takes_liquidity(ex, book, dir, price, in->agent_id, in->stp, size)) {
    return reject(ex, in, TX_R_CONTRACT_VIOLATION, 0);
  }
  if (!market && !by_quote) {
    if (dir == TX_BUY) {
      /* Most limit orders do not cross: then all of it is priced as maker volume. */
      bool crosses = opp->n > 0 && within(dir, opp->lv[opp->n - 1].price, price);
      amount = crosses && lev == 0
                   ? affordable_buy_bound(ex, acct, size, opp->lv[opp->n - 1].price, price,
                                          rate_t < rate_m ? rate_t : rate_m,
                                          rate_t > rate_m ? rate_t : rate_m)
                   : 0;
      if (amount == 0) {
        x_walk w = crosses
                       ? walk(ex, book, dir, true, price, in->agent_id, own, false, size, rate_t)
                       : (x_walk){0, 0, 0};
        amount = x_sat_add(w.cost, x_with_rate(ex, price, size - w.vol, rate_m));
      }
    } else {
      amount = size;
    }
  }
  if (own_size <= 0) return reject(ex, in, TX_R_INVALID_VOLUME, 0);
  int64_t ref_price = market ? opp->lv[opp->n - 1].price : price;
  int64_t coll_price = ref_price;
  if (lev > 0) {
    /* A crossing limit order's first fills are at the opposite best, not at its limit. */
    if (opp->n > 0 && within(dir, opp->lv[opp->n - 1].price, price)) {
      coll_price = opp->lv[opp->n - 1].price;
    }
    int reason = x_margin_reserve(ex, acct, NULL, dir, lev, amount, ref_price, coll_price);
    if (reason != TX_R_VALID) return reject(ex, in, reason, 0);
  } else if (dir == TX_BUY &&
             (amount <= 0 || amount > acct->quote_free || amount == INT64_MAX)) {
    return reject(ex, in, TX_R_INSUFFICIENT_QUOTE, 0);
  } else if (dir == TX_SELL && (amount <= 0 || amount > acct->base_free)) {
    return reject(ex, in, TX_R_INSUFFICIENT_BASE, 0);
  }
  /* A cash buy's trades must not owe a seller more than a book's accounts may hold: at a rebate
   * rate the reservation is less than the notional, which could then pass int64. With no rebate
   * the reservation, within the free quote, bounds the notional already. */
  if (lev == 0 && dir == TX_BUY && (rate_t < 0 || rate_m < 0 || amount > TX_MAX_HELD) &&
      buy_notional(ex, book, in, market, size) > TX_MAX_HELD) {
    return reject(ex, in, TX_R_HOLDINGS_LIMIT, 0);
  }
  /* Level and side volumes are int64 sums with no other bound (a tick's price buys much base when
   * quote has few decimals): an order that could rest is refused where it would take its side
   * past TX_MAX_HELD, so that no sum overflows. */
  bool may_rest = !market && tif != TX_IOC && tif != TX_FOK;
  if (may_rest && book->side[dir].volume > TX_MAX_HELD - size) {
    return reject(ex, in, TX_R_BOOK_VOLUME_LIMIT, 0);
  }
  int room = x_reserve_capacity(ex, book, dir);
  if (room == TX_ERR_LIMIT) return reject(ex, in, TX_R_ORDER_IDS_EXHAUSTED, 0);
  if (room != TX_OK || (tif == TX_GTT && x_timers_reserve(ex) != TX_OK)) {
    ex->error = TX_ERR_NOMEM;
    return;
  }

  /* Accepted: the id is consumed from here on. */
  uint32_t index = x_order_alloc(ex);
  x_order *o = &ex->orders[index];
  init_order(ex, book, o, in, acct, size, own_size, market ? 0 : price, lev, rate_m, market);
  if (lev > 0) {
    x_margin_reserve(ex, acct, o, dir, lev, amount, ref_price, coll_price);
  } else {
    reserve_cash(acct, o, amount);
  }

  bool crossed = market || (opp->n > 0 && within(dir, opp->lv[opp->n - 1].price, price));
  bool halted =
      crossed && !match(ex, book, o, market ? (dir == TX_BUY ? INT64_MAX : INT64_MIN) : price);
  /* `o` stays valid: matching frees pool slots but never grows the pool. */
  bool rests = may_rest && !halted && o->volume > 0;
  if (!rests && o->volume > 0) {
    int64_t dropped = o->volume;
    o->volume = o->total = 0;
    order_event(ex, o, TX_EV_REMAINDER_DROPPED, dropped, 0);
  }
  if (rests) {
    /* A cash order sized in base that did not trade holds exactly what it needs already. */
    if (lev == 0 && (crossed || by_quote)) settle_reservation(ex, acct, o);
    x_rest(ex, book, index);
    order_event(ex, o, TX_EV_PLACED, o->volume, 0);
  } else {
    release_all(acct, o);
  }
  /* The expiry is due even when nothing rests: it then finds the order gone, as the reference's
   * scheduled cancel does. */
  if (tif == TX_GTT) x_schedule(ex, ex->now + in->expiry_ns, o);
  order_event(ex, o, TX_EV_ACCEPTED, own_size, 0);
  if (!rests) {
    x_release_id(book, o->id);
    x_order_free(ex, index);
  }
}

/* Looks up a resting order of `agent` in `book`; foreign orders count as missing. */
static inline uint32_t owned_order(const tx_exchange *ex, const x_book *book, uint32_t id,
                            int32_t agent) {
  uint32_t index = x_order_lookup(book, id);
  if (index == XNONE || ex->orders[index].agent != agent) return XNONE;
  return index;
}

void x_cancel(tx_exchange *ex, const tx_instruction *in) {
  if (!well_formed(in)) return reject(ex, in, TX_R_INVALID_INSTRUCTION, 0);
  if (in->book_id >= ex->cfg.book_count) return reject(ex, in, TX_R_INVALID_BOOK, 0);
  x_book *book = &ex->books[in->book_id];
  /* An agent that owns the order has an account: only a miss needs the account looked up. */
  uint32_t index = owned_order(ex, book, in->order_id, in->agent_id);
  if (index == XNONE) {
    bool known = x_account_of(ex, in->agent_id, in->book_id) != NULL;
    return reject(ex, in, known ? TX_R_ORDER_NOT_FOUND : TX_R_NONEXISTENT_ACCOUNT, 0);
  }
  x_order *o = &ex->orders[index];
  if ((in->flags & TX_IF_PARTIAL) && in->volume < 0) {
    return reject(ex, in, TX_R_INVALID_VOLUME, 0);
  }
  if (!(in->flags & TX_IF_PARTIAL) || in->volume >= o->volume) {
    remove_resting(ex, book, index, TX_EV_CANCELLED, TX_CAUSE_REQUEST);
    return;
  }
  shrink_resting(ex, book, o, o->volume - x_lot(ex, in->volume), TX_CAUSE_REQUEST);
}

void x_cancel_all(tx_exchange *ex, uint32_t book_id, x_account *acct, uint8_t cause) {
  while (acct->head != XNONE) {
    remove_resting(ex, &ex->books[book_id], acct->head, TX_EV_CANCELLED, cause);
  }
}

void x_expire(tx_exchange *ex, const x_timer *t) {
  x_book *book = &ex->books[t->book];
  uint32_t index = owned_order(ex, book, t->order_id, t->agent);
  if (index == XNONE) {
    tx_instruction in = {.kind = TX_INSTR_CANCEL,
                         .direction = t->dir,
                         .agent_id = t->agent,
                         .book_id = t->book,
                         .client_order_id = t->client_id,
                         .order_id = t->order_id};
    reject(ex, &in, TX_R_ORDER_NOT_FOUND, TX_EVF_EXPIRY);
    return;
  }
  remove_resting(ex, book, index, TX_EV_EXPIRED, TX_CAUSE_EXPIRY);
}

void x_reset(tx_exchange *ex, const tx_instruction *in) {
  if (!well_formed(in)) return reject(ex, in, TX_R_INVALID_INSTRUCTION, 0);
  if (x_account_of(ex, in->agent_id, 0) == NULL) {
    return reject(ex, in, TX_R_NONEXISTENT_ACCOUNT, 0);
  }
  /* The initial balances come back in full, whatever the account lost: refused where that would
   * take a book's holdings past TX_MAX_HELD, the bound that keeps every balance from overflowing.
   * Once its orders are gone an account holds its free and reserved balances. */
  for (uint32_t b = 0; b < ex->cfg.book_count; b++) {
    const x_account *acct = x_account_of(ex, in->agent_id, b);
    const x_book *book = &ex->books[b];
    if ((__int128)book->held_base + acct->init_base - acct->base_free - acct->base_reserved >
            TX_MAX_HELD ||
        (__int128)book->held_quote + acct->init_quote - acct->quote_free - acct->quote_reserved >
            TX_MAX_HELD) {
      return reject(ex, in, TX_R_HOLDINGS_LIMIT, 0);
    }
  }
  for (uint32_t b = 0; b < ex->cfg.book_count; b++) {
    x_account *acct = x_account_of(ex, in->agent_id, b);
    x_cancel_all(ex, b, acct, TX_CAUSE_RESET);
    /* Loans vanish with the account they belonged to. */
    while (acct->loan_head != XNONE) {
      uint32_t li = acct->loan_head;
      acct->loan_head = ex->loans[li].next;
      ex->loans[li].live = 0;
      ex->loans[li].next = ex->free_loan;
      ex->free_loan = li;
    }
    acct->loan_tail = XNONE;
    /* After its orders went, the account holds its free balances; it gets its initial ones. */
    ex->books[b].held_base += acct->init_base - acct->base_free;
    ex->books[b].held_quote += acct->init_quote - acct->quote_free;
    acct->base_free = acct->init_base;
    acct->quote_free = acct->init_quote;
    acct->base_reserved = acct->quote_reserved = 0;
    acct->base_loan = acct->quote_loan = acct->base_coll = acct->quote_coll = 0;
    x_reset_fees(ex, acct);
  }
  ex->reset_calls[x_row_of(ex, in->agent_id)] = ex->call;
  tx_event e = {
      .timestamp = ex->now,
      .instruction = ex->instr,
      .book_id = XNONE,
      .order_id = XNONE,
      .resting_order_id = XNONE,
      .trade_id = XNONE,
      .agent_id = in->agent_id,
      .client_order_id = XNONE,
      .resting_client_order_id = XNONE,
      .type = TX_EV_RESET,
  };
  x_emit(ex, &e);
}

bool x_sender_reset_in_call(const tx_exchange *ex, const tx_instruction *in) {
  uint32_t row = x_row_of(ex, (in->flags & TX_IF_SENDER) ? in->sender_id : in->agent_id);
  return row != XNONE && ex->reset_calls[row] == ex->call;
}

void x_reject_after_reset(tx_exchange *ex, const tx_instruction *in) {
  reject(ex, in, TX_R_AGENT_RESET, 0);
}
