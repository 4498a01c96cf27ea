/* sr25519 arithmetic edge cases: wide scalar reduction, Ristretto255 encodings of known points
 * and rejection of bad ones, and sign/verify round trips with tampered inputs. The byte-level
 * interoperability with schnorrkel is tested from TypeScript against the WASM build. */
#include <stdio.h>
#include <string.h>

#include "../src/sr25519_internal.h"
#include "taos_sr25519.h"
#include "check.h"

static void hex(uint8_t *out, const char *text, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned byte;
    sscanf(text + 2 * i, "%2x", &byte);
    out[i] = (uint8_t)byte;
  }
}

static int equals_hex(const uint8_t *bytes, const char *text, size_t n) {
  uint8_t expected[64];
  hex(expected, text, n);
  return memcmp(bytes, expected, n) == 0;
}

/* (input, input mod l) as little-endian hex, from an independent big-integer computation. */
static const char *const reductions[][2] = {
    {"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
     "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "000f9c44e31106a447938568a71b0ed065bef517d273ecce3d9a307c1b419903"},
    {"edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010"
     "0000000000000000000000000000000000000000000000000000000000000000",
     "0000000000000000000000000000000000000000000000000000000000000000"},
    {"ecd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010"
     "0000000000000000000000000000000000000000000000000000000000000000",
     "ecd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010"},
    {"0000000000000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000000000000000000000000000000000000000000080",
     "77f1c8d07e3a0cfe0e98be05c38a76f232dffa0be93976e71e4d18be8da0cc09"},
    {"0700000000000000000000000000000000000000000000000000000000000000"
     "1000000000000000000000000000000000000000000000000000000000000000",
     "f4e62167bd48af457ec65aab3b1be535ebffffffffffffffffffffffffffff0f"},
    {"0300000000000000000000000000000000000000000000000000000000000000"
     "689faee7d21893c0b2e6bc17f5cef7a600000000000000000000000000000080",
     "0300000000000000000000000000000000000000000000000000000000000000"},
};

static const char *const basepoint =
    "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76";
static const char *const basepoint2 =
    "6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919";
static const char *const group_order =
    "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010";

static void test_reduction(void) {
  for (size_t i = 0; i < sizeof reductions / sizeof reductions[0]; i++) {
    uint8_t in[64], out[32];
    hex(in, reductions[i][0], 64);
    tx_sr25519_scalar_reduce_wide(out, in);
    CHECK(equals_hex(out, reductions[i][1], 32));
  }
}

static void test_ristretto(void) {
  uint8_t in[32], out[32];
  hex(in, basepoint, 32);
  CHECK(tx_sr25519_ristretto_roundtrip(out, in) && memcmp(in, out, 32) == 0);
  hex(in, basepoint2, 32);
  CHECK(tx_sr25519_ristretto_roundtrip(out, in) && memcmp(in, out, 32) == 0);
  memset(in, 0, 32);
  CHECK(tx_sr25519_ristretto_roundtrip(out, in) && memcmp(in, out, 32) == 0);
  /* p itself: zero, but not canonically encoded */
  hex(in, "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", 32);
  CHECK(!tx_sr25519_ristretto_roundtrip(out, in));
  /* the high bit set */
  hex(in, basepoint, 32);
  in[31] |= 0x80;
  CHECK(!tx_sr25519_ristretto_roundtrip(out, in));
  /* a negative (odd) s */
  hex(in, basepoint, 32);
  in[0] |= 1;
  CHECK(!tx_sr25519_ristretto_roundtrip(out, in));
  /* roughly half of all even field elements are not encodings: some must be rejected */
  int rejected = 0;
  for (int i = 0; i < 64; i++) {
    memset(in, 0, 32);
    in[0] = (uint8_t)(2 * i);
    in[7] = (uint8_t)(3 * i + 1);
    if (!tx_sr25519_ristretto_roundtrip(out, in)) {
      rejected++;
    } else {
      CHECK(memcmp(in, out, 32) == 0);
    }
  }
  CHECK(rejected > 0 && rejected < 64);
}

static void test_public_keys(const tx_sr25519_context *ctx) {
  uint8_t secret[64] = {0}, pk[32], zero[32] = {0};
  tx_sr25519_public_key(ctx, secret, pk);
  CHECK(memcmp(pk, zero, 32) == 0);
  secret[0] = 1;
  tx_sr25519_public_key(ctx, secret, pk);
  CHECK(equals_hex(pk, basepoint, 32));
  secret[0] = 2;
  tx_sr25519_public_key(ctx, secret, pk);
  CHECK(equals_hex(pk, basepoint2, 32));
  hex(secret, group_order, 32);
  tx_sr25519_public_key(ctx, secret, pk);
  CHECK(memcmp(pk, zero, 32) == 0);
  secret[0]++; /* l + 1 */
  tx_sr25519_public_key(ctx, secret, pk);
  CHECK(equals_hex(pk, basepoint, 32));
}

static void test_sign_verify(const tx_sr25519_context *ctx) {
  uint8_t secret[64], pk[32], random[32], sig[64], msg[300];
  uint32_t state = 12345;
  for (int round = 0; round < 20; round++) {
    for (int i = 0; i < 64; i++) secret[i] = (uint8_t)((state = state * 1103515245 + 12345) >> 16);
    for (int i = 0; i < 32; i++) random[i] = (uint8_t)((state = state * 1103515245 + 12345) >> 16);
    size_t len = (size_t)(round * 15);
    for (size_t i = 0; i < len; i++) msg[i] = (uint8_t)(i * 7 + (size_t)round);
    tx_sr25519_public_key(ctx, secret, pk);
    tx_sr25519_sign(ctx, pk, secret, len == 0 ? NULL : msg, len, random, sig);
    CHECK((sig[63] & 0x80) != 0);
    CHECK(tx_sr25519_verify(ctx, pk, len == 0 ? NULL : msg, len, sig) == 1);
    if (len > 0) {
      msg[len / 2] ^= 4;
      CHECK(tx_sr25519_verify(ctx, pk, msg, len, sig) == 0);
      msg[len / 2] ^= 4;
    }
    int bits[] = {0, 100, 255, 256, 300, 500};
    for (size_t b = 0; b < sizeof bits / sizeof bits[0]; b++) {
      sig[bits[b] / 8] ^= (uint8_t)(1 << (bits[b] % 8));
      CHECK(tx_sr25519_verify(ctx, pk, msg, len, sig) == 0);
      sig[bits[b] / 8] ^= (uint8_t)(1 << (bits[b] % 8));
    }
    sig[63] &= 0x7f;
    CHECK(tx_sr25519_verify(ctx, pk, msg, len, sig) == 0);
    sig[63] |= 0x80;
    pk[3] ^= 0x10;
    CHECK(tx_sr25519_verify(ctx, pk, msg, len, sig) == 0);
    pk[3] ^= 0x10;
    CHECK(tx_sr25519_verify(ctx, pk, msg, len, sig) == 1);
  }
}

/* One slot serves changing keys: it is prepared again whenever the key differs, including after
 * an invalid key; an unaligned slot works too. */
static void test_prepared(const tx_sr25519_context *ctx) {
  static uint8_t storage[8192];
  uint8_t *slot = storage + 3;
  CHECK(tx_sr25519_prepared_size() + 3 <= sizeof storage);
  uint8_t secret[2][64] = {{7, 1, 2}, {9, 4, 4}}, pk[2][32], sig[2][64], random[32] = {5};
  const uint8_t msg[] = "prepared";
  for (int i = 0; i < 2; i++) {
    tx_sr25519_public_key(ctx, secret[i], pk[i]);
    tx_sr25519_sign(ctx, pk[i], secret[i], msg, sizeof msg, random, sig[i]);
  }
  uint8_t bad[32];
  hex(bad, basepoint, 32);
  bad[0] ^= 2; /* even, canonical, but (checked below) not a valid encoding */
  uint8_t scratch[32];
  CHECK(!tx_sr25519_ristretto_roundtrip(scratch, bad));
  for (int round = 0; round < 2; round++) {
    CHECK(tx_sr25519_verify_prepared(ctx, slot, pk[0], msg, sizeof msg, sig[0]) == 1);
    CHECK(tx_sr25519_verify_prepared(ctx, slot, pk[0], msg, sizeof msg, sig[0]) == 1);
    CHECK(tx_sr25519_verify_prepared(ctx, slot, pk[0], msg, sizeof msg, sig[1]) == 0);
    CHECK(tx_sr25519_verify_prepared(ctx, slot, pk[1], msg, sizeof msg, sig[0]) == 0);
    CHECK(tx_sr25519_verify_prepared(ctx, slot, pk[1], msg, sizeof msg, sig[1]) == 1);
    CHECK(tx_sr25519_verify_prepared(ctx, slot, bad, msg, sizeof msg, sig[1]) == 0);
  }
  /* the identity is a valid key: s*B = R verifies under it, as in schnorrkel */
  uint8_t zero_secret[64] = {0}, identity[32] = {0}, zsig[64];
  memset(storage, 0, sizeof storage);
  tx_sr25519_sign(ctx, identity, zero_secret, msg, sizeof msg, random, zsig);
  CHECK(tx_sr25519_verify_prepared(ctx, slot, identity, msg, sizeof msg, zsig) == 1);
  CHECK(tx_sr25519_verify(ctx, identity, msg, sizeof msg, zsig) == 1);
}

int main(void) {
  tx_sr25519_context *ctx = tx_sr25519_context_new();
  CHECK(ctx != NULL);
  if (ctx == NULL) return 1;
  test_reduction();
  test_ristretto();
  test_public_keys(ctx);
  test_sign_verify(ctx);
  test_prepared(ctx);
  tx_sr25519_context_free(ctx);
  if (failures != 0) fprintf(stderr, "sr25519: %d checks failed\n", failures);
  return failures == 0 ? 0 : 1;
}
