/* sr25519: Schnorr signatures over Ristretto255 (RFC 9496) with Merlin transcripts, as
 * schnorrkel 0.11 defines them. Field elements use five 51-bit limbs, scalars five 52-bit limbs
 * in Montgomery form for multiplication. Signing is constant time in the secrets (fixed-base
 * table with masked lookups); verification only handles public data and uses variable-time
 * wNAF double-scalar multiplication. */
#include "taos_sr25519.h"

#include <stdlib.h>
#include <string.h>

#include "sr25519_internal.h"

typedef unsigned __int128 u128;

/* ---------------------------------------------------------------- Keccak-f[1600], STROBE */

static const uint64_t keccak_rc[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

static uint64_t rotl64(uint64_t v, unsigned n) { return (v << n) | (v >> (64 - n)); }

static uint64_t load64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static void store64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Lane x + 5y. Rho and pi are written out (b[y + 5((2x + 3y) mod 5)] = a[x + 5y] rotated by
 * its offset): the loop form with computed indices was several times slower. */
static void keccak_f1600(uint64_t a[25]) {
  for (int round = 0; round < 24; round++) {
    uint64_t c0 = a[0] ^ a[5] ^ a[10] ^ a[15] ^ a[20];
    uint64_t c1 = a[1] ^ a[6] ^ a[11] ^ a[16] ^ a[21];
    uint64_t c2 = a[2] ^ a[7] ^ a[12] ^ a[17] ^ a[22];
    uint64_t c3 = a[3] ^ a[8] ^ a[13] ^ a[18] ^ a[23];
    uint64_t c4 = a[4] ^ a[9] ^ a[14] ^ a[19] ^ a[24];
    uint64_t d0 = c4 ^ rotl64(c1, 1);
    uint64_t d1 = c0 ^ rotl64(c2, 1);
    uint64_t d2 = c1 ^ rotl64(c3, 1);
    uint64_t d3 = c2 ^ rotl64(c4, 1);
    uint64_t d4 = c3 ^ rotl64(c0, 1);
    uint64_t b0 = a[0] ^ d0;
    uint64_t b1 = rotl64(a[6] ^ d1, 44);
    uint64_t b2 = rotl64(a[12] ^ d2, 43);
    uint64_t b3 = rotl64(a[18] ^ d3, 21);
    uint64_t b4 = rotl64(a[24] ^ d4, 14);
    uint64_t b5 = rotl64(a[3] ^ d3, 28);
    uint64_t b6 = rotl64(a[9] ^ d4, 20);
    uint64_t b7 = rotl64(a[10] ^ d0, 3);
    uint64_t b8 = rotl64(a[16] ^ d1, 45);
    uint64_t b9 = rotl64(a[22] ^ d2, 61);
    uint64_t b10 = rotl64(a[1] ^ d1, 1);
    uint64_t b11 = rotl64(a[7] ^ d2, 6);
    uint64_t b12 = rotl64(a[13] ^ d3, 25);
    uint64_t b13 = rotl64(a[19] ^ d4, 8);
    uint64_t b14 = rotl64(a[20] ^ d0, 18);
    uint64_t b15 = rotl64(a[4] ^ d4, 27);
    uint64_t b16 = rotl64(a[5] ^ d0, 36);
    uint64_t b17 = rotl64(a[11] ^ d1, 10);
    uint64_t b18 = rotl64(a[17] ^ d2, 15);
    uint64_t b19 = rotl64(a[23] ^ d3, 56);
    uint64_t b20 = rotl64(a[2] ^ d2, 62);
    uint64_t b21 = rotl64(a[8] ^ d3, 55);
    uint64_t b22 = rotl64(a[14] ^ d4, 39);
    uint64_t b23 = rotl64(a[15] ^ d0, 41);
    uint64_t b24 = rotl64(a[21] ^ d1, 2);
    a[0] = b0 ^ (~b1 & b2) ^ keccak_rc[round];
    a[1] = b1 ^ (~b2 & b3);
    a[2] = b2 ^ (~b3 & b4);
    a[3] = b3 ^ (~b4 & b0);
    a[4] = b4 ^ (~b0 & b1);
    a[5] = b5 ^ (~b6 & b7);
    a[6] = b6 ^ (~b7 & b8);
    a[7] = b7 ^ (~b8 & b9);
    a[8] = b8 ^ (~b9 & b5);
    a[9] = b9 ^ (~b5 & b6);
    a[10] = b10 ^ (~b11 & b12);
    a[11] = b11 ^ (~b12 & b13);
    a[12] = b12 ^ (~b13 & b14);
    a[13] = b13 ^ (~b14 & b10);
    a[14] = b14 ^ (~b10 & b11);
    a[15] = b15 ^ (~b16 & b17);
    a[16] = b16 ^ (~b17 & b18);
    a[17] = b17 ^ (~b18 & b19);
    a[18] = b18 ^ (~b19 & b15);
    a[19] = b19 ^ (~b15 & b16);
    a[20] = b20 ^ (~b21 & b22);
    a[21] = b21 ^ (~b22 & b23);
    a[22] = b22 ^ (~b23 & b24);
    a[23] = b23 ^ (~b24 & b20);
    a[24] = b24 ^ (~b20 & b21);
  }
}

/* STROBE-128 reduced to the operations Merlin uses. */
enum { STROBE_R = 166, FLAG_I = 1, FLAG_A = 2, FLAG_C = 4, FLAG_M = 16, FLAG_K = 32 };

/* The state is kept as Keccak lanes; byte i of the sponge is byte i % 8 of lane i / 8. */
typedef struct {
  uint64_t st[25];
  uint8_t pos;
  uint8_t pos_begin;
  uint8_t cur_flags;
} strobe;

static void st_xor(strobe *s, unsigned i, uint8_t v) {
  s->st[i >> 3] ^= (uint64_t)v << (8 * (i & 7));
}

static uint8_t st_get(const strobe *s, unsigned i) {
  return (uint8_t)(s->st[i >> 3] >> (8 * (i & 7)));
}

static void strobe_run_f(strobe *s) {
  st_xor(s, s->pos, s->pos_begin);
  st_xor(s, s->pos + 1u, 0x04);
  st_xor(s, STROBE_R + 1, 0x80);
  keccak_f1600(s->st);
  s->pos = 0;
  s->pos_begin = 0;
}

static void strobe_absorb(strobe *s, const uint8_t *data, size_t len) {
  for (size_t i = 0; i < len; i++) {
    st_xor(s, s->pos++, data[i]);
    if (s->pos == STROBE_R) strobe_run_f(s);
  }
}

static void strobe_overwrite(strobe *s, const uint8_t *data, size_t len) {
  for (size_t i = 0; i < len; i++) {
    /* xor-ing in byte ^ old byte overwrites it */
    st_xor(s, s->pos, (uint8_t)(st_get(s, s->pos) ^ data[i]));
    if (++s->pos == STROBE_R) strobe_run_f(s);
  }
}

static void strobe_squeeze(strobe *s, uint8_t *out, size_t len) {
  for (size_t i = 0; i < len; i++) {
    out[i] = st_get(s, s->pos);
    st_xor(s, s->pos, out[i]);
    if (++s->pos == STROBE_R) strobe_run_f(s);
  }
}

/* A continued operation (`more`) only appends data to the previous one of the same flags. */
static void strobe_begin(strobe *s, uint8_t flags, int more) {
  if (more) return;
  uint8_t header[2] = {s->pos_begin, flags};
  s->pos_begin = (uint8_t)(s->pos + 1);
  s->cur_flags = flags;
  strobe_absorb(s, header, 2);
  if ((flags & (FLAG_C | FLAG_K)) != 0 && s->pos != 0) strobe_run_f(s);
}

static void strobe_meta_ad(strobe *s, const uint8_t *data, size_t len, int more) {
  strobe_begin(s, FLAG_M | FLAG_A, more);
  strobe_absorb(s, data, len);
}

static void strobe_ad(strobe *s, const uint8_t *data, size_t len) {
  strobe_begin(s, FLAG_A, 0);
  strobe_absorb(s, data, len);
}

static void strobe_prf(strobe *s, uint8_t *out, size_t len) {
  strobe_begin(s, FLAG_I | FLAG_A | FLAG_C, 0);
  strobe_squeeze(s, out, len);
}

static void strobe_key(strobe *s, const uint8_t *data, size_t len) {
  strobe_begin(s, FLAG_A | FLAG_C, 0);
  strobe_overwrite(s, data, len);
}

static void strobe_init(strobe *s, const char *protocol) {
  memset(s, 0, sizeof *s);
  static const uint8_t head[18] = {1, STROBE_R + 2, 1, 0, 1, 96, 'S', 'T', 'R', 'O', 'B', 'E',
                                   'v', '1', '.', '0', '.', '2'};
  for (unsigned i = 0; i < sizeof head; i++) st_xor(s, i, head[i]);
  keccak_f1600(s->st);
  strobe_meta_ad(s, (const uint8_t *)protocol, strlen(protocol), 0);
}

/* Merlin: labelled, length-framed messages and challenges over one STROBE state. */
static void merlin_frame(strobe *s, const char *label, size_t len) {
  uint8_t le[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24)};
  strobe_meta_ad(s, (const uint8_t *)label, strlen(label), 0);
  strobe_meta_ad(s, le, 4, 1);
}

