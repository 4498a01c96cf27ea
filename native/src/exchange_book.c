/* Order book structure: the order pool, price levels sorted worst-to-best per side, the paged
 * order id map and the owners' order lists. No money moves here. */
#include <stdlib.h>
#include <string.h>

#include "exchange_internal.h"

/* Does a level at price `a` sort before (is worse than) one at `b` on this side? Both comparisons
 * are made and the side selects one by masks, as in within(): the side is a coin toss. */
static inline bool worse(int side, int64_t a, int64_t b) {
  unsigned sell = (unsigned)side & 1u;
  return ((unsigned)(a < b) & (sell ^ 1u)) | ((unsigned)(a > b) & sell);
}

/* Position of `price` in the side, or where it would be inserted; *found tells which. Levels hold
 * distinct whole-tick prices, so a price `behind` ticks from the best sits at most `behind` entries
 * from the best end: near the touch, where activity concentrates and levels are usually dense, the
 * first guess hits and the search never leaves a few entries. */
static inline uint32_t level_pos(const x_side *s, int side, int64_t price, bool *found) {
  const x_level *lv = s->lv;
  uint32_t n = s->n;
  int64_t behind = n == 0 ? -1 : side == TX_BUY ? lv[n - 1].price - price : price - lv[n - 1].price;
  if (behind <= 0) {
    *found = behind == 0;
    return behind == 0 ? n - 1 : n;
  }
  uint32_t lo = behind < n ? n - 1 - (uint32_t)behind : 0, hi = n - 1;
  if (lv[lo].price == price) {
    *found = true;
    return lo;
  }
  /* Bisection by conditional moves: which half holds the price is a coin toss to the branch
   * predictor. lv[hi] is not worse than the price, so the result stays within [lo, hi]. */
  const x_level *base = &lv[lo];
  for (uint32_t len = hi - lo + 1; len > 1;) {
    uint32_t half = len / 2;
    base = worse(side, base[half].price, price) ? base + half : base;
    len -= half;
  }
  base += worse(side, base->price, price);
  *found = base->price == price;
  return (uint32_t)(base - lv);
}

x_level *x_level_at(const x_book *book, int side, int64_t price) {
  bool found;
  const x_side *s = &book->side[side];
  uint32_t pos = level_pos(s, side, price, &found);
  return found ? &s->lv[pos] : NULL;
}

void x_book_free(x_book *book) {
  free(book->side[0].lv);
  free(book->side[1].lv);
  for (uint32_t i = 0; i < book->page_cap; i++) free(book->pages[i]);
  free(book->pages);
}

/* x_reserve_capacity's slow path: grows whatever is full. */
int x_grow_capacity(tx_exchange *ex, x_book *book, int side) {
  if (ex->free_order == XNONE) {
    uint32_t old = ex->order_cap, cap = old ? old * 2 : X_FIRST_CAPACITY(1024);
    /* Cache-line aligned so an order never straddles a third line. */
    x_order *orders = aligned_alloc(64, (size_t)cap * sizeof *orders);
    if (orders == NULL) return TX_ERR_NOMEM;
    if (old > 0) memcpy(orders, ex->orders, (size_t)old * sizeof *orders);
    /* The new slots join the free list in ascending order. */
    for (uint32_t i = old; i < cap; i++) orders[i].next = i + 1 < cap ? i + 1 : XNONE;
    free(ex->orders);
    ex->orders = orders;
    ex->order_cap = cap;
    ex->free_order = old;
  }
  x_side *s = &book->side[side];
  if (s->n == s->cap) {
    uint32_t cap = s->cap ? s->cap * 2 : X_FIRST_CAPACITY(64);
    x_level *lv = realloc(s->lv, (size_t)cap * sizeof *lv);
    if (lv == NULL) return TX_ERR_NOMEM;
    s->lv = lv;
    s->cap = cap;
  }
  uint32_t page = book->next_order_id >> X_ID_PAGE_BITS;
  /* The last page, which holds XNONE (no id), is never used: a book has X_MAX_ORDER_ID + 1 ids. */
  if (page > X_MAX_ORDER_ID >> X_ID_PAGE_BITS) return TX_ERR_LIMIT;
  if (page >= book->page_cap) {
    uint32_t cap = book->page_cap ? book->page_cap * 2 : X_FIRST_CAPACITY(16);
    while (cap <= page) cap *= 2;
    x_id_page **pages = realloc(book->pages, (size_t)cap * sizeof *pages);
    if (pages == NULL) return TX_ERR_NOMEM;
    memset(pages + book->page_cap, 0, (size_t)(cap - book->page_cap) * sizeof *pages);
    book->pages = pages;
    book->page_cap = cap;
  }
  if (book->pages[page] == NULL) {
    book->pages[page] = calloc(1, sizeof(x_id_page));
    if (book->pages[page] == NULL) return TX_ERR_NOMEM;
  }
  return TX_OK;
}

