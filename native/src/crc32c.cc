#include "crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define ECHO_CRC32C_SSE42 1
#else
#define ECHO_CRC32C_SSE42 0
#endif

namespace echo {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78;  // reflected 0x1EDC6F41

std::array<uint32_t, 256> makeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ ((crc & 1) ? kPolynomial : 0);
    table[i] = crc;
  }
  return table;
}

uint32_t crc32cTable(uint32_t crc, const uint8_t* data, size_t size) {
  static const std::array<uint32_t, 256> table = makeTable();
  for (size_t i = 0; i < size; i++) crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
  return crc;
}

#if ECHO_CRC32C_SSE42
__attribute__((target("sse4.2"))) uint32_t crc32cSse42(uint32_t crc, const uint8_t* data, size_t size) {
  uint64_t wide = crc;
  for (; size >= 8; size -= 8, data += 8) {
    uint64_t word;
    memcpy(&word, data, 8);
    wide = _mm_crc32_u64(wide, word);
  }
  crc = static_cast<uint32_t>(wide);
  for (; size > 0; size--, data++) crc = _mm_crc32_u8(crc, *data);
  return crc;
}

bool haveSse42() {
  static const bool have = __builtin_cpu_supports("sse4.2");
  return have;
}
#endif

/** The running CRC (not yet inverted) after `data`. */
uint32_t crc32cUpdate(uint32_t crc, const uint8_t* data, size_t size) {
#if ECHO_CRC32C_SSE42
  if (haveSse42()) return crc32cSse42(crc, data, size);
#endif
  return crc32cTable(crc, data, size);
}

}  // namespace

uint32_t crc32c(const uint8_t* data, size_t size) { return ~crc32cUpdate(0xFFFFFFFF, data, size); }

uint32_t crc32cPortable(const uint8_t* data, size_t size) { return ~crc32cTable(0xFFFFFFFF, data, size); }

bool sealSctpPacket(uint8_t* packet, size_t size) {
  if (size < 12) return false;
  memset(packet + 8, 0, 4);
  const uint32_t crc = crc32c(packet, size);
  packet[8] = static_cast<uint8_t>(crc);
  packet[9] = static_cast<uint8_t>(crc >> 8);
  packet[10] = static_cast<uint8_t>(crc >> 16);
  packet[11] = static_cast<uint8_t>(crc >> 24);
  return true;
}

bool sctpChecksumValid(const uint8_t* packet, size_t size) {
  if (size < 12) return false;
  static const uint8_t kZeroField[4] = {};
  uint32_t crc = crc32cUpdate(0xFFFFFFFF, packet, 8);
  crc = crc32cUpdate(crc, kZeroField, 4);
  crc = ~crc32cUpdate(crc, packet + 12, size - 12);
  const uint32_t stored = static_cast<uint32_t>(packet[8]) | static_cast<uint32_t>(packet[9]) << 8 |
                          static_cast<uint32_t>(packet[10]) << 16 | static_cast<uint32_t>(packet[11]) << 24;
  return crc == stored;
}

}  // namespace echo
