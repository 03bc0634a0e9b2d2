// CRC32c (Castagnoli, RFC 9260 Appendix A), the checksum of every SCTP packet: with the SSE 4.2
// instruction where the processor has it (one 8-byte step per cycle or so), else a table.
#pragma once

#include <cstddef>
#include <cstdint>

namespace echo {

uint32_t crc32c(const uint8_t* data, size_t size);
/** The table's answer whatever the processor has: for the vector test to hold both paths to RFC 3720. */
uint32_t crc32cPortable(const uint8_t* data, size_t size);

/**
 * Writes an SCTP packet's checksum (common header bytes 8-11, zero while it is computed, the CRC
 * stored least significant byte first as RFC 9260 Appendix A's reflected CRC comes out). False,
 * and nothing written, for fewer than the common header's 12 bytes.
 */
bool sealSctpPacket(uint8_t* packet, size_t size);

/**
 * True when an SCTP packet of at least the common header's 12 bytes carries its CRC32c (computed
 * with the checksum field as zero, as sealSctpPacket writes it); the packet is not changed.
 */
bool sctpChecksumValid(const uint8_t* packet, size_t size);

}  // namespace echo
