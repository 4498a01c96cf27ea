/*
 * taos exchange core: order books, price-time matching, per-agent per-book accounts with
 * reservations, tiered maker/taker fees, margin trading (loans, margin calls, liquidation),
 * L3 events.
 *
 * Conventions (in the style of sqlite3.h):
 *  - One opaque handle per exchange (`tx_exchange`); no global mutable state, no threads inside.
 *    Distinct handles may be used concurrently from different threads; one handle from one
 *    thread at a time.
 *  - Every function returns an int code (TX_OK or a TX_ERR_* value; tx_errstr names it) or, for
 *    list snapshots, the number of items available (>= 0) or a negated TX_ERR_* code.
 *  - The caller owns every buffer; lengths are explicit.
 *  - All numbers are scaled integers, never floats:
 *      price      ticks of 10^-price_decimals
 *      base       units of 10^-base_decimals (balances, order and trade volumes)
 *      quote      units of 10^-quote_decimals (balances, notionals, reservations, fees)
 *      *_e9       rates, leverage and margin fractions in units of 10^-9
 *    Order volumes are additionally truncated to the lot 10^-volume_decimals.
 *  - Records crossing the boundary are fixed-size, little-endian, naturally aligned structs whose
 *    sizes and field offsets are pinned below with static_asserts, so a host can pack and read
 *    them byte by byte (offsets are given beside every field). A buffer of records, or of int64
 *    levels, may start at any address: the library copies them in and out with memcpy.
 *
 * Flow: tx_open -> (tx_add_account)* -> { tx_submit(now, instructions) | tx_advance(now) }* with
 * tx_drain_events after each call -> tx_close. Time never goes backwards.
 */
#ifndef TAOS_EXCHANGE_H
#define TAOS_EXCHANGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- return codes of API calls ---- */
enum {
  TX_OK = 0,
  TX_ERR_ARGUMENT = 1, /* NULL pointer, bad enum value or bad size */
  TX_ERR_CONFIG = 2,   /* configuration rejected (message from tx_open's err buffer) */
  TX_ERR_NOMEM = 3,    /* allocation failed: the call stopped after the instruction during which
                          it did; state is consistent and the handle usable, but that
                          instruction's events may be incomplete (README, "Out of memory") */
  TX_ERR_BOOK = 4,     /* unknown book id */
  TX_ERR_AGENT = 5,    /* unknown agent id (or out of the supported id range) */
  TX_ERR_EXISTS = 6,   /* account already exists */
  TX_ERR_TIME = 7,     /* now_ns earlier than the exchange clock */
  TX_ERR_BUSY = 8,     /* balances cannot be replaced while the account has orders or loans */
  TX_ERR_NOT_FOUND = 9, /* no such order */
  TX_ERR_CORRUPT = 10,  /* tx_check found a broken invariant (a bug) */
  TX_ERR_LIMIT = 11     /* a book's accounts would hold more than TX_MAX_HELD units of an asset */
};

/* Name of an API return code ("TX_OK", "TX_ERR_BOOK", ...), or "unknown". */
const char *tx_errstr(int code);

/* ---- instruction vocabulary ---- */
enum { TX_BUY = 0, TX_SELL = 1 };
enum { TX_CURRENCY_BASE = 0, TX_CURRENCY_QUOTE = 1 };
enum { TX_GTC = 0, TX_GTT = 1, TX_IOC = 2, TX_FOK = 3 };
/* Self-trade prevention: none, cancel resting (default), cancel aggressing, cancel both,
 * decrement and cancel. */
enum { TX_STP_NONE = 0, TX_STP_CO = 1, TX_STP_CN = 2, TX_STP_CB = 3, TX_STP_DC = 4 };

enum {
  TX_INSTR_LIMIT = 1,  /* place a limit order */
  TX_INSTR_MARKET = 2, /* place a market order */
  TX_INSTR_CANCEL = 3, /* cancel (part of) one resting order of the agent */
  TX_INSTR_RESET = 4   /* cancel all the agent's orders, restore its initial balances and fees */
};

