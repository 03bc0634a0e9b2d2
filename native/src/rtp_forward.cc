#include "rtp_forward.h"

#include <cstring>

#include "byte_order.h"

namespace echo {

size_t forwardRtp(const uint8_t* packet, size_t size, const RtpHeader& header, const ForwardRewrite& rewrite,
                  uint8_t* out, size_t capacity, size_t& headerSize) {
  const size_t fixed = 12 + 4 * static_cast<size_t>(packet[0] & 0x0F);
  if (fixed > size || header.headerSize > size || header.headerSize < fixed) return 0;
  const bool withMid = rewrite.midExtensionId >= 1 && rewrite.midExtensionId <= 14 && rewrite.mid &&
                       !rewrite.mid->empty() && rewrite.mid->size() <= 16;
  // One-byte form (RFC 8285 §4.2): 0xBEDE, length in words, then id|len-1 and the mid, padded.
  const size_t element = withMid ? 1 + rewrite.mid->size() : 0;
  const size_t extension = withMid ? 4 + (element + 3) / 4 * 4 : 0;
  const size_t payload = size - header.headerSize;
  const size_t total = fixed + extension + payload;
  if (total > capacity) return 0;
  memcpy(out, packet, fixed);
  out[0] = static_cast<uint8_t>(withMid ? (out[0] | 0x10) : (out[0] & ~0x10));
  out[1] = static_cast<uint8_t>((packet[1] & 0x80) | (rewrite.payloadType & 0x7F));
  store16(out + 2, rewrite.sequence);
  store32(out + 8, rewrite.ssrc);
  if (withMid) {
    uint8_t* block = out + fixed;
    memset(block, 0, extension);
    store16(block, 0xBEDE);
    store16(block + 2, static_cast<uint16_t>((extension - 4) / 4));
    block[4] = static_cast<uint8_t>((rewrite.midExtensionId << 4) | (rewrite.mid->size() - 1));
    memcpy(block + 5, rewrite.mid->data(), rewrite.mid->size());
  }
  if (payload > 0) memcpy(out + fixed + extension, packet + header.headerSize, payload);
  headerSize = fixed + extension;
  return total;
}

}  // namespace echo