static void merlin_append(strobe *s, const char *label, const uint8_t *msg, size_t len) {
  merlin_frame(s, label, len);
  strobe_ad(s, msg, len);
}

static void merlin_challenge(strobe *s, const char *label, uint8_t *out, size_t len) {
  merlin_frame(s, label, len);
  strobe_prf(s, out, len);
}

static void merlin_init(strobe *s, const char *label) {
  strobe_init(s, "Merlin v1.0");
  merlin_append(s, "dom-sep", (const uint8_t *)label, strlen(label));
}

/* ---------------------------------------------------------------- field GF(2^255 - 19) */

typedef uint64_t fe[5];
#define MASK51 ((1ULL << 51) - 1)

static const fe fe_d = {0x34dca135978a3ULL, 0x1a8283b156ebdULL, 0x5e7a26001c029ULL,
                        0x739c663a03cbbULL, 0x52036cee2b6ffULL};
static const fe fe_d2 = {0x69b9426b2f159ULL, 0x35050762add7aULL, 0x3cf44c0038052ULL,
                         0x6738cc7407977ULL, 0x2406d9dc56dffULL};
static const fe fe_sqrtm1 = {0x61b274a0ea0b0ULL, 0x0d5a5fc8f189dULL, 0x7ef5e9cbd0c60ULL,
                             0x78595a6804c9eULL, 0x2b8324804fc1dULL};
/* 1/sqrt(a - d) with a = -1. */
static const fe fe_invsqrt_a_minus_d = {0x0fdaa805d40eaULL, 0x2eb482e57d339ULL,
                                        0x007610274bc58ULL, 0x6510b613dc8ffULL,
                                        0x786c8905cfaffULL};

static void fe_copy(fe h, const fe f) { memcpy(h, f, sizeof(fe)); }
static void fe_zero(fe h) { memset(h, 0, sizeof(fe)); }
static void fe_one(fe h) {
  fe_zero(h);
  h[0] = 1;
}

static void fe_carry(fe h) {
  uint64_t c;
  c = h[0] >> 51, h[0] &= MASK51, h[1] += c;
  c = h[1] >> 51, h[1] &= MASK51, h[2] += c;
  c = h[2] >> 51, h[2] &= MASK51, h[3] += c;
  c = h[3] >> 51, h[3] &= MASK51, h[4] += c;
  c = h[4] >> 51, h[4] &= MASK51, h[0] += 19 * c;
}

/* Lazy: limbs of sums stay below 2^54, which fe_mul and fe_sub accept. */
static void fe_add(fe h, const fe f, const fe g) {
  for (int i = 0; i < 5; i++) h[i] = f[i] + g[i];
}

/* f + 16p - g keeps every limb positive for g below 2^55. */
static void fe_sub(fe h, const fe f, const fe g) {
  h[0] = f[0] + 0x7ffffffffffed0ULL - g[0];
  for (int i = 1; i < 5; i++) h[i] = f[i] + 0x7ffffffffffff0ULL - g[i];
  fe_carry(h);
}

static void fe_neg(fe h, const fe f) {
  static const fe zero = {0, 0, 0, 0, 0};
  fe_sub(h, zero, f);
}