/* tx_instruction.flags */
#define TX_IF_PARTIAL 0x01u /* cancel: `volume` is the amount to cancel; otherwise the whole order */
/* Any kind: rejected with TX_R_AGENT_RESET, doing nothing else, if a reset of its sender (agent
 * `agent_id`, or `sender_id` with TX_IF_SENDER) was accepted earlier in the same tx_submit call (a
 * response sent before that reset took effect). */
#define TX_IF_AFTER_RESET 0x02u
/* Any kind: `sender_id` names the agent that sent the instruction, for TX_IF_AFTER_RESET (a reset
 * of other agents); without it the sender is `agent_id` and `sender_id` must be 0. */
#define TX_IF_SENDER 0x04u
/* Any kind: the record belongs to the same response as the record before it in the call and
 * shares its fate: rejected with TX_R_AGENT_RESET exactly when that one was, and otherwise run
 * whatever resets the response itself made (TX_IF_AFTER_RESET on it is not judged again). */
#define TX_IF_JOINED 0x08u

/* No client order id / no order / no instruction index. */
#define TX_NONE 0xFFFFFFFFu

/* One instruction: 64 bytes. The values of fields that do not apply to a kind are ignored, but in
 * every kind the enum fields must hold known values, flags known bits, pad0 and reserved 0, and
 * sender_id 0 unless flagged TX_IF_SENDER (else TX_R_INVALID_INSTRUCTION). */
typedef struct tx_instruction {
  uint8_t kind;             /*  0 TX_INSTR_* */
  uint8_t direction;        /*  1 TX_BUY / TX_SELL */
  uint8_t currency;         /*  2 TX_CURRENCY_*: unit of `volume` for placements */
  uint8_t time_in_force;    /*  3 TX_GTC.. (limit only) */
  uint8_t stp;              /*  4 TX_STP_* */
  uint8_t post_only;        /*  5 0/1 (limit only) */
  uint8_t flags;            /*  6 TX_IF_* */
  uint8_t pad0;             /*  7 must be 0 */
  int32_t agent_id;         /*  8 */
  uint32_t book_id;         /* 12 */
  uint32_t client_order_id; /* 16 echoed in events; TX_NONE = none */
  uint32_t order_id;        /* 20 cancel: the order */
  int64_t volume;           /* 24 base units, or quote units when currency is QUOTE (with a
                               leverage L, trunc(volume * (1 + L)) quote is walked and the
                               order owns the base it buys divided by 1 + L) */
  int64_t price;            /* 32 limit price in ticks (already truncated to the tick) */
  int64_t leverage_e9;      /* 40 0 = cash order */
  uint64_t expiry_ns;       /* 48 GTT: lifetime from the processing time (0: cancelled after
                               this call's instructions); send GTC for a GTT without one */
  int32_t sender_id;        /* 56 TX_IF_SENDER: the agent that sent it; otherwise must be 0 */
  uint32_t reserved;        /* 60 must be 0 */
} tx_instruction;

/* ---- events ---- */
enum {
  TX_EV_ACCEPTED = 1,  /* placement accepted: order_id assigned (sent after its fills) */
  TX_EV_REJECTED = 2,  /* instruction rejected: reason = TX_R_* (placements, cancels, resets) */
  TX_EV_TRADE = 3,     /* one fill; agent/order = aggressor, resting_* = resting side;
                          `remaining` = aggressor's own volume left */
  TX_EV_PLACED = 4,    /* L3 place: the order now rests with `remaining` own volume */
  TX_EV_CANCELLED = 5, /* own volume `volume` removed from a resting order; reason = TX_CAUSE_* */
  TX_EV_EXPIRED = 6,   /* GTT expiry removed the order (`volume` removed) */
  TX_EV_STP_REDUCED = 7,       /* aggressor's own volume `volume` removed by self-trade prevention */
  TX_EV_REMAINDER_DROPPED = 8, /* market/IOC order's unfilled own volume `volume` discarded */
  TX_EV_RESET = 9,             /* agent reset done */
  TX_EV_MARGIN_CALL = 10,      /* a loan's margin-call price was breached (see below) */
  TX_EV_LOAN_SETTLED = 11      /* a loan was closed against its collateral (see below) */
};

