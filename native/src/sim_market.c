/* The simulation's per-book market: price-time priority limit order book on integer ticks and
 * lots, cash accounts with reservations, tiered fees for remote accounts, self-trade prevention,
 * time in force, and the per-book event record. One book is only ever touched by one thread. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

#define MAX_TICKS (1 << 22)

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

int64_t sim_notional(const sim_config *cfg, int64_t price, int64_t volume) {
  return rescale((__int128)price * volume, cfg->quote_dp - cfg->price_dp - cfg->volume_dp);
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

static int64_t to_units(double amount, int decimals) {
  double scaled = floor(amount * (double)pow10i(decimals));
  return scaled > 9.0e18 ? (int64_t)9.0e18 : (int64_t)scaled;
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
  out->base_free = to_units(base, cfg->base_dp);
  out->quote_free = to_units(quote, cfg->quote_dp);
}

/* Balances of a background agent: one draw, the same on every book. */
void sim_local_balances(const sim_config *cfg, const sim_balances_cfg *bal, uint32_t local,
                        sim_account *out) {
  sim_rng rng;
  sim_rng_seed(&rng, cfg->seed, SIM_NONE, cfg->remote + local, SIM_RNG_BALANCE);
  double base, quote;
  draw_balances(bal, &rng, &base, &quote);
  memset(out, 0, sizeof *out);
  out->base_free = to_units(base, cfg->base_dp);
  out->quote_free = to_units(quote, cfg->quote_dp);
}

/* ---- book storage ---- */
static int grow_levels(sim_book *book, int64_t price) {
  if (price < book->cap_ticks) return TAOS_SIM_OK;
  if (price >= MAX_TICKS) return TAOS_SIM_ERR_ARGUMENT;
  int64_t cap = book->cap_ticks;
  while (cap <= price) cap *= 2;
  if (cap > MAX_TICKS) cap = MAX_TICKS;
  size_t words = (size_t)(cap + 63) / 64;
  for (int s = 0; s < 2; s++) {
    sim_level *levels = realloc(book->side[s].levels, (size_t)cap * sizeof *levels);
    if (levels == NULL) return TAOS_SIM_ERR_MEMORY;
    for (int64_t i = book->cap_ticks; i < cap; i++) {
      levels[i].head = levels[i].tail = SIM_NONE;
      levels[i].volume = 0;
    }
    book->side[s].levels = levels;
    uint64_t *bits = realloc(book->side[s].bits, words * sizeof *bits);
    if (bits == NULL) return TAOS_SIM_ERR_MEMORY;
    memset(bits + book->bits_words, 0, (words - book->bits_words) * sizeof *bits);
    book->side[s].bits = bits;
  }
  book->cap_ticks = cap;
  book->bits_words = words;
  return TAOS_SIM_OK;
}

int sim_book_init(sim_book *book) {
  const sim_config *cfg = &book->sim->cfg;
  book->side[0].best = book->side[1].best = -1;
  book->cap_ticks = 1024;
  book->bits_words = 16;
  for (int s = 0; s < 2; s++) {
    book->side[s].levels = malloc(1024 * sizeof(sim_level));
    book->side[s].bits = calloc(16, sizeof(uint64_t));
    if (!book->side[s].levels || !book->side[s].bits) return TAOS_SIM_ERR_MEMORY;
    for (int i = 0; i < 1024; i++) {
      book->side[s].levels[i].head = book->side[s].levels[i].tail = SIM_NONE;
      book->side[s].levels[i].volume = 0;
    }
  }
  int rc = grow_levels(book, (int64_t)(4.0 * P(cfg, initial_price) / cfg->tick));
  if (rc) return rc;
  book->free_order = SIM_NONE;
  uint32_t slots = book->sim->n_slots;
  book->accounts = calloc(slots ? slots : 1, sizeof *book->accounts);
  book->owner_head = malloc((cfg->remote ? cfg->remote : 1) * sizeof(uint32_t));
  book->fees = calloc(cfg->remote ? cfg->remote : 1, sizeof *book->fees);
  book->reset_count = calloc(cfg->remote ? cfg->remote : 1, sizeof(uint32_t));
  if (!book->accounts || !book->owner_head || !book->fees || !book->reset_count) {
    return TAOS_SIM_ERR_MEMORY;
  }
  for (uint32_t r = 0; r < cfg->remote; r++) {
    book->owner_head[r] = SIM_NONE;
    book->fees[r].slot_volume = calloc(cfg->fee_slots, sizeof(int64_t));
    if (!book->fees[r].slot_volume) return TAOS_SIM_ERR_MEMORY;
  }
  for (uint32_t s = 0; s < slots; s++) sim_initial_account(book->sim, book->id, s, &book->accounts[s]);
  book->last_trade_price = P(cfg, initial_price);
  return TAOS_SIM_OK;
}