static void fe_reduce_product(fe h, u128 r0, u128 r1, u128 r2, u128 r3, u128 r4) {
  r1 += (uint64_t)(r0 >> 51);
  r2 += (uint64_t)(r1 >> 51);
  r3 += (uint64_t)(r2 >> 51);
  r4 += (uint64_t)(r3 >> 51);
  uint64_t h0 = ((uint64_t)r0 & MASK51) + 19 * (uint64_t)(r4 >> 51);
  h[1] = ((uint64_t)r1 & MASK51) + (h0 >> 51);
  h[0] = h0 & MASK51;
  h[2] = (uint64_t)r2 & MASK51;
  h[3] = (uint64_t)r3 & MASK51;
  h[4] = (uint64_t)r4 & MASK51;
}

static void fe_mul(fe h, const fe f, const fe g) {
  uint64_t g1 = 19 * g[1], g2 = 19 * g[2], g3 = 19 * g[3], g4 = 19 * g[4];
  u128 r0 = (u128)f[0] * g[0] + (u128)f[1] * g4 + (u128)f[2] * g3 + (u128)f[3] * g2 +
            (u128)f[4] * g1;
  u128 r1 = (u128)f[0] * g[1] + (u128)f[1] * g[0] + (u128)f[2] * g4 + (u128)f[3] * g3 +
            (u128)f[4] * g2;
  u128 r2 = (u128)f[0] * g[2] + (u128)f[1] * g[1] + (u128)f[2] * g[0] + (u128)f[3] * g4 +
            (u128)f[4] * g3;
  u128 r3 = (u128)f[0] * g[3] + (u128)f[1] * g[2] + (u128)f[2] * g[1] + (u128)f[3] * g[0] +
            (u128)f[4] * g4;
  u128 r4 = (u128)f[0] * g[4] + (u128)f[1] * g[3] + (u128)f[2] * g[2] + (u128)f[3] * g[1] +
            (u128)f[4] * g[0];
  fe_reduce_product(h, r0, r1, r2, r3, r4);
}

static void fe_sq(fe h, const fe f) {
  uint64_t f0_2 = 2 * f[0], f1_2 = 2 * f[1], f3_19 = 19 * f[3], f4_19 = 19 * f[4];
  u128 r0 = (u128)f[0] * f[0] + (u128)f1_2 * f4_19 + (u128)(2 * f[2]) * f3_19;
  u128 r1 = (u128)f0_2 * f[1] + (u128)(2 * f[2]) * f4_19 + (u128)f[3] * f3_19;
  u128 r2 = (u128)f0_2 * f[2] + (u128)f[1] * f[1] + (u128)(2 * f[3]) * f4_19;
  u128 r3 = (u128)f0_2 * f[3] + (u128)f1_2 * f[2] + (u128)f[4] * f4_19;
  u128 r4 = (u128)f0_2 * f[4] + (u128)f1_2 * f[3] + (u128)f[2] * f[2];
  fe_reduce_product(h, r0, r1, r2, r3, r4);
}

static void fe_sqn(fe h, const fe f, int n) {
  fe_sq(h, f);
  while (--n > 0) fe_sq(h, h);
}

static void fe_frombytes(fe h, const uint8_t s[32]) {
  uint64_t w0 = load64(s), w1 = load64(s + 8), w2 = load64(s + 16), w3 = load64(s + 24);
  h[0] = w0 & MASK51;
  h[1] = ((w0 >> 51) | (w1 << 13)) & MASK51;
  h[2] = ((w1 >> 38) | (w2 << 26)) & MASK51;
  h[3] = ((w2 >> 25) | (w3 << 39)) & MASK51;
  h[4] = (w3 >> 12) & MASK51;
}

/* Canonical encoding: fully reduced mod p. */
static void fe_tobytes(uint8_t s[32], const fe f) {
  fe h;
  fe_copy(h, f);
  fe_carry(h);
  fe_carry(h);
  /* h < 2^255 + small now; q = 1 exactly when h >= p. */
  uint64_t q = (h[0] + 19) >> 51;
  q = (h[1] + q) >> 51;
  q = (h[2] + q) >> 51;
  q = (h[3] + q) >> 51;
  q = (h[4] + q) >> 51;
  h[0] += 19 * q;
  uint64_t c;
  c = h[0] >> 51, h[0] &= MASK51, h[1] += c;
  c = h[1] >> 51, h[1] &= MASK51, h[2] += c;
  c = h[2] >> 51, h[2] &= MASK51, h[3] += c;
  c = h[3] >> 51, h[3] &= MASK51, h[4] += c;
  h[4] &= MASK51;
  store64(s, h[0] | (h[1] << 51));
  store64(s + 8, (h[1] >> 13) | (h[2] << 38));
  store64(s + 16, (h[2] >> 26) | (h[3] << 25));
  store64(s + 24, (h[3] >> 39) | (h[4] << 12));
}

static int fe_is_negative(const fe f) {
  uint8_t s[32];
  fe_tobytes(s, f);
  return s[0] & 1;
}

static int fe_is_zero(const fe f) {
  uint8_t s[32];
  fe_tobytes(s, f);
  uint8_t acc = 0;
  for (int i = 0; i < 32; i++) acc |= s[i];
  return acc == 0;
}

static int fe_equal(const fe f, const fe g) {
  fe t;
  fe_sub(t, f, g);
  return fe_is_zero(t);
}

static void fe_cmov(fe h, const fe g, int flag) {
  uint64_t mask = (uint64_t)0 - (uint64_t)(flag & 1);
  for (int i = 0; i < 5; i++) h[i] ^= mask & (h[i] ^ g[i]);
}

static void fe_abs(fe h, const fe f) {
  fe n;
  fe_neg(n, f);
  fe_copy(h, f);
  fe_cmov(h, n, fe_is_negative(f));
}

/* z^(2^250 - 1) and z^11, shared by inversion and the square root exponent. */
static void fe_pow_2_250_1(fe out, fe z11, const fe z) {
  fe t, z9, z_5, z_10, z_20, z_50, z_100;
  fe_sq(t, z);        /* z^2 */
  fe_sqn(z9, t, 2);   /* z^8 */
  fe_mul(z9, z9, z);  /* z^9 */
  fe_mul(z11, z9, t); /* z^11 */
  fe_sq(t, z11);      /* z^22 */
  fe_mul(z_5, t, z9); /* z^(2^5 - 1) */
  fe_sqn(t, z_5, 5);
  fe_mul(z_10, t, z_5);
  fe_sqn(t, z_10, 10);
  fe_mul(z_20, t, z_10);
  fe_sqn(t, z_20, 20);
  fe_mul(t, t, z_20);
  fe_sqn(t, t, 10);
  fe_mul(z_50, t, z_10);
  fe_sqn(t, z_50, 50);
  fe_mul(z_100, t, z_50);
  fe_sqn(t, z_100, 100);
  fe_mul(t, t, z_100);
  fe_sqn(t, t, 50);
  fe_mul(out, t, z_50);
}