/* Why an instruction was rejected. 0..11 are the reference's OrderErrorCode values. */
enum {
  TX_R_VALID = 0,
  TX_R_NONEXISTENT_ACCOUNT = 1,
  TX_R_INSUFFICIENT_BASE = 2,
  TX_R_INSUFFICIENT_QUOTE = 3,
  TX_R_EMPTY_BOOK = 4,
  TX_R_PRICE_INCREMENT_VIOLATED = 5, /* never produced */
  TX_R_VOLUME_INCREMENT_VIOLATED = 6, /* never produced */
  TX_R_EXCEEDING_LOAN = 7,
  TX_R_CONTRACT_VIOLATION = 8, /* IOC/FOK/post-only conditions not met */
  TX_R_INVALID_LEVERAGE = 9,
  TX_R_INVALID_VOLUME = 10, /* placement: not positive, past 2^53 units or under one lot;
                               cancel: a negative TX_IF_PARTIAL volume */
  TX_R_INVALID_PRICE = 11,  /* limit price not positive or past 2^40 ticks */
  TX_R_INVALID_BOOK = 12,          /* unknown book id */
  TX_R_ORDER_NOT_FOUND = 13,       /* cancel: no such resting order of this agent in this book */
  TX_R_INVALID_INSTRUCTION = 14,   /* unknown kind or enum value, nonzero padding */
  /* 15 is not assigned */
  TX_R_INVALID_EXPIRY = 16,        /* GTT expiry overflows the clock */
  TX_R_HOLDINGS_LIMIT = 17,        /* reset: the book's accounts would hold more than TX_MAX_HELD;
                                      cash buy: its notional would pass TX_MAX_HELD (reachable only
                                      at a rebate rate, where the reservation is less) */
  TX_R_ORDER_IDS_EXHAUSTED = 18,   /* the book has issued its 2^32 - 4096 order ids */
  TX_R_BOOK_VOLUME_LIMIT = 19,     /* resting, it would take its book side past TX_MAX_HELD */
  TX_R_AGENT_RESET = 20            /* TX_IF_AFTER_RESET: its sender was reset earlier in the call
                                      (or TX_IF_JOINED: the record before it was so rejected) */
};

/* Name of a rejection reason ("INSUFFICIENT_QUOTE", ...), or "UNKNOWN". */
const char *tx_reason_name(int reason);

/* TX_EV_CANCELLED.reason: what removed the volume. */
enum {
  TX_CAUSE_REQUEST = 0,
  TX_CAUSE_STP = 1,
  TX_CAUSE_RESET = 2,
  TX_CAUSE_EXPIRY = 3,
  TX_CAUSE_MARGIN_CALL = 4, /* the owner's orders are cleared before its liquidation */
  TX_CAUSE_UNFUNDED = 5 /* a cash buy reached by a sell cannot pay the fill: the rebate it counted
                           on is past the book's holdings bound (README, "Holdings bound") */
};

/* tx_event.flags */
#define TX_EVF_MARKET 0x01u  /* the order (aggressor for trades) is a market order */
#define TX_EVF_PARTIAL 0x02u /* cancel: the order keeps `remaining` own volume */
#define TX_EVF_EXPIRY 0x04u  /* rejection of a GTT expiry whose order was already gone */
#define TX_EVF_WRITE_OFF 0x08u /* loan settled: `amount` could not be covered and was written off */

/* One event: 112 bytes. `instruction` is the index of the causing record in the tx_submit
 * batch, or TX_NONE for events from tx_advance (expiries). */