void sim_book_free(sim_book *book) {
  for (int s = 0; s < 2; s++) {
    free(book->side[s].levels);
    free(book->side[s].bits);
  }
  free(book->orders);
  free(book->id_to_order);
  free(book->accounts);
  free(book->owner_head);
  if (book->fees) {
    for (uint32_t r = 0; r < book->sim->cfg.remote; r++) free(book->fees[r].slot_volume);
  }
  free(book->fees);
  free(book->reset_count);
  free(book->events);
  free(book->heap.items);
}

int sim_record(sim_book *book, const taos_sim_event *event) {
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

static void set_bit(sim_side *side, int64_t price) {
  side->bits[price >> 6] |= 1ull << (price & 63);
}

static void clear_bit(sim_side *side, int64_t price) {
  side->bits[price >> 6] &= ~(1ull << (price & 63));
}

/* Highest non-empty level <= from, or -1. */
static int64_t scan_down(const sim_side *side, int64_t from) {
  if (from < 0) return -1;
  int64_t word = from >> 6;
  uint64_t mask = side->bits[word] & (~0ull >> (63 - (from & 63)));
  for (;;) {
    if (mask) return (word << 6) + 63 - __builtin_clzll(mask);
    if (--word < 0) return -1;
    mask = side->bits[word];
  }
}

/* Lowest non-empty level >= from, or -1. */
static int64_t scan_up(const sim_side *side, int64_t from, size_t words) {
  size_t word = (size_t)(from >> 6);
  if (word >= words) return -1;
  uint64_t mask = side->bits[word] & (~0ull << (from & 63));
  for (;;) {
    if (mask) return (int64_t)(word << 6) + __builtin_ctzll(mask);
    if (++word >= words) return -1;
    mask = side->bits[word];
  }
}

static void refresh_best(sim_book *book, int s) {
  sim_side *side = &book->side[s];
  if (s == 0) {
    side->best = scan_down(side, side->best);
  } else {
    side->best = side->best < 0 ? -1 : scan_up(side, side->best, book->bits_words);
  }
}

const sim_order *sim_order_by_id(const sim_book *book, uint32_t id) {
  if (id >= book->next_order_id) return NULL;
  uint32_t index = book->id_to_order[id];
  return index == SIM_NONE ? NULL : &book->orders[index];
}

static uint32_t new_order(sim_book *book) {
  uint32_t index;
  if (book->free_order != SIM_NONE) {
    index = book->free_order;
    book->free_order = book->orders[index].next;
  } else {
    if (book->n_orders == book->cap_orders) {
      uint32_t cap = book->cap_orders ? book->cap_orders * 2 : 4096;
      sim_order *orders = realloc(book->orders, cap * sizeof *orders);
      if (orders == NULL) return SIM_NONE;
      book->orders = orders;
      book->cap_orders = cap;
    }
    index = book->n_orders++;
  }
  return index;
}

static int take_id(sim_book *book, uint32_t *id) {
  if (book->next_order_id == book->cap_ids) {
    uint32_t cap = book->cap_ids ? book->cap_ids * 2 : 65536;
    uint32_t *map = realloc(book->id_to_order, cap * sizeof *map);
    if (map == NULL) return TAOS_SIM_ERR_MEMORY;
    book->id_to_order = map;
    book->cap_ids = cap;
  }
  *id = book->next_order_id++;
  book->id_to_order[*id] = SIM_NONE;
  return TAOS_SIM_OK;
}

/* Unlinks a resting order from its level and owner list and frees it. */
static void remove_order(sim_book *book, uint32_t index) {
  sim_order *o = &book->orders[index];
  int s = o->dir;
  sim_side *side = &book->side[s];
  sim_level *level = &side->levels[o->price];
  if (o->prev != SIM_NONE) book->orders[o->prev].next = o->next;
  else level->head = o->next;
  if (o->next != SIM_NONE) book->orders[o->next].prev = o->prev;
  else level->tail = o->prev;
  level->volume -= o->volume;
  side->total_volume -= o->volume;
  if (is_remote(book, o->slot)) {
    if (o->owner_prev != SIM_NONE) book->orders[o->owner_prev].owner_next = o->owner_next;
    else book->owner_head[o->slot] = o->owner_next;
    if (o->owner_next != SIM_NONE) book->orders[o->owner_next].owner_prev = o->owner_prev;
  }
  book->id_to_order[o->id] = SIM_NONE;
  if (level->head == SIM_NONE) {
    clear_bit(side, o->price);
    if (side->best == o->price) refresh_best(book, s);
  }
  o->next = book->free_order;
  book->free_order = index;
}

/* Releases the reservation of `volume` lots of a resting order back to its owner's free balance. */
static void release(sim_book *book, sim_order *o, int64_t volume) {
  sim_account *acct = &book->accounts[o->slot];
  int64_t amount = o->volume == volume
                       ? o->reserved
                       : (int64_t)((__int128)o->reserved * volume / o->volume);
  o->reserved -= amount;
  if (o->dir == 0) {
    acct->quote_reserved -= amount;
    acct->quote_free += amount;
  } else {
    acct->base_reserved -= amount;
    acct->base_free += amount;
  }
}

static void record_cancel(sim_book *book, const sim_order *o, int64_t volume) {
  taos_sim_event ev = {0};
  ev.kind = TAOS_SIM_EV_CANCEL;
  ev.timestamp = book->now;
  ev.order_id = o->id;
  ev.price = o->price;
  ev.volume = volume;
  ev.direction = o->dir;
  ev.agent_id = sim_agent_id(book->sim, o->slot);
  ev.client_order_id = o->client;
  sim_record(book, &ev);
}

/* Cancels `volume` lots (all when volume <= 0 or larger than the rest) of a resting order. */
static void cancel_resting(sim_book *book, uint32_t index, int64_t volume) {
  sim_order *o = &book->orders[index];
  if (volume <= 0 || volume >= o->volume) volume = o->volume;
  record_cancel(book, o, volume);
  release(book, o, volume);
  if (volume == o->volume) {
    remove_order(book, index);
    return;
  }
  o->volume -= volume;
  book->side[o->dir].levels[o->price].volume -= volume;
  book->side[o->dir].total_volume -= volume;
}

/* ---- fees ---- */
static sim_fee_history *fee_history(sim_book *book, uint32_t slot) {
  const sim_config *cfg = &book->sim->cfg;
  sim_fee_history *h = &book->fees[slot];
  uint64_t current = book->now / cfg->fee_period;
  if (current > h->last_slot) {
    uint64_t stale = current - h->last_slot;
    if (stale > cfg->fee_slots) stale = cfg->fee_slots;
    for (uint64_t k = 1; k <= stale; k++) h->slot_volume[(h->last_slot + k) % cfg->fee_slots] = 0;
    h->last_slot = current;
  }
  return h;
}

void sim_fee_rates(sim_book *book, uint32_t slot, double *maker, double *taker, int64_t *volume) {
  const sim_config *cfg = &book->sim->cfg;
  *maker = *taker = 0;
  if (volume) *volume = 0;
  if (!is_remote(book, slot)) return;
  sim_fee_history *h = fee_history(book, slot);
  int64_t total = 0;
  for (uint32_t i = 0; i < cfg->fee_slots; i++) total += h->slot_volume[i];
  double quote = (double)total / (double)pow10i(cfg->quote_dp);
  uint32_t tier = 0;
  for (uint32_t i = 0; i < cfg->fee_tiers; i++) {
    if (quote >= cfg->fee_volume[i]) tier = i;
  }
  *maker = cfg->fee_maker[tier];
  *taker = cfg->fee_taker[tier];
  if (volume) *volume = total;
}

static void add_fee_volume(sim_book *book, uint32_t slot, int64_t notional) {
  if (!is_remote(book, slot)) return;
  sim_fee_history *h = fee_history(book, slot);
  h->slot_volume[h->last_slot % book->sim->cfg.fee_slots] += notional;
}

static int64_t fee_of(double rate, int64_t notional) {
  return (int64_t)floor(rate * (double)notional);
}

/* ---- matching ---- */
typedef struct {
  uint32_t slot, id, client;
  uint8_t dir, stp;
  int64_t limit;     /* -1 for market orders */
  int64_t remaining; /* lots (base-denominated orders) */
  int64_t reserved;  /* limit orders: reservation covering `remaining` */
  bool quote_sized;  /* market order sized in quote units */
  int64_t quote_left;
  bool stopped; /* self-trade prevention cancelled the aggressor */
} taker;

static void settle(sim_book *book, taker *t, sim_order *rest, int64_t fill, int64_t price) {
  const sim_config *cfg = &book->sim->cfg;
  int64_t notional = sim_notional(cfg, price, fill);
  int64_t base = sim_lots_to_base(cfg, fill);
  double maker_rate, taker_rate, unused;
  sim_fee_rates(book, t->slot, &unused, &taker_rate, NULL);
  sim_fee_rates(book, rest->slot, &maker_rate, &unused, NULL);
  int64_t taker_fee = fee_of(taker_rate, notional), maker_fee = fee_of(maker_rate, notional);
  sim_account *ta = &book->accounts[t->slot], *ma = &book->accounts[rest->slot];
  /* resting side: consume its reservation */
  int64_t rel = rest->volume == fill ? rest->reserved
                                     : (int64_t)((__int128)rest->reserved * fill / rest->volume);
  rest->reserved -= rel;
  if (rest->dir == 0) { /* resting buyer */
    ma->quote_reserved -= rel;
    ma->quote_free += rel - notional - maker_fee;
    ma->base_free += base;
  } else {
    ma->base_reserved -= rel;
    ma->base_free += rel - base;
    ma->quote_free += notional - maker_fee;
  }
  /* aggressor */
  if (t->limit >= 0) {
    int64_t trel = t->remaining == fill ? t->reserved
                                        : (int64_t)((__int128)t->reserved * fill / t->remaining);
    t->reserved -= trel;
    if (t->dir == 0) {
      ta->quote_reserved -= trel;
      ta->quote_free += trel - notional - taker_fee;
      ta->base_free += base;
    } else {
      ta->base_reserved -= trel;
      ta->base_free += trel - base;
      ta->quote_free += notional - taker_fee;
    }
  } else if (t->dir == 0) {
    ta->quote_free -= notional + taker_fee;
    ta->base_free += base;
  } else {
    ta->base_free -= base;
    ta->quote_free += notional - taker_fee;
  }
  add_fee_volume(book, t->slot, notional);
  add_fee_volume(book, rest->slot, notional);
  if (t->quote_sized) t->quote_left -= notional;
  taos_sim_event ev = {0};
  ev.kind = TAOS_SIM_EV_TRADE;
  ev.timestamp = book->now;
  ev.price = price;
  ev.volume = fill;
  ev.fee_maker = maker_fee;
  ev.fee_taker = taker_fee;
  ev.order_id = t->id;
  ev.resting_order_id = rest->id;
  ev.trade_id = book->next_trade_id++;
  ev.agent_id = sim_agent_id(book->sim, t->slot);
  ev.resting_agent_id = sim_agent_id(book->sim, rest->slot);
  ev.client_order_id = t->client;
  ev.reserved = rest->client;
  ev.direction = t->dir;
  sim_record(book, &ev);
  book->last_trade_price = (double)price * cfg->tick;
  book->last_trade_time = book->now;
  book->traded = true;
  sim_agents_on_trade(book, t->slot, rest->slot, t->dir, price, fill);
}

/* Largest fill (lots) the aggressor can afford at `price`. */
static int64_t affordable(sim_book *book, taker *t, int64_t price, int64_t want) {
  const sim_config *cfg = &book->sim->cfg;
  sim_account *acct = &book->accounts[t->slot];
  if (t->quote_sized) {
    int64_t per_lot = sim_notional(cfg, price, 1);
    if (per_lot <= 0) per_lot = 1;
    int64_t lots = t->quote_left / per_lot;
    if (lots < want) want = lots;
  }
  if (t->limit >= 0) return want;
  if (t->dir == 1) {
    int64_t lots = sim_base_to_lots(cfg, acct->base_free);
    return lots < want ? lots : want;
  }
  double maker, taker_rate;
  sim_fee_rates(book, t->slot, &maker, &taker_rate, NULL);
  int64_t per_lot = sim_notional(cfg, price, 1);
  double cost_per_lot = (double)(per_lot > 0 ? per_lot : 1) * (1.0 + taker_rate);
  int64_t lots = (int64_t)floor((double)acct->quote_free / cost_per_lot);
  if (lots > want) lots = want;
  while (lots > 0) {
    int64_t n = sim_notional(cfg, price, lots);
    if (n + fee_of(taker_rate, n) <= acct->quote_free) break;
    lots--;
  }
  return lots < 0 ? 0 : lots;
}

static void match(sim_book *book, taker *t) {
  int opposite = 1 - t->dir;
  sim_side *side = &book->side[opposite];
  while (t->remaining > 0 && side->best >= 0) {
    int64_t price = side->best;
    if (t->limit >= 0 && (t->dir == 0 ? price > t->limit : price < t->limit)) break;
    sim_level *level = &side->levels[price];
    uint32_t index = level->head;
    sim_order *rest = &book->orders[index];
    if (rest->slot == t->slot && t->stp != 0) {
      if (t->stp == 1) { /* cancel oldest (the resting order) */
        cancel_resting(book, index, 0);
        continue;
      }
      if (t->stp == 2) { /* cancel newest (the aggressor) */
        t->stopped = true;
        return;
      }
      if (t->stp == 3) { /* cancel both */
        cancel_resting(book, index, 0);
        t->stopped = true;
        return;
      }
      /* decrement and cancel: both lose the overlap, no trade */
      int64_t overlap = rest->volume < t->remaining ? rest->volume : t->remaining;
      cancel_resting(book, index, overlap);
      if (t->limit >= 0) {
        int64_t trel = t->remaining == overlap
                           ? t->reserved
                           : (int64_t)((__int128)t->reserved * overlap / t->remaining);
        t->reserved -= trel;
        sim_account *acct = &book->accounts[t->slot];
        if (t->dir == 0) {
          acct->quote_reserved -= trel;
          acct->quote_free += trel;
        } else {
          acct->base_reserved -= trel;
          acct->base_free += trel;
        }
      }
      t->remaining -= overlap;
      continue;
    }
    int64_t fill = rest->volume < t->remaining ? rest->volume : t->remaining;
    fill = affordable(book, t, price, fill);
    if (fill <= 0) break;
    settle(book, t, rest, fill, price);
    t->remaining -= fill;
    rest->volume -= fill;
    level->volume -= fill;
    side->total_volume -= fill;
    if (rest->volume == 0) {
      rest->volume = 0;
      remove_order(book, index);
    }
  }
}

static void reject(sim_book *book, const sim_msg *msg, int code, bool market) {
  if (is_remote(book, msg->slot)) {
    taos_sim_event ev = {0};
    ev.kind = TAOS_SIM_EV_REJECT;
    ev.timestamp = book->now;
    ev.price = msg->price;
    ev.volume = msg->volume;
    ev.order_id = SIM_NONE;
    ev.agent_id = (int32_t)msg->slot;
    ev.client_order_id = msg->a;
    ev.direction = msg->dir;
    ev.code = (uint8_t)code;
    ev.flags = market ? 1 : 0;
    sim_record(book, &ev);
  } else {
    sim_ack(book, msg, SIM_NONE);
  }
}

static void record_place(sim_book *book, const sim_msg *msg, uint32_t id, int64_t price,
                         int64_t volume, bool market) {
  taos_sim_event ev = {0};
  ev.kind = TAOS_SIM_EV_PLACE;
  ev.timestamp = book->now;
  ev.price = price;
  ev.volume = volume;
  ev.order_id = id;
  ev.agent_id = sim_agent_id(book->sim, msg->slot);
  ev.client_order_id = is_remote(book, msg->slot) ? msg->a : SIM_NONE;
  ev.direction = msg->dir;
  ev.flags = market ? 1 : 0;
  sim_record(book, &ev);
}

static int64_t crossing_volume(const sim_book *book, int dir, int64_t limit, int64_t want) {
  const sim_side *side = &book->side[1 - dir];
  int64_t total = 0;
  for (int64_t p = side->best; p >= 0 && total < want;) {
    if (dir == 0 ? p > limit : p < limit) break;
    total += side->levels[p].volume;
    p = dir == 0 ? scan_up(side, p + 1, book->bits_words) : scan_down(side, p - 1);
  }
  return total;
}

void sim_place_limit(sim_book *book, const sim_msg *msg) {
  const sim_config *cfg = &book->sim->cfg;
  int64_t price = msg->price, volume = msg->volume;
  int tif = (msg->flags >> 1) & 3, stp = (msg->flags >> 3) & 7;
  bool post_only = msg->flags & 1;
  if (volume <= 0) { reject(book, msg, TAOS_SIM_REJ_VOLUME, false); return; }
  if (price <= 0 || price >= MAX_TICKS) { reject(book, msg, TAOS_SIM_REJ_PRICE, false); return; }
  const sim_side *opposite = &book->side[1 - msg->dir];
  bool crosses = opposite->best >= 0 && (msg->dir == 0 ? opposite->best <= price
                                                        : opposite->best >= price);
  if (post_only && crosses) { reject(book, msg, TAOS_SIM_REJ_POST_ONLY, false); return; }
  if (tif == 3 && crossing_volume(book, msg->dir, price, volume) < volume) {
    { reject(book, msg, TAOS_SIM_REJ_FOK, false); return; }
  }
  sim_account *acct = &book->accounts[msg->slot];
  int64_t need;
  if (msg->dir == 0) {
    double maker, taker_rate;
    sim_fee_rates(book, msg->slot, &maker, &taker_rate, NULL);
    int64_t notional = sim_notional(cfg, price, volume);
    need = notional + fee_of(maker > taker_rate ? maker : taker_rate, notional);
    if (need > acct->quote_free || notional <= 0) {
      { reject(book, msg, TAOS_SIM_REJ_BALANCE, false); return; }
    }
    acct->quote_free -= need;
    acct->quote_reserved += need;
  } else {
    need = sim_lots_to_base(cfg, volume);
    if (need > acct->base_free || need <= 0) { reject(book, msg, TAOS_SIM_REJ_BALANCE, false); return; }
    acct->base_free -= need;
    acct->base_reserved += need;
  }
  if (grow_levels(book, price) != TAOS_SIM_OK) {
    book->error = TAOS_SIM_ERR_MEMORY;
    return;
  }
  uint32_t id;
  if (take_id(book, &id) != TAOS_SIM_OK) {
    book->error = TAOS_SIM_ERR_MEMORY;
    return;
  }
  record_place(book, msg, id, price, volume, false);
  taker t = {.slot = msg->slot, .id = id, .client = msg->a, .dir = msg->dir, .stp = (uint8_t)stp,
             .limit = price, .remaining = volume, .reserved = need};
  if (crosses) match(book, &t);
  bool rests = t.remaining > 0 && !t.stopped && (tif == 0 || tif == 1);
  if (!rests) {
    if (t.reserved > 0) { /* release what the unfilled remainder held */
      if (msg->dir == 0) {
        acct->quote_reserved -= t.reserved;
        acct->quote_free += t.reserved;
      } else {
        acct->base_reserved -= t.reserved;
        acct->base_free += t.reserved;
      }
    }
  } else {
    uint32_t index = new_order(book);
    if (index == SIM_NONE) {
      book->error = TAOS_SIM_ERR_MEMORY;
      return;
    }
    sim_order *o = &book->orders[index];
    *o = (sim_order){.timestamp = book->now, .price = price, .volume = t.remaining,
                     .reserved = t.reserved, .id = id, .slot = msg->slot,
                     .client = is_remote(book, msg->slot) ? msg->a : SIM_NONE, .prev = SIM_NONE,
                     .next = SIM_NONE, .owner_prev = SIM_NONE, .owner_next = SIM_NONE,
                     .dir = msg->dir, .stp = (uint8_t)stp};
    sim_side *side = &book->side[msg->dir];
    sim_level *level = &side->levels[price];
    o->prev = level->tail;
    if (level->tail != SIM_NONE) book->orders[level->tail].next = index;
    else level->head = index;
    level->tail = index;
    level->volume += t.remaining;
    side->total_volume += t.remaining;
    set_bit(side, price);
    if (side->best < 0 || (msg->dir == 0 ? price > side->best : price < side->best)) {
      side->best = price;
    }
    book->id_to_order[id] = index;
    if (is_remote(book, msg->slot)) {
      o->owner_next = book->owner_head[msg->slot];
      if (o->owner_next != SIM_NONE) book->orders[o->owner_next].owner_prev = index;
      book->owner_head[msg->slot] = index;
      if (tif == 1 && msg->aux > 0) { /* good-till-time: the exchange schedules its own cancel */
        sim_msg expiry = {.time = book->now + msg->aux, .kind = MSG_CANCEL, .slot = msg->slot,
                          .a = id, .volume = 0, .flags = 0x80};
        sim_send(book, &expiry);
      }
    }
  }
  if (!is_remote(book, msg->slot)) sim_ack(book, msg, id);
}

void sim_place_market(sim_book *book, const sim_msg *msg) {
  const sim_config *cfg = &book->sim->cfg;
  bool quote_sized = msg->flags & 0x40;
  int stp = (msg->flags >> 3) & 7;
  if (msg->volume <= 0) { reject(book, msg, TAOS_SIM_REJ_VOLUME, true); return; }
  if (book->side[1 - msg->dir].best < 0) { reject(book, msg, TAOS_SIM_REJ_NO_LIQUIDITY, true); return; }
  sim_account *acct = &book->accounts[msg->slot];
  if (msg->dir == 0 ? acct->quote_free <= 0 : acct->base_free <= 0) {
    { reject(book, msg, TAOS_SIM_REJ_BALANCE, true); return; }
  }
  int64_t volume = msg->volume;
  if (!quote_sized && msg->dir == 1) {
    int64_t lots = sim_base_to_lots(cfg, acct->base_free);
    if (lots < volume) volume = lots;
    if (volume <= 0) { reject(book, msg, TAOS_SIM_REJ_BALANCE, true); return; }
  }
  uint32_t id;
  if (take_id(book, &id) != TAOS_SIM_OK) {
    book->error = TAOS_SIM_ERR_MEMORY;
    return;
  }
  record_place(book, msg, id, 0, quote_sized ? 0 : volume, true);
  taker t = {.slot = msg->slot, .id = id, .client = msg->a, .dir = msg->dir, .stp = (uint8_t)stp,
             .limit = -1, .remaining = quote_sized ? INT64_MAX / 4 : volume,
             .quote_sized = quote_sized, .quote_left = quote_sized ? msg->volume : 0};
  match(book, &t);
  if (!is_remote(book, msg->slot)) sim_ack(book, msg, id);
}

void sim_cancel(sim_book *book, const sim_msg *msg) {
  uint32_t index = msg->a < book->next_order_id ? book->id_to_order[msg->a] : SIM_NONE;
  if (index == SIM_NONE || book->orders[index].slot != msg->slot) {
    if (is_remote(book, msg->slot) && !(msg->flags & 0x80)) {
      taos_sim_event ev = {0};
      ev.kind = TAOS_SIM_EV_CANCEL_FAIL;
      ev.timestamp = book->now;
      ev.order_id = msg->a;
      ev.volume = msg->volume;
      ev.agent_id = (int32_t)msg->slot;
      ev.client_order_id = SIM_NONE;
      sim_record(book, &ev);
    }
    return;
  }
  cancel_resting(book, index, msg->volume);
}

void sim_reset_account(sim_book *book, uint32_t slot) {
  while (book->owner_head[slot] != SIM_NONE) cancel_resting(book, book->owner_head[slot], 0);
  book->reset_count[slot]++;
  sim_initial_account(book->sim, book->id, slot, &book->accounts[slot]);
  memset(book->fees[slot].slot_volume, 0, book->sim->cfg.fee_slots * sizeof(int64_t));
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

/* ---- read access for publishing ---- */
static int64_t next_level(const sim_book *book, int s, int64_t price) {
  const sim_side *side = &book->side[s];
  return s == 0 ? scan_down(side, price - 1) : scan_up(side, price + 1, book->bits_words);
}

/* Price of the level_index-th level of a side (best = 0), or -1. */
static int64_t level_price(const sim_book *book, int s, size_t level_index) {
  int64_t price = book->side[s].best;
  for (size_t i = 0; i < level_index && price >= 0; i++) price = next_level(book, s, price);
  return price;
}

size_t sim_book_levels(const sim_book *book, int s, size_t max_levels, int64_t *prices,
                       int64_t *volumes) {
  size_t n = 0;
  for (int64_t price = book->side[s].best; price >= 0; price = next_level(book, s, price)) {
    if (n < max_levels) {
      prices[n] = price;
      volumes[n] = book->side[s].levels[price].volume;
    }
    n++;
  }
  return n;
}

static void copy_order(const sim_book *book, const sim_order *o, taos_sim_order *out) {
  *out = (taos_sim_order){.timestamp = o->timestamp, .price = o->price, .volume = o->volume,
                          .order_id = o->id, .agent_id = sim_agent_id(book->sim, o->slot),
                          .client_order_id = o->client, .direction = o->dir};
}

size_t sim_book_level_orders(const sim_book *book, int s, size_t level_index, taos_sim_order *out,
                             size_t capacity) {
  int64_t price = level_price(book, s, level_index);
  if (price < 0) return 0;
  size_t n = 0;
  for (uint32_t i = book->side[s].levels[price].head; i != SIM_NONE; i = book->orders[i].next) {
    if (n < capacity) copy_order(book, &book->orders[i], &out[n]);
    n++;
  }
  return n;
}

size_t sim_book_account_orders(const sim_book *book, uint32_t slot, taos_sim_order *out,
                               size_t capacity) {
  size_t n = 0;
  for (uint32_t i = book->owner_head[slot]; i != SIM_NONE; i = book->orders[i].owner_next) {
    if (n < capacity) copy_order(book, &book->orders[i], &out[n]);
    n++;
  }
  return n;
}