static void fe_invert(fe out, const fe z) {
  fe t, z11;
  fe_pow_2_250_1(t, z11, z);
  fe_sqn(t, t, 5);
  fe_mul(out, t, z11); /* z^(p - 2) */
}

static void fe_pow22523(fe out, const fe z) {
  fe t, z11;
  fe_pow_2_250_1(t, z11, z);
  fe_sqn(t, t, 2);
  fe_mul(out, t, z); /* z^((p - 5) / 8) */
}

/* RFC 9496 SQRT_RATIO_M1: r = +sqrt(u/v) or +sqrt(i*u/v); returns whether u/v was square. */
static int fe_sqrt_ratio_m1(fe r, const fe u, const fe v) {
  fe v3, v7, t, check, neg_u, neg_u_i, r_prime;
  fe_sq(v3, v);
  fe_mul(v3, v3, v);
  fe_sq(v7, v3);
  fe_mul(v7, v7, v);
  fe_mul(t, u, v7);
  fe_pow22523(t, t);
  fe_mul(r, u, v3);
  fe_mul(r, r, t);
  fe_sq(check, r);
  fe_mul(check, check, v);
  fe_neg(neg_u, u);
  fe_mul(neg_u_i, neg_u, fe_sqrtm1);
  int correct = fe_equal(check, u);
  int flipped = fe_equal(check, neg_u);
  int flipped_i = fe_equal(check, neg_u_i);
  fe_mul(r_prime, r, fe_sqrtm1);
  fe_cmov(r, r_prime, flipped | flipped_i);
  fe_abs(r, r);
  return correct | flipped;
}

/* ---------------------------------------------------------------- Edwards points */

typedef struct {
  fe X, Y, Z, T;
} ge_p3; /* extended: x = X/Z, y = Y/Z, xy = T/Z */
typedef struct {
  fe X, Y, Z;
} ge_p2;
typedef struct {
  fe X, Y, Z, T;
} ge_p1p1; /* completed: x = X/Z, y = Y/T */
typedef struct {
  fe YplusX, YminusX, Z, T2d;
} ge_cached;
struct ge_precomp {
  fe yplusx, yminusx, xy2d;
}; /* affine, for mixed additions */

static void ge_identity(ge_p3 *p) {
  fe_zero(p->X);
  fe_one(p->Y);
  fe_one(p->Z);
  fe_zero(p->T);
}

static void ge_to_p2(ge_p2 *r, const ge_p1p1 *p) {
  fe_mul(r->X, p->X, p->T);
  fe_mul(r->Y, p->Y, p->Z);
  fe_mul(r->Z, p->Z, p->T);
}

static void ge_to_p3(ge_p3 *r, const ge_p1p1 *p) {
  fe_mul(r->X, p->X, p->T);
  fe_mul(r->Y, p->Y, p->Z);
  fe_mul(r->Z, p->Z, p->T);
  fe_mul(r->T, p->X, p->Y);
}

static void ge_to_cached(ge_cached *r, const ge_p3 *p) {
  fe_add(r->YplusX, p->Y, p->X);
  fe_sub(r->YminusX, p->Y, p->X);
  fe_copy(r->Z, p->Z);
  fe_mul(r->T2d, p->T, fe_d2);
}

static void ge_dbl(ge_p1p1 *r, const ge_p2 *p) {
  fe t0;
  fe_sq(r->X, p->X);
  fe_sq(r->Z, p->Y);
  fe_sq(r->T, p->Z);
  fe_add(r->T, r->T, r->T);
  fe_add(r->Y, p->X, p->Y);
  fe_sq(t0, r->Y);
  fe_add(r->Y, r->Z, r->X);
  fe_sub(r->Z, r->Z, r->X);
  fe_sub(r->X, t0, r->Y);
  fe_sub(r->T, r->T, r->Z);
}

static void ge_dbl_p3(ge_p1p1 *r, const ge_p3 *p) {
  ge_p2 q;
  fe_copy(q.X, p->X);
  fe_copy(q.Y, p->Y);
  fe_copy(q.Z, p->Z);
  ge_dbl(r, &q);
}

/* The common end of the additions below: r->Z and r->Y hold the (y+x) and (y-x) products, r->T the
 * t product, t0 twice the z product. */
static void ge_add_finish(ge_p1p1 *r, const fe t0, int sign) {
  fe_sub(r->X, r->Z, r->Y);
  fe_add(r->Y, r->Z, r->Y);
  if (sign) {
    fe_sub(r->Z, t0, r->T);
    fe_add(r->T, t0, r->T);
  } else {
    fe_add(r->Z, t0, r->T);
    fe_sub(r->T, t0, r->T);
  }
}

/* p + q (sign = 0) or p - q (sign = 1): the negation swaps y+x with y-x and negates t. */
static void ge_add_cached(ge_p1p1 *r, const ge_p3 *p, const ge_cached *q, int sign) {
  fe t0;
  fe_add(r->X, p->Y, p->X);
  fe_sub(r->Y, p->Y, p->X);
  fe_mul(r->Z, r->X, sign ? q->YminusX : q->YplusX);
  fe_mul(r->Y, r->Y, sign ? q->YplusX : q->YminusX);
  fe_mul(r->T, q->T2d, p->T);
  fe_mul(r->X, p->Z, q->Z);
  fe_add(t0, r->X, r->X);
  ge_add_finish(r, t0, sign);
}

static void ge_madd(ge_p1p1 *r, const ge_p3 *p, const struct ge_precomp *q, int sign) {
  fe t0;
  fe_add(r->X, p->Y, p->X);
  fe_sub(r->Y, p->Y, p->X);
  fe_mul(r->Z, r->X, sign ? q->yminusx : q->yplusx);
  fe_mul(r->Y, r->Y, sign ? q->yplusx : q->yminusx);
  fe_mul(r->T, q->xy2d, p->T);
  fe_add(t0, p->Z, p->Z);
  ge_add_finish(r, t0, sign);
}