typedef struct tx_event {
  uint64_t timestamp;               /*   0 */
  int64_t price;                    /*   8 ticks (trade: resting level price; market: 0) */
  int64_t volume;                   /*  16 base units: trade volume / accepted size / removed */
  int64_t remaining;                /*  24 own volume left on the order after the event */
  int64_t notional;                 /*  32 trade: trunc_q(price * volume) */
  int64_t maker_fee;                /*  40 trade: quote charged to the resting agent */
  int64_t taker_fee;                /*  48 trade: quote charged to the aggressor */
  int64_t leverage_e9;              /*  56 the order's leverage */
  uint32_t instruction;             /*  64 */
  uint32_t book_id;                 /*  68 */
  uint32_t order_id;                /*  72 trade: aggressing order; TX_NONE if none */
  uint32_t resting_order_id;        /*  76 trade only */
  uint32_t trade_id;                /*  80 trade only */
  int32_t agent_id;                 /*  84 trade: aggressing agent */
  int32_t resting_agent_id;         /*  88 trade only */
  uint32_t client_order_id;         /*  92 of agent_id's order */
  uint32_t resting_client_order_id; /*  96 trade only */
  uint8_t type;                     /* 100 TX_EV_* */
  uint8_t direction;                /* 101 order side (trade: aggressor side) */
  uint8_t reason;                   /* 102 TX_R_* (rejected) or TX_CAUSE_* (cancelled) */
  uint8_t flags;                    /* 103 TX_EVF_* */
  int64_t amount;                   /* 104 trade: resting order's remaining total volume (0 =
                                             it left the book);
                                             margin events: loan amount (see below) */
} tx_event;
/* Margin events (instruction = TX_NONE): TX_EV_MARGIN_CALL names the loan's order, agent and
 * direction, `price` the best price that breached its margin-call price and `amount` the loan;
 * the liquidation order follows as an ordinary market order. TX_EV_LOAN_SETTLED is emitted when a
 * loan is closed out against its collateral and then the owner's free balance in its currency:
 * `amount` is what neither covered and was written off (TX_EVF_WRITE_OFF when it is not 0). */

/* ---- configuration ---- */
#define TX_MAX_FEE_TIERS 16
/* Most units of one asset the accounts of a book may be given in total (2^62): trading moves
 * holdings between accounts, so no balance can then overflow; loans and maker rebates, which add
 * to the total, have the other 2^62 of int64 as headroom. */
#define TX_MAX_HELD ((int64_t)1 << 62)
/* Fee policies of one exchange: policy 0 is tx_config's tiers; tx_add_fee_policy adds more. */
#define TX_MAX_FEE_POLICIES 16

/* One fee tier: applies when the agent's rolling traded quote volume >= volume_required. */
typedef struct tx_fee_tier {
  int64_t volume_required; /*  0 quote units, >= 0 */
  int64_t maker_e9;        /*  8 maker rate, -1e9 < rate < 1e9 (negative = rebate) */
  int64_t taker_e9;        /* 16 taker rate */
} tx_fee_tier;

/* tx_config.flags */
#define TX_CFG_GENERAL_PATHS 0x01u /* every instruction takes the general code path, none the
                                      short one for common cases: the same results, slower; for
                                      cross-checking the short paths */

/* Exchange configuration: 472 bytes. */
typedef struct tx_config {
  uint32_t book_count;             /*   0 1..65536 */
  uint32_t price_decimals;         /*   4 0..12 */
  uint32_t volume_decimals;        /*   8 0..12 */
  uint32_t base_decimals;          /*  12 0..12 */
  uint32_t quote_decimals;         /*  16 0..18 */
  uint32_t agent_count;            /*  20 accounts 0..agent_count-1 created by tx_open, <= 2^20 */
  int64_t default_base;            /*  24 their base balance in every book */
  int64_t default_quote;           /*  32 their quote balance in every book */
  int64_t max_leverage_e9;         /*  40 largest leverage of one order */
  int64_t max_loan;                /*  48 quote units */
  int64_t maintenance_margin_e9;   /*  56 */
  uint64_t fee_slot_period_ns;     /*  64 > 0: tiers are recomputed at every multiple */
  uint32_t fee_history_slots;      /*  72 1..1024 slots summed for the tier */
  uint32_t fee_tier_count;         /*  76 1..TX_MAX_FEE_TIERS, volume_required ascending */
  tx_fee_tier fee_tiers[TX_MAX_FEE_TIERS]; /* 80 the first applies below the second */
  uint64_t flags;                  /* 464 TX_CFG_* */
} tx_config;

