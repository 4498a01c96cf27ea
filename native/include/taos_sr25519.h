/* sr25519 (schnorrkel 0.11) signatures with the "substrate" signing context: Schnorr over
 * Ristretto255 with a Merlin transcript, byte-compatible with Substrate and Bittensor.
 *
 * Secrets are in the canonical schnorrkel form (what Bittensor keyfiles store): 32-byte
 * little-endian scalar (reduced mod l here, so any 256-bit value is accepted) followed by the
 * 32-byte nonce. polkadot-js keeps the scalar times the cofactor 8; shift it right by 3 first.
 *
 * The context holds the precomputed base-point tables (~46 KiB); it is immutable after creation,
 * so one context can serve any number of threads. The library never reads the OS: signing takes
 * 32 fresh random bytes from the caller. */
#ifndef TAOS_SR25519_H
#define TAOS_SR25519_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tx_sr25519_context tx_sr25519_context;

/* Builds the base-point tables (a few milliseconds); NULL when out of memory. */
tx_sr25519_context *tx_sr25519_context_new(void);
void tx_sr25519_context_free(tx_sr25519_context *ctx);

/* The compressed public key scalar*B of a canonical 64-byte secret (only its first 32 bytes
 * are read). */
void tx_sr25519_public_key(const tx_sr25519_context *ctx, const uint8_t secret[64],
                           uint8_t public_key[32]);

/* Signs `message` (may be NULL when `length` is 0). `public_key` must be the key of `secret`
 * (it is hashed into the challenge, not recomputed); `random` must be 32 fresh random bytes,
 * mixed with the secret nonce and the message into the per-signature witness. Writes R || s
 * with schnorrkel's marker bit (bit 7 of byte 63) set. */
void tx_sr25519_sign(const tx_sr25519_context *ctx, const uint8_t public_key[32],
                     const uint8_t secret[64], const uint8_t *message, size_t length,
                     const uint8_t random[32], uint8_t signature[64]);

/* 1 when `signature` is a valid schnorrkel signature of `message` by `public_key`, else 0
 * (also for a missing marker bit, a non-canonical s, or an invalid public key encoding). */
int tx_sr25519_verify(const tx_sr25519_context *ctx, const uint8_t public_key[32],
                      const uint8_t *message, size_t length, const uint8_t signature[64]);

/* Size of a prepared-key slot for tx_sr25519_verify_prepared. */
size_t tx_sr25519_prepared_size(void);

/* tx_sr25519_verify, with the public key's precomputation kept in `prepared`, a caller-owned
 * slot of tx_sr25519_prepared_size() bytes (zeroed before first use). The slot remembers the
 * key it was prepared for and is prepared again when given another one, so a stale slot costs
 * time, never a wrong answer. Verifying a key again from its slot is about twice as fast. */
int tx_sr25519_verify_prepared(const tx_sr25519_context *ctx, uint8_t *prepared,
                               const uint8_t public_key[32], const uint8_t *message,
                               size_t length, const uint8_t signature[64]);

#ifdef __cplusplus
}
#endif

#endif