static void ge_to_precomp(struct ge_precomp *r, const ge_p3 *p) {
  fe zinv, x, y;
  fe_invert(zinv, p->Z);
  fe_mul(x, p->X, zinv);
  fe_mul(y, p->Y, zinv);
  fe_add(r->yplusx, y, x);
  fe_carry(r->yplusx);
  fe_sub(r->yminusx, y, x);
  fe_mul(r->xy2d, x, y);
  fe_mul(r->xy2d, r->xy2d, fe_d2);
}

/* ---------------------------------------------------------------- Ristretto255 */

static void ristretto_encode(uint8_t s[32], const ge_p3 *p) {
  fe u1, u2, t, invsqrt, den1, den2, z_inv, ix, iy, enchanted, x, y, den_inv;
  fe_add(u1, p->Z, p->Y);
  fe_sub(t, p->Z, p->Y);
  fe_mul(u1, u1, t);
  fe_mul(u2, p->X, p->Y);
  fe_sq(t, u2);
  fe_mul(t, t, u1);
  static const fe one = {1, 0, 0, 0, 0};
  fe_sqrt_ratio_m1(invsqrt, one, t);
  fe_mul(den1, invsqrt, u1);
  fe_mul(den2, invsqrt, u2);
  fe_mul(z_inv, den1, den2);
  fe_mul(z_inv, z_inv, p->T);
  fe_mul(ix, p->X, fe_sqrtm1);
  fe_mul(iy, p->Y, fe_sqrtm1);
  fe_mul(enchanted, den1, fe_invsqrt_a_minus_d);
  fe_mul(t, p->T, z_inv);
  int rotate = fe_is_negative(t);
  fe_copy(x, p->X);
  fe_copy(y, p->Y);
  fe_copy(den_inv, den2);
  fe_cmov(x, iy, rotate);
  fe_cmov(y, ix, rotate);
  fe_cmov(den_inv, enchanted, rotate);
  fe_mul(t, x, z_inv);
  fe neg_y;
  fe_neg(neg_y, y);
  fe_cmov(y, neg_y, fe_is_negative(t));
  fe_sub(t, p->Z, y);
  fe_mul(t, den_inv, t);
  fe_abs(t, t);
  fe_tobytes(s, t);
}

static int ristretto_decode(ge_p3 *p, const uint8_t s_bytes[32]) {
  fe s, ss, u1, u2, u2_sqr, v, t, invsqrt, den_x, den_y;
  uint8_t check[32];
  fe_frombytes(s, s_bytes);
  fe_tobytes(check, s);
  if (memcmp(check, s_bytes, 32) != 0 || (s_bytes[0] & 1) != 0) return 0;
  static const fe one = {1, 0, 0, 0, 0};
  fe_sq(ss, s);
  fe_sub(u1, one, ss);
  fe_add(u2, one, ss);
  fe_sq(u2_sqr, u2);
  fe_sq(t, u1);
  fe_mul(t, t, fe_d);
  fe_neg(v, t);
  fe_sub(v, v, u2_sqr);
  fe_mul(t, v, u2_sqr);
  int was_square = fe_sqrt_ratio_m1(invsqrt, one, t);
  fe_mul(den_x, invsqrt, u2);
  fe_mul(den_y, invsqrt, den_x);
  fe_mul(den_y, den_y, v);
  fe_add(t, s, s);
  fe_mul(t, t, den_x);
  fe_abs(p->X, t);
  fe_mul(p->Y, u1, den_y);
  fe_one(p->Z);
  fe_mul(p->T, p->X, p->Y);
  return was_square && !fe_is_negative(p->T) && !fe_is_zero(p->Y);
}

int tx_sr25519_ristretto_roundtrip(uint8_t out[32], const uint8_t in[32]) {
  ge_p3 p;
  if (!ristretto_decode(&p, in)) return 0;
  ristretto_encode(out, &p);
  return 1;
}

/* ---------------------------------------------------------------- scalars mod l */

typedef uint64_t sc[5]; /* 52-bit limbs */
#define MASK52 ((1ULL << 52) - 1)

static const sc sc_l = {0x2631a5cf5d3edULL, 0xdea2f79cd6581ULL, 0x000000014def9ULL, 0,
                        0x0100000000000ULL};
static const uint64_t sc_lfactor = 0x51da312547e1bULL; /* -1/l mod 2^52 */
static const sc sc_r = {0xf48bd6721e6edULL, 0x3bab5ac67e45aULL, 0xfffffeb35e51bULL,
                        0xfffffffffffffULL, 0x00fffffffffffULL}; /* 2^260 mod l */
static const sc sc_rr = {0x9d265e952d13bULL, 0xd63c715bea69fULL, 0x5be65cb687604ULL,
                         0x3dceec73d217fULL, 0x009411b7c309aULL}; /* 2^520 mod l */

/* a - b, plus l when that borrows: exact for a, b < l, and reduces a < 2l when b = l. */
static void sc_sub(sc r, const sc a, const sc b) {
  uint64_t borrow = 0;
  for (int i = 0; i < 5; i++) {
    borrow = a[i] - (b[i] + (borrow >> 63));
    r[i] = borrow & MASK52;
  }
  uint64_t mask = (uint64_t)0 - (borrow >> 63);
  uint64_t carry = 0;
  for (int i = 0; i < 5; i++) {
    carry = (carry >> 52) + r[i] + (sc_l[i] & mask);
    r[i] = carry & MASK52;
  }
}

static void sc_add(sc r, const sc a, const sc b) {
  sc sum;
  uint64_t carry = 0;
  for (int i = 0; i < 5; i++) {
    carry = a[i] + b[i] + (carry >> 52);
    sum[i] = carry & MASK52;
  }
  sc_sub(r, sum, sc_l);
}

/* a*b/2^260 mod l, for a*b < l*2^260. */
static void sc_montmul(sc r, const sc a, const sc b) {
  u128 t[10] = {0};
  for (int i = 0; i < 5; i++) {
    for (int j = 0; j < 5; j++) t[i + j] += (u128)a[i] * b[j];
  }
  for (int i = 0; i < 5; i++) {
    uint64_t n = ((uint64_t)t[i] * sc_lfactor) & MASK52;
    for (int j = 0; j < 5; j++) t[i + j] += (u128)n * sc_l[j];
    t[i + 1] += t[i] >> 52;
  }
  sc q;
  for (int k = 5; k < 9; k++) {
    t[k + 1] += t[k] >> 52;
    q[k - 5] = (uint64_t)t[k] & MASK52;
  }
  q[4] = (uint64_t)t[9];
  sc_sub(r, q, sc_l);
}