/* ---- snapshots ---- */

/* A resting order: 72 bytes. */
typedef struct tx_order {
  uint64_t timestamp;       /*  0 time it was accepted */
  int64_t price;            /*  8 ticks */
  int64_t volume;           /* 16 remaining own volume (base units) */
  int64_t leverage_e9;      /* 24 */
  int64_t reserved_base;    /* 32 held for this order */
  int64_t reserved_quote;   /* 40 */
  uint32_t order_id;        /* 48 */
  int32_t agent_id;         /* 52 */
  uint32_t client_order_id; /* 56 */
  uint32_t book_id;         /* 60 */
  uint8_t direction;        /* 64 */
  uint8_t stp;              /* 65 */
  uint8_t pad[6];           /* 66 */
} tx_order;

/* An account's balances in one book: 64 bytes. total = free + reserved. */
typedef struct tx_balances {
  int64_t base_free;        /*  0 */
  int64_t base_reserved;    /*  8 */
  int64_t quote_free;       /* 16 */
  int64_t quote_reserved;   /* 24 */
  int64_t base_loan;        /* 32 margin (0 until margin trading exists) */
  int64_t quote_loan;       /* 40 */
  int64_t base_collateral;  /* 48 */
  int64_t quote_collateral; /* 56 */
} tx_balances;

/* One open loan of an account in one book: 56 bytes. Long loans (leveraged buys) are in quote
 * units, short loans (leveraged sells) in base units. */
typedef struct tx_loan {
  int64_t amount;           /*  0 outstanding */
  int64_t collateral_base;  /*  8 */
  int64_t collateral_quote; /* 16 */
  int64_t leverage_e9;      /* 24 */
  int64_t price;            /* 32 its strictest fill's price (ticks): long highest, short lowest */
  int64_t call_price;       /* 40 that fill's margin-call price (ticks, truncated) */
  uint32_t order_id;        /* 48 the leveraged order it came from */
  uint8_t direction;        /* 52 TX_BUY = long, TX_SELL = short */
  uint8_t pad[3];           /* 53 */
} tx_loan;

/* An account's fee state in one book: 32 bytes. */
typedef struct tx_fee_state {
  int64_t volume;   /*  0 traded quote volume summed over the history slots */
  int64_t maker_e9; /*  8 current maker rate */
  int64_t taker_e9; /* 16 current taker rate */
  uint32_t tier;    /* 24 current tier index */
  uint32_t pad;     /* 28 */
} tx_fee_state;

/* Summary of one book: 64 bytes. Prices are 0 when the side is empty. */
typedef struct tx_book_info {
  int64_t best_bid;        /*  0 */
  int64_t best_ask;        /*  8 */
  int64_t bid_volume;      /* 16 total resting volume */
  int64_t ask_volume;      /* 24 */
  uint32_t bid_levels;     /* 32 */
  uint32_t ask_levels;     /* 36 */
  uint32_t order_count;    /* 40 resting orders, both sides */
  uint32_t next_order_id;  /* 44 */
  uint32_t next_trade_id;  /* 48 */
  uint32_t pad;            /* 52 */
  int64_t fees_collected;  /* 56 net quote taken as fees in this book (rebates subtract) */
} tx_book_info;

/* ---- lifecycle ---- */
typedef struct tx_exchange tx_exchange;

