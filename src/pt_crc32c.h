/* pt_crc32c: CRC-32C for dump files (internal). */
#ifndef PT_CRC32C_H
#define PT_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * CRC-32C (Castagnoli, reflected, polynomial 0x82F63B78, as in iSCSI and
 * ext4) of data[0..len), continuing from crc (0 to start): chaining two
 * calls gives the CRC of the concatenation.  Thread-safety: safe.
 */
uint32_t pt__crc32c(uint32_t crc, const void *data, size_t len);

#endif /* PT_CRC32C_H */
