/* sr25519 internals exposed for the C tests only. */
#ifndef TAOS_SR25519_INTERNAL_H
#define TAOS_SR25519_INTERNAL_H

#include <stdint.h>

/* A 512-bit little-endian integer mod l, canonical 32 bytes. */
void tx_sr25519_scalar_reduce_wide(uint8_t out[32], const uint8_t in[64]);

/* Decodes a Ristretto255 encoding and encodes the point again; 0 for an invalid encoding. */
int tx_sr25519_ristretto_roundtrip(uint8_t out[32], const uint8_t in[32]);

#endif