/* Creates an exchange. On TX_ERR_CONFIG a message naming the field is written to err. */
int tx_open(const tx_config *config, tx_exchange **out, char *err, size_t err_len);
/* Frees the exchange (NULL is a no-op). */
void tx_close(tx_exchange *ex);

/* Adds an account with the same initial balances in every book (TX_ERR_EXISTS if present;
 * TX_ERR_LIMIT if a book's accounts would then hold more than TX_MAX_HELD of an asset;
 * TX_ERR_ARGUMENT for a negative balance). Agent ids must lie in [-2^20, 2^20). */
int tx_add_account(tx_exchange *ex, int32_t agent_id, int64_t base, int64_t quote);
/* Replaces an account's free balances in one book (and its reset template there);
 * TX_ERR_BUSY while it has open orders or loans in that book, TX_ERR_LIMIT and TX_ERR_ARGUMENT
 * as for tx_add_account. */
int tx_set_balances(tx_exchange *ex, int32_t agent_id, uint32_t book_id, int64_t base,
                    int64_t quote);

/* Adds a fee policy (tiers validated as tx_config's; on TX_ERR_CONFIG a message naming the field
 * is written to err) and stores its index in *index. Every policy shares the configuration's
 * history slots and slot period, and every fill adds to one history per account and book, so an
 * account's volume counts in every policy. */
int tx_add_fee_policy(tx_exchange *ex, const tx_fee_tier *tiers, uint32_t count,
                      uint32_t *index, char *err, size_t err_len);
/* Makes fee policy `policy` govern the agent's fees in every book (accounts start in policy 0).
 * Its tier is set at once from the volume summed at the last slot roll. */
int tx_set_fee_policy(tx_exchange *ex, int32_t agent_id, uint32_t policy);

/* ---- processing ---- */

/* Advances the clock to now_ns (fee-tier rolls at slot boundaries, due GTT expiries, margin
 * calls), then processes the instructions in buffer order. Bad instructions become TX_EV_REJECTED events;
 * the call itself fails only for bad arguments, time going backwards or memory exhaustion. */
int tx_submit(tx_exchange *ex, uint64_t now_ns, const tx_instruction *records, size_t count);
/* Advances the clock only (with the same rolls, expiries and margin calls). */
int tx_advance(tx_exchange *ex, uint64_t now_ns);
/* Advances the clock to now_ns with the fee rolls due by then, but fires only the expiries due
 * before it (those due at now_ns wait for the next call) and checks no margin (the check waits
 * for the next tx_submit or tx_advance, however many tx_advance_before come first). A snapshot
 * taken at an instant then shows the book before that instant's own expiries, as a simulation
 * whose loop takes the messages of its step's end in the next step publishes it. */
int tx_advance_before(tx_exchange *ex, uint64_t now_ns);
/* Number of events waiting to be drained. */
size_t tx_pending_events(const tx_exchange *ex);
/* Moves up to `capacity` waiting events (oldest first) into `out`; returns how many. */
size_t tx_drain_events(tx_exchange *ex, tx_event *out, size_t capacity);
/* Zero-copy alternative to tx_drain_events: points *out at the waiting events (oldest first)
 * and returns their number. The pointer stays valid until the next call that processes
 * instructions or time, or tx_discard_events. */
size_t tx_peek_events(const tx_exchange *ex, const tx_event **out);
/* Drops the `count` oldest waiting events (after reading them through tx_peek_events). */
void tx_discard_events(tx_exchange *ex, size_t count);

/* ---- list snapshots (return the number available, or a negated TX_ERR_* code) ---- */

/* Levels of one side (0 = bids, 1 = asks), best first: price and total volume. Writes at most
 * `capacity` of each. */
int64_t tx_book_levels(const tx_exchange *ex, uint32_t book_id, int side, int64_t *prices,
                       int64_t *volumes, size_t capacity);
/* Orders of the level `level_index` (0 = best) of one side, in time priority; -TX_ERR_NOT_FOUND
 * when the side has no such level. */
