// A bounded reader of RTP headers (RFC 3550 §5.1) and their header extensions (RFC 8285),
// over bytes that came from the network: every offset is checked before it is read.
#pragma once

#include <cstddef>
#include <cstdint>

namespace echo {

struct RtpHeader {
  bool marker = false;
  uint8_t payloadType = 0;
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  /** Bytes before the payload: fixed header, CSRCs and the extension block. */
  size_t headerSize = 0;
  /** The extension block's profile (0xBEDE one-byte, 0x100X two-byte) and body, if any. */
  uint16_t extensionProfile = 0;
  size_t extensionOffset = 0;
  size_t extensionSize = 0;
};

/** False unless `data` starts with a whole version-2 RTP header. */
bool parseRtpHeader(const uint8_t* data, size_t size, RtpHeader& header);

/**
 * The value of header extension element `id` (RFC 8285 one- or two-byte form), or false.
 * `data` is the packet `header` was parsed from.
 */
bool findHeaderExtension(const uint8_t* data, const RtpHeader& header, uint8_t id, const uint8_t** value,
                         size_t* valueSize);

}  // namespace echo
