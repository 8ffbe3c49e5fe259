/* CRC32 (IEEE 802.3, zlib's) with a 16-entry table: two lookups per byte, 64 bytes of flash.
 * A 256-entry table would be about twice as fast but costs 1 KB; the CRC runs once per model
 * and once per upload frame, far from the timed region. */
#include "crc32.h"

/* k_nibble[n] = CRC of the 4-bit value n, polynomial 0xEDB88320 (reflected) */
static const uint32_t k_nibble[16] = {
    0x00000000UL, 0x1DB71064UL, 0x3B6E20C8UL, 0x26D930ACUL,
    0x76DC4190UL, 0x6B6B51F4UL, 0x4DB26158UL, 0x5005713CUL,
    0xEDB88320UL, 0xF00F9344UL, 0xD6D6A3E8UL, 0xCB61B38CUL,
    0x9B64C2B0UL, 0x86D3D2D4UL, 0xA00AE278UL, 0xBDBDF21CUL,
};

uint32_t tn_crc32_update(uint32_t crc, const uint8_t *data, uint32_t size)
{
    while (size-- > 0u) {
        crc ^= *data++;
        crc = (crc >> 4) ^ k_nibble[crc & 0x0Fu];
        crc = (crc >> 4) ^ k_nibble[crc & 0x0Fu];
    }
    return crc;
}

uint32_t tn_crc32_final(uint32_t crc)
{
    return crc ^ 0xFFFFFFFFUL;
}

uint32_t tn_crc32(const uint8_t *data, uint32_t size)
{
    return tn_crc32_final(tn_crc32_update(TN_CRC32_INIT, data, size));
}