int64_t tx_level_orders(const tx_exchange *ex, uint32_t book_id, int side, uint32_t level_index,
                        tx_order *out, size_t capacity);
/* The agent's resting orders in one book, by ascending order id. */
int64_t tx_agent_orders(const tx_exchange *ex, int32_t agent_id, uint32_t book_id, tx_order *out,
                        size_t capacity);

/* The agent's open loans in one book, by ascending order id. */
int64_t tx_agent_loans(const tx_exchange *ex, int32_t agent_id, uint32_t book_id, tx_loan *out,
                       size_t capacity);

/* ---- single-record snapshots (return TX_OK or a TX_ERR_* code) ---- */
int tx_book_info_get(const tx_exchange *ex, uint32_t book_id, tx_book_info *out);
int tx_order_get(const tx_exchange *ex, uint32_t book_id, uint32_t order_id, tx_order *out);
int tx_balances_get(const tx_exchange *ex, int32_t agent_id, uint32_t book_id, tx_balances *out);
int tx_fee_state_get(const tx_exchange *ex, int32_t agent_id, uint32_t book_id,
                     tx_fee_state *out);

/* Verifies every internal invariant (book uncrossed and consistent, reservations equal to what
 * open orders need, no negative balance). TX_OK, or TX_ERR_CORRUPT with a message in err. */
int tx_check(const tx_exchange *ex, char *err, size_t err_len);

/* ---- layout pins for hosts that pack records by hand ---- */
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#include <stddef.h>
#define TX_PIN(type, field, off) _Static_assert(offsetof(type, field) == (off), #type "." #field)
_Static_assert(sizeof(tx_instruction) == 64, "tx_instruction size");
TX_PIN(tx_instruction, agent_id, 8);
TX_PIN(tx_instruction, book_id, 12);
TX_PIN(tx_instruction, client_order_id, 16);
TX_PIN(tx_instruction, order_id, 20);
TX_PIN(tx_instruction, volume, 24);
TX_PIN(tx_instruction, price, 32);
TX_PIN(tx_instruction, leverage_e9, 40);
TX_PIN(tx_instruction, expiry_ns, 48);
TX_PIN(tx_instruction, sender_id, 56);
TX_PIN(tx_instruction, reserved, 60);
_Static_assert(sizeof(tx_event) == 112, "tx_event size");
TX_PIN(tx_event, leverage_e9, 56);
TX_PIN(tx_event, instruction, 64);
TX_PIN(tx_event, resting_client_order_id, 96);
TX_PIN(tx_event, type, 100);
TX_PIN(tx_event, flags, 103);
TX_PIN(tx_event, amount, 104);
_Static_assert(sizeof(tx_fee_tier) == 24, "tx_fee_tier size");
_Static_assert(sizeof(tx_config) == 472, "tx_config size");
TX_PIN(tx_config, default_base, 24);
TX_PIN(tx_config, fee_slot_period_ns, 64);
TX_PIN(tx_config, fee_history_slots, 72);
TX_PIN(tx_config, fee_tier_count, 76);
TX_PIN(tx_config, fee_tiers, 80);
TX_PIN(tx_config, flags, 464);
_Static_assert(sizeof(tx_order) == 72, "tx_order size");
TX_PIN(tx_order, order_id, 48);
TX_PIN(tx_order, direction, 64);
_Static_assert(sizeof(tx_balances) == 64, "tx_balances size");
_Static_assert(sizeof(tx_loan) == 56, "tx_loan size");
TX_PIN(tx_loan, order_id, 48);
TX_PIN(tx_loan, direction, 52);
_Static_assert(sizeof(tx_fee_state) == 32, "tx_fee_state size");
_Static_assert(sizeof(tx_book_info) == 64, "tx_book_info size");
TX_PIN(tx_book_info, bid_levels, 32);
TX_PIN(tx_book_info, next_trade_id, 48);
#undef TX_PIN
#endif

#ifdef __cplusplus
}
#endif

#endif /* TAOS_EXCHANGE_H */