/* Appends a pool order to its level (creating it), the id map and its owner's list. Capacity was
 * reserved by x_reserve_capacity. */
void x_rest(tx_exchange *ex, x_book *book, uint32_t index) {
  x_order *o = &ex->orders[index];
  x_side *s = &book->side[o->dir];
  bool found;
  uint32_t pos = level_pos(s, o->dir, o->price, &found);
  if (!found) {
    /* A new best level (the common case near the touch) moves nothing: skip the call. */
    if (pos < s->n) memmove(&s->lv[pos + 1], &s->lv[pos], (size_t)(s->n - pos) * sizeof *s->lv);
    s->lv[pos] = (x_level){.price = o->price, .head = XNONE, .tail = XNONE};
    s->n++;
  }
  x_level *lv = &s->lv[pos];
  o->next = XNONE;
  o->prev = lv->tail;
  if (lv->tail != XNONE) ex->orders[lv->tail].next = index;
  else lv->head = index;
  lv->tail = index;
  lv->count++;
  lv->volume += o->total;
  s->volume += o->total;

  book->pages[o->id >> X_ID_PAGE_BITS]->slot[o->id & (X_ID_PAGE - 1)] = index + 1;
  book->order_count++;

  x_account *acct = &ex->accounts[o->account];
  o->anext = XNONE;
  o->aprev = acct->tail;
  if (acct->tail != XNONE) ex->orders[acct->tail].anext = index;
  else acct->head = index;
  acct->tail = index;
  acct->order_count++;
}

/* Removes a resting order from its level, the id map and its owner's list (the pool slot is
 * kept; the caller frees it). */
static void unlink_at(tx_exchange *ex, x_book *book, uint32_t index, uint32_t pos);

void x_unlink(tx_exchange *ex, x_book *book, uint32_t index) {
  const x_order *o = &ex->orders[index];
  bool found;
  unlink_at(ex, book, index, level_pos(&book->side[o->dir], o->dir, o->price, &found));
}

void x_unlink_best(tx_exchange *ex, x_book *book, uint32_t index) {
  unlink_at(ex, book, index, book->side[ex->orders[index].dir].n - 1);
}

static void unlink_at(tx_exchange *ex, x_book *book, uint32_t index, uint32_t pos) {
  x_order *o = &ex->orders[index];
  x_side *s = &book->side[o->dir];
  x_level *lv = &s->lv[pos];
  if (o->prev != XNONE) ex->orders[o->prev].next = o->next;
  else lv->head = o->next;
  if (o->next != XNONE) ex->orders[o->next].prev = o->prev;
  else lv->tail = o->prev;
  lv->count--;
  lv->volume -= o->total;
  s->volume -= o->total;
  if (lv->count == 0) {
    if (pos + 1 < s->n) {
      memmove(&s->lv[pos], &s->lv[pos + 1], (size_t)(s->n - pos - 1) * sizeof *s->lv);
    }
    s->n--;
  }

  book->pages[o->id >> X_ID_PAGE_BITS]->slot[o->id & (X_ID_PAGE - 1)] = 0;
  x_release_id(book, o->id);
  book->order_count--;

  x_account *acct = &ex->accounts[o->account];
  if (o->aprev != XNONE) ex->orders[o->aprev].anext = o->anext;
  else acct->head = o->anext;
  if (o->anext != XNONE) ex->orders[o->anext].aprev = o->aprev;
  else acct->tail = o->aprev;
  acct->order_count--;
}
