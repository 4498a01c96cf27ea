/* libFuzzer target: sr25519 verification of arbitrary bytes, as the axon meets them on requests
 * from the network. Input: public key (32) || signature (64) || message (rest); shorter inputs
 * are zero-padded, so the all-zero and all-0xFF keys and signatures are reachable at once.
 *
 * Besides the sanitizers, each input checks:
 *  - tx_sr25519_verify and tx_sr25519_verify_prepared agree, with a slot shared across inputs
 *    (so it is often stale) and a fresh one;
 *  - the Ristretto255 decoder: a key that decodes re-encodes to the same 32 bytes (encodings are
 *    unique), and a key that does not decode is never accepted;
 *  - a signature is never accepted without its marker bit or with s >= l (s + l is tried for
 *    every accepted one);
 *  - wide scalar reduction of the 64 signature bytes gives a canonical scalar that reduces to
 *    itself;
 *  - a fresh signature by a secret taken from the input verifies, and fails once the message, R
 *    or s is changed (unless the key is the identity, which signs every message). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/sr25519_internal.h"
#include "taos_sr25519.h"

#define REQUIRE(cond)                                                                              \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);                \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

/* The group order l, little-endian. */
static const uint8_t group_order[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

static int below_order(const uint8_t s[32]) {
  for (int i = 31; i >= 0; i--) {
    if (s[i] != group_order[i]) return s[i] < group_order[i];
  }
  return 0;
}

/* s + l over 256 bits; 0 when that does not fit below the marker bit. */
static int add_order(uint8_t out[32], const uint8_t s[32]) {
  unsigned carry = 0;
  for (int i = 0; i < 32; i++) {
    carry += (unsigned)s[i] + group_order[i];
    out[i] = (uint8_t)carry;
    carry >>= 8;
  }
  return carry == 0 && (out[31] & 0x80) == 0;
}

static tx_sr25519_context *ctx;
static uint8_t *shared_slot;

static int verify_all(const uint8_t pk[32], const uint8_t *msg, size_t len, const uint8_t sig[64]) {
  int plain = tx_sr25519_verify(ctx, pk, msg, len, sig);
  int shared = tx_sr25519_verify_prepared(ctx, shared_slot, pk, msg, len, sig);
  uint8_t *fresh = calloc(1, tx_sr25519_prepared_size());
  REQUIRE(fresh != NULL);
  int prepared = tx_sr25519_verify_prepared(ctx, fresh, pk, msg, len, sig);
  free(fresh);
  REQUIRE(plain == 0 || plain == 1);
  REQUIRE(plain == shared);
  REQUIRE(plain == prepared);
  return plain;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (ctx == NULL) {
    ctx = tx_sr25519_context_new();
    shared_slot = calloc(1, tx_sr25519_prepared_size());
    REQUIRE(ctx != NULL && shared_slot != NULL);
  }
  uint8_t head[96] = {0};
  memcpy(head, data, size < 96 ? size : 96);
  const uint8_t *pk = head, *sig = head + 32;
  size_t len = size > 96 ? size - 96 : 0;
  /* an exact-size copy, so that a read past the message is caught */
  uint8_t *msg = len > 0 ? malloc(len) : NULL;
  if (len > 0) memcpy(msg, data + 96, len);

  uint8_t again[32];
  int decodes = tx_sr25519_ristretto_roundtrip(again, pk);
  if (decodes) REQUIRE(memcmp(again, pk, 32) == 0);

  int accepted = verify_all(pk, msg, len, sig);
  if (accepted) {
    REQUIRE(decodes);
    REQUIRE(sig[63] & 0x80);
    uint8_t s[32];
    memcpy(s, sig + 32, 32);
    s[31] &= 0x7f;
    REQUIRE(below_order(s));
    uint8_t forged[64];
    memcpy(forged, sig, 32);
    if (add_order(forged + 32, s)) {
      forged[63] |= 0x80;
      REQUIRE(verify_all(pk, msg, len, forged) == 0);
    }
  }

  uint8_t reduced[32], wide[64] = {0}, twice[32];
  tx_sr25519_scalar_reduce_wide(reduced, sig);
  REQUIRE(below_order(reduced));
  memcpy(wide, reduced, 32);
  tx_sr25519_scalar_reduce_wide(twice, wide);
  REQUIRE(memcmp(twice, reduced, 32) == 0);

  /* A signature made here by the secret (scalar || nonce) = the signature bytes. */
  uint8_t own_pk[32], own_sig[64], random[32];
  memcpy(random, pk, 32);
  tx_sr25519_public_key(ctx, sig, own_pk);
  tx_sr25519_sign(ctx, own_pk, sig, msg, len, random, own_sig);
  REQUIRE(verify_all(own_pk, msg, len, own_sig) == 1);
  /* A secret scalar of 0 mod l has the identity as its key (all-zero encoding), for which
   * s*B - k*A = s*B whatever the message: schnorrkel accepts such signatures too. */
  static const uint8_t identity[32] = {0};
  if (memcmp(own_pk, identity, 32) == 0) {
    free(msg);
    return 0;
  }
  uint8_t tampered[64];
  memcpy(tampered, own_sig, 64);
  tampered[len % 32] ^= (uint8_t)(1u << (len % 8));
  REQUIRE(verify_all(own_pk, msg, len, tampered) == 0);
  memcpy(tampered, own_sig, 64);
  tampered[32 + len % 31] ^= (uint8_t)(1u << (len % 8));
  REQUIRE(verify_all(own_pk, msg, len, tampered) == 0);
  if (len > 0) {
    msg[0] ^= 1;
    REQUIRE(verify_all(own_pk, msg, len, own_sig) == 0);
  }
  free(msg);
  return 0;
}