static void sc_mul(sc r, const sc a, const sc b) {
  sc t;
  sc_montmul(t, a, b);
  sc_montmul(r, t, sc_rr);
}

/* `len` bits of the little-endian words `w` from bit `pos` (len <= 52). */
static uint64_t bits_at(const uint64_t *w, int nwords, int pos, int len) {
  int idx = pos / 64, off = pos % 64;
  uint64_t v = w[idx] >> off;
  if (off + len > 64 && idx + 1 < nwords) v |= w[idx + 1] << (64 - off);
  return v & ((1ULL << len) - 1);
}

void tx_sr25519_scalar_reduce_wide(uint8_t out[32], const uint8_t in[64]) {
  uint64_t w[8];
  sc lo, hi;
  for (int i = 0; i < 8; i++) w[i] = load64(in + 8 * i);
  for (int i = 0; i < 5; i++) {
    lo[i] = bits_at(w, 8, 52 * i, 52);
    hi[i] = bits_at(w, 8, 260 + 52 * i, i < 4 ? 52 : 44);
  }
  sc_montmul(lo, lo, sc_r);
  sc_montmul(hi, hi, sc_rr);
  sc r;
  sc_add(r, lo, hi);
  uint64_t o[4] = {r[0] | (r[1] << 52), (r[1] >> 12) | (r[2] << 40), (r[2] >> 24) | (r[3] << 28),
                   (r[3] >> 36) | (r[4] << 16)};
  for (int i = 0; i < 4; i++) store64(out + 8 * i, o[i]);
}

static void sc_from_bytes32(sc r, const uint8_t in[32]) {
  uint64_t w[4];
  for (int i = 0; i < 4; i++) w[i] = load64(in + 8 * i);
  for (int i = 0; i < 5; i++) r[i] = bits_at(w, 4, 52 * i, i < 4 ? 52 : 48);
}

static void sc_reduce_into(sc r, const uint8_t wide[64]) {
  uint8_t b[32];
  tx_sr25519_scalar_reduce_wide(b, wide);
  sc_from_bytes32(r, b);
}

static void sc_to_bytes(uint8_t out[32], const sc r) {
  uint64_t o[4] = {r[0] | (r[1] << 52), (r[1] >> 12) | (r[2] << 40), (r[2] >> 24) | (r[3] << 28),
                   (r[3] >> 36) | (r[4] << 16)};
  for (int i = 0; i < 4; i++) store64(out + 8 * i, o[i]);
}

static int sc_is_canonical(const uint8_t in[32]) {
  sc a;
  sc_from_bytes32(a, in);
  uint64_t borrow = 0;
  for (int i = 0; i < 5; i++) borrow = a[i] - (sc_l[i] + (borrow >> 63));
  return (int)(borrow >> 63);
}

/* ---------------------------------------------------------------- scalar multiplication */

struct tx_sr25519_context {
  struct ge_precomp base[32][8]; /* base[i][j] = (j + 1) * 256^i * B */
  struct ge_precomp base_odd[64]; /* (2j + 1) * B, for the width-8 wNAF of verification */
  struct ge_precomp base_high_odd[64]; /* (2j + 1) * 2^128 * B */
  strobe substrate;               /* the transcript after the "substrate" signing context */
};

static void precomp_cmov(struct ge_precomp *t, const struct ge_precomp *u, int flag) {
  fe_cmov(t->yplusx, u->yplusx, flag);
  fe_cmov(t->yminusx, u->yminusx, flag);
  fe_cmov(t->xy2d, u->xy2d, flag);
}

/* Constant-time t = digit * 256^pos * B for digit in [-8, 8]. */
static void select_base(struct ge_precomp *t, const tx_sr25519_context *ctx, int pos,
                        int8_t digit) {
  uint8_t negative = (uint8_t)((uint8_t)digit >> 7);
  uint8_t absolute = (uint8_t)(digit - (((uint8_t)(0 - negative) & (uint8_t)digit) << 1));
  fe_one(t->yplusx);
  fe_one(t->yminusx);
  fe_zero(t->xy2d);
  for (int j = 0; j < 8; j++) {
    precomp_cmov(t, &ctx->base[pos][j], ((uint32_t)(absolute ^ (j + 1)) - 1) >> 31);
  }
  struct ge_precomp minus;
  fe_copy(minus.yplusx, t->yminusx);
  fe_copy(minus.yminusx, t->yplusx);
  fe_neg(minus.xy2d, t->xy2d);
  precomp_cmov(t, &minus, negative);
}

/* a*B for a secret a < 2^255, in constant time: signed radix-16 digits, the odd ones summed
 * first and the total multiplied by 16, so one table row serves two digits. */
static void ge_scalarmult_base(ge_p3 *h, const tx_sr25519_context *ctx, const uint8_t a[32]) {
  int8_t e[64];
  for (int i = 0; i < 32; i++) {
    e[2 * i] = (int8_t)(a[i] & 15);
    e[2 * i + 1] = (int8_t)(a[i] >> 4);
  }
  int8_t carry = 0;
  for (int i = 0; i < 63; i++) {
    e[i] = (int8_t)(e[i] + carry);
    carry = (int8_t)((e[i] + 8) >> 4);
    e[i] = (int8_t)(e[i] - carry * 16);
  }
  e[63] = (int8_t)(e[63] + carry);
  ge_p1p1 r;
  ge_p2 s;
  struct ge_precomp t;
  ge_identity(h);
  for (int i = 1; i < 64; i += 2) {
    select_base(&t, ctx, i / 2, e[i]);
    ge_madd(&r, h, &t, 0);
    ge_to_p3(h, &r);
  }
  ge_dbl_p3(&r, h);
  for (int k = 0; k < 3; k++) {
    ge_to_p2(&s, &r);
    ge_dbl(&r, &s);
  }
  ge_to_p3(h, &r);
  for (int i = 0; i < 64; i += 2) {
    select_base(&t, ctx, i / 2, e[i]);
    ge_madd(&r, h, &t, 0);
    ge_to_p3(h, &r);
  }
}

