// libFuzzer target: the RTP header parser and RFC 8285 header extension lookup (one- and
// two-byte forms), for every extension id.
#include <cstddef>
#include <cstdint>

#include "../src/rtp_packet.h"

using namespace echo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  RtpHeader header;
  if (!parseRtpHeader(data, size, header)) return 0;
  if (header.headerSize > size) __builtin_trap();
  for (int id = 0; id < 256; id++) {
    const uint8_t* value = nullptr;
    size_t valueSize = 0;
    if (!findHeaderExtension(data, header, static_cast<uint8_t>(id), &value, &valueSize)) continue;
    if (value < data || value + valueSize > data + header.headerSize) __builtin_trap();
  }
  return 0;
}
