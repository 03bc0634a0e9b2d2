// RFC 7983 §7: what a datagram on a WebRTC 5-tuple is, by its first byte (and, for RTP and
// RTCP, RFC 5761 §4: the second byte, since RTCP packet types 192-223 are not RTP payload types).
#pragma once

#include <cstddef>
#include <cstdint>

namespace echo {

enum class PacketKind : uint8_t { Stun, Dtls, Rtp, Rtcp, Other };

constexpr size_t kStunHeaderSize = 20;
constexpr size_t kRtpMinSize = 12;
constexpr size_t kRtcpMinSize = 8;

inline PacketKind classify(const uint8_t* data, size_t size) {
  if (size == 0) return PacketKind::Other;
  const uint8_t first = data[0];
  if (first <= 3) return size >= kStunHeaderSize ? PacketKind::Stun : PacketKind::Other;
  if (first >= 20 && first <= 63) return PacketKind::Dtls;
  if (first >= 128 && first <= 191) {
    if (size < kRtcpMinSize) return PacketKind::Other;
    const uint8_t type = data[1];
    if (type >= 192 && type <= 223) return PacketKind::Rtcp;
    return size >= kRtpMinSize ? PacketKind::Rtp : PacketKind::Other;
  }
  // 16-19 ZRTP, 64-79 TURN channels: not ours.
  return PacketKind::Other;
}

}  // namespace echo