/* Width-w non-adjacent form of a scalar < 2^255: odd digits below 2^(w-1) in magnitude, at
 * least w - 1 zeros between nonzero ones. */
static void wnaf(int8_t naf[256], const uint8_t a[32], int w) {
  uint64_t x[5] = {load64(a), load64(a + 8), load64(a + 16), load64(a + 24), 0};
  int width = 1 << w, mask = width - 1, carry = 0;
  memset(naf, 0, 256);
  for (int pos = 0; pos < 256;) {
    int window = carry + (int)(bits_at(x, 5, pos, w) & (uint64_t)mask);
    if ((window & 1) == 0) {
      pos++;
      continue;
    }
    if (window < width / 2) {
      carry = 0;
      naf[pos] = (int8_t)window;
    } else {
      carry = 1;
      naf[pos] = (int8_t)(window - width);
    }
    pos += w;
  }
}

/* A public key ready for verification. Splitting each scalar at bit 128 halves the doublings
 * of the double-scalar multiplication; the price is 2^128*A, which callers that verify the same
 * key repeatedly pay once (see tx_sr25519_verify_prepared). */
typedef struct {
  uint8_t key[32];
  uint64_t status;         /* 0: empty slot, 1: valid key, 2: not a Ristretto255 encoding */
  ge_cached low[8];        /* (2j + 1) * A */
  ge_cached high[8];       /* (2j + 1) * 2^128 * A */
} prepared_key;

static void odd_multiples(ge_cached out[8], const ge_p3 *P) {
  ge_p1p1 t;
  ge_p3 u, p2;
  ge_cached twice;
  ge_dbl_p3(&t, P);
  ge_to_p3(&p2, &t);
  ge_to_cached(&twice, &p2);
  ge_to_cached(&out[0], P);
  u = *P;
  for (int j = 1; j < 8; j++) {
    ge_add_cached(&t, &u, &twice, 0);
    ge_to_p3(&u, &t);
    ge_to_cached(&out[j], &u);
  }
}

static void times_2_128(ge_p3 *out, const ge_p3 *P) {
  ge_p1p1 t;
  ge_p2 r;
  ge_dbl_p3(&t, P);
  for (int i = 1; i < 128; i++) {
    ge_to_p2(&r, &t);
    ge_dbl(&t, &r);
  }
  ge_to_p3(out, &t);
}

static void prepare_key(prepared_key *key, const uint8_t public_key[32]) {
  ge_p3 A, high;
  memset(key, 0, sizeof *key);
  memcpy(key->key, public_key, 32);
  key->status = 2;
  if (!ristretto_decode(&A, public_key)) return;
  odd_multiples(key->low, &A);
  times_2_128(&high, &A);
  odd_multiples(key->high, &high);
  key->status = 1;
}

/* The two 128-bit halves of a scalar, each as a 32-byte scalar. */
static void split_128(uint8_t low[32], uint8_t high[32], const uint8_t a[32]) {
  memset(low, 0, 32);
  memset(high, 0, 32);
  memcpy(low, a, 16);
  memcpy(high, a + 16, 16);
}

/* s*B - k*A, variable time (public inputs only). */
static void ge_double_scalarmult_vartime(ge_p3 *out, const tx_sr25519_context *ctx,
                                         const uint8_t k[32], const prepared_key *key,
                                         const uint8_t s[32]) {
  uint8_t half[4][32];
  int8_t naf[4][256];
  split_128(half[0], half[1], k);
  split_128(half[2], half[3], s);
  wnaf(naf[0], half[0], 5);
  wnaf(naf[1], half[1], 5);
  wnaf(naf[2], half[2], 8);
  wnaf(naf[3], half[3], 8);
  int i = 255;
  while (i >= 0 && naf[0][i] == 0 && naf[1][i] == 0 && naf[2][i] == 0 && naf[3][i] == 0) i--;
  ge_identity(out);
  if (i < 0) return;
  ge_p1p1 t;
  ge_p3 u;
  ge_p2 r;
  fe_copy(r.X, out->X);
  fe_copy(r.Y, out->Y);
  fe_copy(r.Z, out->Z);
  for (; i >= 0; i--) {
    ge_dbl(&t, &r);
    /* k*A is subtracted: a positive digit of k subtracts */
    for (int h = 0; h < 2; h++) {
      int digit = naf[h][i];
      if (digit == 0) continue;
      ge_to_p3(&u, &t);
      ge_add_cached(&t, &u, h == 0 ? &key->low[abs(digit) / 2] : &key->high[abs(digit) / 2],
                    digit > 0);
    }
    for (int h = 0; h < 2; h++) {
      int digit = naf[2 + h][i];
      if (digit == 0) continue;
      ge_to_p3(&u, &t);
      ge_madd(&t, &u, h == 0 ? &ctx->base_odd[abs(digit) / 2] : &ctx->base_high_odd[abs(digit) / 2],
              digit < 0);
    }
    ge_to_p2(&r, &t);
  }
  ge_to_p3(out, &t);
}

/* The encoding of the Ristretto255 generator; its decoded representative generates the
 * tables (any representative of the coset gives the same encodings of every multiple). */
static const uint8_t ristretto_basepoint[32] = {
    0xe2, 0xf2, 0xae, 0x0a, 0x6a, 0xbc, 0x4e, 0x71, 0xa8, 0x84, 0xa9, 0x61, 0xc5, 0x00, 0x51, 0x5f,
    0x58, 0xe3, 0x0b, 0x6a, 0xa5, 0x82, 0xdd, 0x8d, 0xb6, 0xa6, 0x59, 0x45, 0xe0, 0x8d, 0x2d, 0x76};

static void odd_base_multiples(struct ge_precomp out[64], const ge_p3 *P) {
  ge_p1p1 t;
  ge_p3 p, twice;
  ge_cached c;
  ge_dbl_p3(&t, P);
  ge_to_p3(&twice, &t);
  ge_to_cached(&c, &twice);
  p = *P;
  for (int j = 0; j < 64; j++) {
    ge_to_precomp(&out[j], &p);
    ge_add_cached(&t, &p, &c, 0);
    ge_to_p3(&p, &t);
  }
}

