#include "rtp_packet.h"

#include "byte_order.h"

namespace echo {

namespace {
constexpr uint16_t kOneByteProfile = 0xBEDE;
constexpr uint16_t kTwoByteProfileMask = 0xFFF0;
constexpr uint16_t kTwoByteProfile = 0x1000;
}  // namespace

bool parseRtpHeader(const uint8_t* data, size_t size, RtpHeader& header) {
  if (size < 12 || (data[0] >> 6) != 2) return false;
  const size_t csrcCount = data[0] & 0x0F;
  const bool hasExtension = (data[0] & 0x10) != 0;
  header.marker = (data[1] & 0x80) != 0;
  header.payloadType = data[1] & 0x7F;
  header.sequence = load16(data + 2);
  header.timestamp = load32(data + 4);
  header.ssrc = load32(data + 8);
  size_t offset = 12 + 4 * csrcCount;
  header.extensionProfile = 0;
  header.extensionOffset = 0;
  header.extensionSize = 0;
  if (hasExtension) {
    if (offset + 4 > size) return false;
    header.extensionProfile = load16(data + offset);
    const size_t words = load16(data + offset + 2);
    header.extensionOffset = offset + 4;
    header.extensionSize = 4 * words;
    offset += 4 + 4 * words;
  }
  if (offset > size) return false;
  header.headerSize = offset;
  return true;
}

bool findHeaderExtension(const uint8_t* data, const RtpHeader& header, uint8_t id, const uint8_t** value,
                         size_t* valueSize) {
  if (header.extensionSize == 0 || id == 0) return false;
  const uint8_t* p = data + header.extensionOffset;
  const uint8_t* end = p + header.extensionSize;
  if (header.extensionProfile == kOneByteProfile) {
    if (id > 14) return false;
    while (p < end) {
      const uint8_t elementId = *p >> 4;
      if (elementId == 0) {  // padding
        p++;
        continue;
      }
      if (elementId == 15) return false;  // RFC 8285 §4.2: stop processing
      const size_t length = static_cast<size_t>(*p & 0x0F) + 1;
      p++;
      if (length > static_cast<size_t>(end - p)) return false;
      if (elementId == id) {
        *value = p;
        *valueSize = length;
        return true;
      }
      p += length;
    }
    return false;
  }
  if ((header.extensionProfile & kTwoByteProfileMask) == kTwoByteProfile) {
    while (p < end) {
      const uint8_t elementId = *p;
      if (elementId == 0) {  // padding
        p++;
        continue;
      }
      if (end - p < 2) return false;
      const size_t length = p[1];
      p += 2;
      if (length > static_cast<size_t>(end - p)) return false;
      if (elementId == id) {
        *value = p;
        *valueSize = length;
        return true;
      }
      p += length;
    }
  }
  return false;
}

}  // namespace echo
