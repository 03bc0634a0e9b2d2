// A publisher's RTP packet rewritten for one viewer (WHEP playback), as src/rtp/forward.ts
// does it for the JavaScript engines: the viewer's payload type, SSRC and sequence number, and
// the header extensions replaced by the viewer's mid alone (or none). Timestamp, marker, CSRCs,
// payload and padding stay as the publisher sent them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "rtp_packet.h"

namespace echo {

struct ForwardRewrite {
  uint8_t payloadType = 0;
  uint32_t ssrc = 0;
  uint16_t sequence = 0;
  /** The viewer's id for the mid extension (RFC 8843 §15), 0 for none; one-byte form: 1-14. */
  uint8_t midExtensionId = 0;
  /** The viewer's mid, 1-16 bytes to fit a one-byte element (longer: no extension written). */
  const std::string* mid = nullptr;
};

/**
 * Writes the viewer's copy of `packet` (plain RTP whose header `header` describes) into `out`;
 * its size, 0 when it does not fit in `capacity`. `headerSize` is set to the copy's header size.
 * Extensions are replaced, not kept: their ids are the publisher's negotiation, and the same id
 * can mean another extension to the viewer.
 */
size_t forwardRtp(const uint8_t* packet, size_t size, const RtpHeader& header, const ForwardRewrite& rewrite,
                  uint8_t* out, size_t capacity, size_t& headerSize);

}  // namespace echo
