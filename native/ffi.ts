/**
 * The one place that knows the C symbols of the native library. Each native area declares its
 * own symbol table (the C signature beside each entry); {@linkcode native} merges them into one
 * `Deno.dlopen`, built and opened on first use.
 *
 * ```ts
 * import { native } from "./ffi.ts";
 * const name = native().tx_errstr(0); // pointer to "TX_OK"
 * ```
 * @module
 */
import { nativeLibraryPath } from "./build.ts";

/** The exchange core, `include/taos_exchange.h`. */
const exchangeSymbols = {
  /** const char *tx_errstr(int code) */
  tx_errstr: { parameters: ["i32"], result: "pointer" },
  /** const char *tx_reason_name(int reason) */
  tx_reason_name: { parameters: ["i32"], result: "pointer" },
  /** int tx_open(const tx_config *config, tx_exchange **out, char *err, size_t err_len) */
  tx_open: { parameters: ["buffer", "buffer", "buffer", "usize"], result: "i32" },
  /** void tx_close(tx_exchange *ex) */
  tx_close: { parameters: ["pointer"], result: "void" },
  /** int tx_add_account(tx_exchange *ex, int32_t agent_id, int64_t base, int64_t quote) */
  tx_add_account: { parameters: ["pointer", "i32", "i64", "i64"], result: "i32" },
  /** int tx_set_balances(tx_exchange *ex, int32_t agent_id, uint32_t book_id, int64_t base,
   *                      int64_t quote) */
  tx_set_balances: { parameters: ["pointer", "i32", "u32", "i64", "i64"], result: "i32" },
  /** int tx_add_fee_policy(tx_exchange *ex, const tx_fee_tier *tiers, uint32_t count,
   *                        uint32_t *index, char *err, size_t err_len) */
  tx_add_fee_policy: {
    parameters: ["pointer", "buffer", "u32", "buffer", "buffer", "usize"],
    result: "i32",
  },
  /** int tx_set_fee_policy(tx_exchange *ex, int32_t agent_id, uint32_t policy) */
  tx_set_fee_policy: { parameters: ["pointer", "i32", "u32"], result: "i32" },
  /** int tx_submit(tx_exchange *ex, uint64_t now_ns, const tx_instruction *records,
   *                size_t count) */
  tx_submit: { parameters: ["pointer", "u64", "buffer", "usize"], result: "i32" },
  /** int tx_advance(tx_exchange *ex, uint64_t now_ns) */
  tx_advance: { parameters: ["pointer", "u64"], result: "i32" },
  /** size_t tx_pending_events(const tx_exchange *ex) */
  tx_pending_events: { parameters: ["pointer"], result: "usize" },
  /** size_t tx_drain_events(tx_exchange *ex, tx_event *out, size_t capacity) */
  tx_drain_events: { parameters: ["pointer", "buffer", "usize"], result: "usize" },
  /** size_t tx_peek_events(const tx_exchange *ex, const tx_event **out) */
  tx_peek_events: { parameters: ["pointer", "buffer"], result: "usize" },
  /** void tx_discard_events(tx_exchange *ex, size_t count) */
  tx_discard_events: { parameters: ["pointer", "usize"], result: "void" },
  /** int64_t tx_book_levels(const tx_exchange *ex, uint32_t book_id, int side, int64_t *prices,
   *                         int64_t *volumes, size_t capacity) */
  tx_book_levels: {
    parameters: ["pointer", "u32", "i32", "buffer", "buffer", "usize"],
    result: "i64",
  },
  /** int64_t tx_level_orders(const tx_exchange *ex, uint32_t book_id, int side,
   *                          uint32_t level_index, tx_order *out, size_t capacity) */
  tx_level_orders: {
    parameters: ["pointer", "u32", "i32", "u32", "buffer", "usize"],
    result: "i64",
  },
  /** int64_t tx_agent_orders(const tx_exchange *ex, int32_t agent_id, uint32_t book_id,
   *                          tx_order *out, size_t capacity) */
  tx_agent_orders: { parameters: ["pointer", "i32", "u32", "buffer", "usize"], result: "i64" },
  /** int64_t tx_agent_loans(const tx_exchange *ex, int32_t agent_id, uint32_t book_id,
   *                         tx_loan *out, size_t capacity) */
  tx_agent_loans: { parameters: ["pointer", "i32", "u32", "buffer", "usize"], result: "i64" },
  /** int tx_book_info_get(const tx_exchange *ex, uint32_t book_id, tx_book_info *out) */
  tx_book_info_get: { parameters: ["pointer", "u32", "buffer"], result: "i32" },
  /** int tx_order_get(const tx_exchange *ex, uint32_t book_id, uint32_t order_id,
   *                   tx_order *out) */
  tx_order_get: { parameters: ["pointer", "u32", "u32", "buffer"], result: "i32" },
  /** int tx_balances_get(const tx_exchange *ex, int32_t agent_id, uint32_t book_id,
   *                      tx_balances *out) */
  tx_balances_get: { parameters: ["pointer", "i32", "u32", "buffer"], result: "i32" },
  /** int tx_fee_state_get(const tx_exchange *ex, int32_t agent_id, uint32_t book_id,
   *                       tx_fee_state *out) */
  tx_fee_state_get: { parameters: ["pointer", "i32", "u32", "buffer"], result: "i32" },
  /** int tx_check(const tx_exchange *ex, char *err, size_t err_len) */
  tx_check: { parameters: ["pointer", "buffer", "usize"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The market simulation, `include/taos_sim.h`. */
const simSymbols = {
  /** const char *taos_sim_param_name(uint32_t index) */
  taos_sim_param_name: { parameters: ["u32"], result: "pointer" },
  /** uint32_t taos_sim_param_count(void) */
  taos_sim_param_count: { parameters: [], result: "u32" },
  /** int taos_sim_create(const double *params, uint32_t count, taos_sim **out, char *err,
   *                     size_t err_len) */
  taos_sim_create: { parameters: ["buffer", "u32", "buffer", "buffer", "usize"], result: "i32" },
  /** void taos_sim_destroy(taos_sim *sim) */
  taos_sim_destroy: { parameters: ["pointer"], result: "void" },
  /** int taos_sim_set_feed(taos_sim *sim, int series, const double *prices, size_t count) */
  taos_sim_set_feed: { parameters: ["pointer", "i32", "buffer", "usize"], result: "i32" },
  /** int taos_sim_extend_feed(taos_sim *sim, int series, const double *prices, size_t count) */
  taos_sim_extend_feed: { parameters: ["pointer", "i32", "buffer", "usize"], result: "i32" },
  /** int taos_sim_set_live_fundamental(taos_sim *sim, double price) */
  taos_sim_set_live_fundamental: { parameters: ["pointer", "f64"], result: "i32" },
  /** int taos_sim_advance_steps(taos_sim *sim, uint32_t max_steps, uint32_t depth,
   *                             uint64_t *now_ns, uint64_t *events) */
  taos_sim_advance_steps: {
    parameters: ["pointer", "u32", "u32", "buffer", "buffer"],
    result: "i32",
  },
  /** uint32_t taos_sim_steps(const taos_sim *sim) */
  taos_sim_steps: { parameters: ["pointer"], result: "u32" },
  /** int taos_sim_step_info(const taos_sim *sim, uint32_t book, uint32_t step, uint64_t *time_ns,
   *                         uint64_t *messages, double processes[2]) */
  taos_sim_step_info: {
    parameters: ["pointer", "u32", "u32", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  /** size_t taos_sim_step_events(const taos_sim *sim, uint32_t book, uint32_t step,
   *                             taos_sim_event *out, size_t capacity) */
  taos_sim_step_events: {
    parameters: ["pointer", "u32", "u32", "buffer", "usize"],
    result: "usize",
  },
  /** size_t taos_sim_step_levels(const taos_sim *sim, uint32_t book, uint32_t step, int side,
   *                             size_t max_levels, int64_t *prices, int64_t *volumes) */
  taos_sim_step_levels: {
    parameters: ["pointer", "u32", "u32", "i32", "usize", "buffer", "buffer"],
    result: "usize",
  },
  /** size_t taos_sim_events(const taos_sim *sim, uint32_t book, taos_sim_event *out,
   *                        size_t capacity) */
  taos_sim_events: { parameters: ["pointer", "u32", "buffer", "usize"], result: "usize" },
  /** size_t taos_sim_levels(const taos_sim *sim, uint32_t book, int side, size_t max_levels,
   *                        int64_t *prices, int64_t *volumes) */
  taos_sim_levels: {
    parameters: ["pointer", "u32", "i32", "usize", "buffer", "buffer"],
    result: "usize",
  },
  /** size_t taos_sim_level_orders(const taos_sim *sim, uint32_t book, int side,
   *                              size_t level_index, taos_sim_order *out, size_t capacity) */
  taos_sim_level_orders: {
    parameters: ["pointer", "u32", "i32", "usize", "buffer", "usize"],
    result: "usize",
  },
  /** int taos_sim_balances(const taos_sim *sim, int32_t agent_id, uint32_t book, int64_t out[10]) */
  taos_sim_balances: { parameters: ["pointer", "i32", "u32", "buffer"], result: "i32" },
  /** int taos_sim_remote_accounts(const taos_sim *sim, uint32_t book, int64_t *balances,
   *                              double *fees) */
  taos_sim_remote_accounts: { parameters: ["pointer", "u32", "buffer", "buffer"], result: "i32" },
  /** size_t taos_sim_remote_orders(const taos_sim *sim, uint32_t book, taos_sim_order *out,
   *                               size_t capacity) */
  taos_sim_remote_orders: { parameters: ["pointer", "u32", "buffer", "usize"], result: "usize" },
  /** int taos_sim_process_values(const taos_sim *sim, uint32_t book, double out[2]) */
  taos_sim_process_values: { parameters: ["pointer", "u32", "buffer"], result: "i32" },
  /** int taos_sim_inject(taos_sim *sim, int32_t agent_id, const taos_sim_instruction *in,
   *                     size_t count, uint64_t delay_ns) */
  taos_sim_inject: { parameters: ["pointer", "i32", "buffer", "usize", "u64"], result: "i32" },
  /** int32_t taos_sim_agent_id(const taos_sim *sim, int group, uint32_t index) */
  taos_sim_agent_id: { parameters: ["pointer", "i32", "u32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** sr25519 signatures, `include/taos_sr25519.h`. */
const sr25519Symbols = {
  /** tx_sr25519_context *tx_sr25519_context_new(void) */
  tx_sr25519_context_new: { parameters: [], result: "pointer" },
  /** void tx_sr25519_public_key(const tx_sr25519_context *ctx, const uint8_t secret[64],
   *                             uint8_t public_key[32]) */
  tx_sr25519_public_key: { parameters: ["pointer", "buffer", "buffer"], result: "void" },
  /** void tx_sr25519_sign(const tx_sr25519_context *ctx, const uint8_t public_key[32],
   *                       const uint8_t secret[64], const uint8_t *message, size_t length,
   *                       const uint8_t random[32], uint8_t signature[64]) */
  tx_sr25519_sign: {
    parameters: ["pointer", "buffer", "buffer", "buffer", "usize", "buffer", "buffer"],
    result: "void",
  },
  /** int tx_sr25519_verify(const tx_sr25519_context *ctx, const uint8_t public_key[32],
   *                        const uint8_t *message, size_t length, const uint8_t signature[64]) */
  tx_sr25519_verify: {
    parameters: ["pointer", "buffer", "buffer", "usize", "buffer"],
    result: "i32",
  },
  /** size_t tx_sr25519_prepared_size(void) */
  tx_sr25519_prepared_size: { parameters: [], result: "usize" },
  /** int tx_sr25519_verify_prepared(const tx_sr25519_context *ctx, uint8_t *prepared,
   *                                 const uint8_t public_key[32], const uint8_t *message,
   *                                 size_t length, const uint8_t signature[64]) */
  tx_sr25519_verify_prepared: {
    parameters: ["pointer", "buffer", "buffer", "buffer", "usize", "buffer"],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** Every symbol of the native library: one table per area, merged. */
const symbols = {
  ...exchangeSymbols,
  ...simSymbols,
  ...sr25519Symbols,
} as const satisfies Deno.ForeignLibraryInterface;

let library: Deno.DynamicLibrary<typeof symbols> | undefined;

/** The native library's symbols, building (if stale) and opening the library on first use. */
export function native(): Deno.DynamicLibrary<typeof symbols>["symbols"] {
  library ??= Deno.dlopen(nativeLibraryPath(), symbols);
  return library.symbols;
}

/** Bytes of the `char *err` buffer a caller lends the library to explain a refusal in. */
export const ERROR_TEXT_BYTES = 512;

/** The text the library wrote into an error buffer, up to its NUL ("" when it wrote none). */
export function errorText(buffer: Uint8Array): string {
  const end = buffer.indexOf(0);
  return new TextDecoder().decode(end < 0 ? buffer : buffer.subarray(0, end));
}

/** Reads a NUL-terminated C string returned by the library (NULL reads as ""). */
export function cString(pointer: Deno.PointerValue): string {
  return pointer === null ? "" : Deno.UnsafePointerView.getCString(pointer);
}