tx_sr25519_context *tx_sr25519_context_new(void) {
  tx_sr25519_context *ctx = malloc(sizeof *ctx);
  if (ctx == NULL) return NULL;
  ge_p3 B, row, p;
  ge_p1p1 t;
  ge_cached c;
  ristretto_decode(&B, ristretto_basepoint);
  row = B;
  for (int i = 0; i < 32; i++) {
    ge_to_cached(&c, &row);
    p = row;
    for (int j = 0; j < 8; j++) {
      ge_to_precomp(&ctx->base[i][j], &p);
      ge_add_cached(&t, &p, &c, 0);
      ge_to_p3(&p, &t);
    }
    /* p = 9 * row now; the next row is 256 * row */
    for (int k = 0; k < 8; k++) {
      ge_dbl_p3(&t, &row);
      ge_to_p3(&row, &t);
    }
  }
  odd_base_multiples(ctx->base_odd, &B);
  times_2_128(&row, &B);
  odd_base_multiples(ctx->base_high_odd, &row);
  merlin_init(&ctx->substrate, "SigningContext");
  merlin_append(&ctx->substrate, "", (const uint8_t *)"substrate", 9);
  return ctx;
}

void tx_sr25519_context_free(tx_sr25519_context *ctx) { free(ctx); }

/* ---------------------------------------------------------------- sr25519 */

static void secret_scalar(sc x, uint8_t bytes[32], const uint8_t secret[64]) {
  uint8_t wide[64] = {0};
  memcpy(wide, secret, 32);
  sc_reduce_into(x, wide);
  sc_to_bytes(bytes, x);
}

void tx_sr25519_public_key(const tx_sr25519_context *ctx, const uint8_t secret[64],
                           uint8_t public_key[32]) {
  sc x;
  uint8_t xb[32];
  ge_p3 P;
  secret_scalar(x, xb, secret);
  ge_scalarmult_base(&P, ctx, xb);
  ristretto_encode(public_key, &P);
}

/* The transcript up to the challenge: context "substrate", the message, protocol and key. */
static void signing_transcript(strobe *t, const tx_sr25519_context *ctx,
                               const uint8_t public_key[32], const uint8_t *message,
                               size_t length) {
  *t = ctx->substrate;
  merlin_append(t, "sign-bytes", message, length);
  merlin_append(t, "proto-name", (const uint8_t *)"Schnorr-sig", 11);
  merlin_append(t, "sign:pk", public_key, 32);
}

static void challenge(sc k, uint8_t kb[32], strobe *t, const uint8_t R[32]) {
  uint8_t wide[64];
  merlin_append(t, "sign:R", R, 32);
  merlin_challenge(t, "sign:c", wide, 64);
  sc_reduce_into(k, wide);
  sc_to_bytes(kb, k);
}

void tx_sr25519_sign(const tx_sr25519_context *ctx, const uint8_t public_key[32],
                     const uint8_t secret[64], const uint8_t *message, size_t length,
                     const uint8_t random[32], uint8_t signature[64]) {
  strobe t, rng;
  signing_transcript(&t, ctx, public_key, message, length);
  /* Merlin's witness rng: a fork of the transcript keyed with the nonce, then the randomness. */
  rng = t;
  merlin_frame(&rng, "signing", 32);
  strobe_key(&rng, secret + 32, 32);
  strobe_meta_ad(&rng, (const uint8_t *)"rng", 3, 0);
  strobe_key(&rng, random, 32);
  uint8_t wide[64], le[4] = {64, 0, 0, 0};
  strobe_meta_ad(&rng, le, 4, 0);
  strobe_prf(&rng, wide, 64);
  sc r, x, k, s;
  uint8_t rb[32], xb[32], kb[32];
  sc_reduce_into(r, wide);
  sc_to_bytes(rb, r);
  ge_p3 R;
  ge_scalarmult_base(&R, ctx, rb);
  ristretto_encode(signature, &R);
  challenge(k, kb, &t, signature);
  secret_scalar(x, xb, secret);
  sc_mul(s, k, x);
  sc_add(s, s, r);
  sc_to_bytes(signature + 32, s);
  signature[63] |= 0x80;
  memset(&rng, 0, sizeof rng);
  memset(wide, 0, sizeof wide);
  memset(rb, 0, sizeof rb);
  memset(xb, 0, sizeof xb);
  memset(r, 0, sizeof(sc));
  memset(x, 0, sizeof(sc));
}

/* s from the signature, when it carries the marker and is canonical. */
static int signature_scalar(uint8_t sb[32], const uint8_t signature[64]) {
  if ((signature[63] & 0x80) == 0) return 0;
  memcpy(sb, signature + 32, 32);
  sb[31] &= 0x7f;
  return sc_is_canonical(sb);
}

static int verify_with(const tx_sr25519_context *ctx, const prepared_key *key,
                       const uint8_t *message, size_t length, const uint8_t signature[64],
                       const uint8_t sb[32]) {
  if (key->status != 1) return 0;
  strobe t;
  signing_transcript(&t, ctx, key->key, message, length);
  sc k;
  uint8_t kb[32], encoded[32];
  challenge(k, kb, &t, signature);
  ge_p3 P;
  ge_double_scalarmult_vartime(&P, ctx, kb, key, sb);
  ristretto_encode(encoded, &P);
  return memcmp(encoded, signature, 32) == 0;
}

int tx_sr25519_verify(const tx_sr25519_context *ctx, const uint8_t public_key[32],
                      const uint8_t *message, size_t length, const uint8_t signature[64]) {
  uint8_t sb[32];
  if (!signature_scalar(sb, signature)) return 0;
  prepared_key key;
  prepare_key(&key, public_key);
  return verify_with(ctx, &key, message, length, signature, sb);
}

size_t tx_sr25519_prepared_size(void) { return sizeof(prepared_key); }

int tx_sr25519_verify_prepared(const tx_sr25519_context *ctx, uint8_t *prepared,
                               const uint8_t public_key[32], const uint8_t *message,
                               size_t length, const uint8_t signature[64]) {
  uint8_t sb[32];
  if (!signature_scalar(sb, signature)) return 0;
  /* copied, not cast: the caller's bytes carry no alignment guarantee */
  prepared_key key;
  memcpy(&key, prepared, sizeof key);
  if (key.status == 0 || memcmp(key.key, public_key, 32) != 0) {
    prepare_key(&key, public_key);
    memcpy(prepared, &key, sizeof key);
  }
  return verify_with(ctx, &key, message, length, signature, sb);
}
