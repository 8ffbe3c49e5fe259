/* CRC32 of the profiler protocol: IEEE 802.3, as zlib's crc32() computes it.
 *
 * Polynomial 0xEDB88320 (reflected), initial value and final xor 0xFFFFFFFF. Incremental use:
 *
 *     uint32_t crc = TN_CRC32_INIT;
 *     crc = tn_crc32_update(crc, part1, size1);
 *     crc = tn_crc32_update(crc, part2, size2);
 *     value = tn_crc32_final(crc);
 *
 * Portable C99, no dependencies. */
#ifndef TINYNAS_CRC32_H
#define TINYNAS_CRC32_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TN_CRC32_INIT 0xFFFFFFFFUL

/* Fold `size` bytes of `data` into a running CRC (start from TN_CRC32_INIT). */
uint32_t tn_crc32_update(uint32_t crc, const uint8_t *data, uint32_t size);

/* The CRC32 value of a running CRC (the final xor). */
uint32_t tn_crc32_final(uint32_t crc);

/* CRC32 of one buffer. */
uint32_t tn_crc32(const uint8_t *data, uint32_t size);

#ifdef __cplusplus
}
#endif

#endif /* TINYNAS_CRC32_H */
