// libFuzzer target: the echo after authentication. The input is a plain RTP or RTCP packet
// (or a run of them) that the target protects with the client's keys first, so everything
// behind the SRTP check runs on attacker-chosen bytes: section mapping by SSRC, mid extension
// and payload type, the SSRC rewrite and sequence epochs, and the RTCP relay, which rewrites
// compound packets in place and must leave well-formed RTCP that decrypts with the echo's keys.
// Playback (WHEP) too: a section that is taken but not echoed (a publisher's) hands each packet
// to the viewer rewrite (rtp_forward.h), whose copy must parse and carry the payload unchanged;
// a played section (a viewer's) turns PLI, FIR and NACK about its SSRC into feedback; and the
// feedback written to a publisher's source must be well-formed SRTCP.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../src/byte_order.h"
#include "../src/demux.h"
#include "../src/media_echo.h"
#include "../src/rtp_forward.h"
#include "../src/rtp_packet.h"

using namespace echo;

namespace {

constexpr size_t kCapacity = 2048;

struct Events : MediaListener {
  uint8_t viewerMidId = 0;
  void onRtcpBye(const std::string& mid, uint32_t) override {
    if (mid.empty()) __builtin_trap();
  }
  void onRtpReceived(size_t section, const uint8_t* packet, size_t size, const RtpHeader& header,
                     uint64_t index) override {
    if (section > 3 || index >= (uint64_t{1} << 48)) __builtin_trap();
    // The copy a viewer would get: it parses, on the viewer's SSRC and payload type, with the
    // viewer's mid alone as its extension, and the payload byte for byte.
    static const std::string kViewerMid = "viewer-mid";
    ForwardRewrite rewrite;
    rewrite.payloadType = 100;
    rewrite.ssrc = 0xABCD;
    rewrite.sequence = static_cast<uint16_t>(index);
    rewrite.midExtensionId = viewerMidId;
    rewrite.mid = &kViewerMid;
    uint8_t copy[kCapacity];
    size_t headerSize = 0;
    const size_t size2 = forwardRtp(packet, size, header, rewrite, copy, sizeof(copy), headerSize);
    if (size2 == 0) return;
    RtpHeader parsed;
    if (!parseRtpHeader(copy, size2, parsed) || parsed.headerSize != headerSize || parsed.ssrc != 0xABCD ||
        parsed.payloadType != 100 || size2 - headerSize != size - header.headerSize ||
        memcmp(copy + headerSize, packet + header.headerSize, size - header.headerSize) != 0) {
      __builtin_trap();
    }
    const uint8_t* mid = nullptr;
    size_t midSize = 0;
    const bool found = findHeaderExtension(copy, parsed, viewerMidId, &mid, &midSize);
    if ((viewerMidId >= 1 && viewerMidId <= 14) != found) __builtin_trap();
    if (found && (midSize != kViewerMid.size() || memcmp(mid, kViewerMid.data(), midSize) != 0)) __builtin_trap();
  }
  void onFeedback(const std::string& mid, bool keyframe, const uint16_t*, size_t count) override {
    if (mid != "played" || (keyframe && count != 0) || count > 17 * 8) __builtin_trap();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static const SrtpProfile kProfiles[] = {SrtpProfile::AesCm128HmacSha1_80, SrtpProfile::AesCm128HmacSha1_32,
                                          SrtpProfile::AeadAes128Gcm};
  const SrtpProfile profile = kProfiles[data[0] % 3];
  const uint8_t midId = data[1] % 16;
  data += 2;
  size -= 2;
  uint8_t clientKey[32], echoKey[32];
  for (int i = 0; i < 32; i++) {
    clientKey[i] = static_cast<uint8_t>(i);
    echoKey[i] = static_cast<uint8_t>(255 - i);
  }
  SrtpCipher client, receiver;
  if (!client.init(profile, clientKey, clientKey + 16) || !receiver.init(profile, echoKey, echoKey + 16)) __builtin_trap();

  static SessionCounters counters;
  Events events;
  MediaConfig config;
  const char* mids[] = {"0", "1", "video"};
  for (int i = 0; i < 3; i++) {
    EchoSectionConfig section;
    section.mid = mids[i];
    section.echoSsrc = 0xE0 + i;
    for (int pt = 96 + i; pt < 128; pt += 3) section.payloadTypes.set(pt);
    section.payloadTypes.set(111);
    section.offeredSsrcs.push_back(0x1000 + i);
    // As werift offers it: the mid extension under a different id in one section.
    section.midExtensionId = i == 2 && midId != 0 ? static_cast<uint8_t>(midId % 14 + 1) : midId;
    // A publisher's section: taken and handed on, not echoed.
    section.echo = !(i == 1 && (midId & 1));
    config.sections.push_back(section);
  }
  {
    // A viewer's section: receives nothing, plays on 0xE3; feedback about it comes up.
    EchoSectionConfig played;
    played.mid = "played";
    played.echoSsrc = 0xE3;
    played.echo = false;
    config.sections.push_back(played);
  }
  events.viewerMidId = midId;
  MediaEcho echo(config, counters, events);
  if (!echo.setKeys(profile, clientKey, clientKey + 16, echoKey, echoKey + 16)) __builtin_trap();

  // The input is a run of packets, each prefixed by its 11-bit length.
  std::vector<uint8_t> buffer(kCapacity);
  uint32_t rtcpIndex = 0;
  while (size >= 2) {
    size_t length = ((static_cast<size_t>(data[0]) << 8) | data[1]) & 0x7FF;
    data += 2;
    size -= 2;
    if (length > size) length = size;
    if (length > 1400) length = 1400;
    memcpy(buffer.data(), data, length);
    data += length;
    size -= length;
    const PacketKind kind = classify(buffer.data(), length);
    size_t sealed = length;
    if (kind == PacketKind::Rtp) {
      RtpHeader header;
      if (!parseRtpHeader(buffer.data(), length, header)) continue;
      {
        // Played on the viewer's SSRC with the session's keys: it decrypts to what went in.
        std::vector<uint8_t> copy(buffer.begin(), buffer.begin() + length);
        copy.resize(kCapacity);
        const size_t played = echo.protectPlayed(copy.data(), length, kCapacity, header.headerSize, 0xE3, header.sequence);
        size_t plainSize = played;
        if (played > 0 && (!receiver.unprotectRtp(copy.data(), plainSize, header.headerSize, 0xE3, header.sequence) ||
                           plainSize != length || memcmp(copy.data() + header.headerSize, data - length + header.headerSize,
                                                         length - header.headerSize) != 0)) {
          __builtin_trap();
        }
      }
      if (!client.protectRtp(buffer.data(), sealed, kCapacity, header.headerSize, header.ssrc, header.sequence)) continue;
      const size_t out = echo.onRtp(buffer.data(), sealed, kCapacity);
      if (out == 0) continue;
      // An echo goes out on one of the echo SSRCs, as big as what came in.
      RtpHeader echoed;
      if (out != sealed || !parseRtpHeader(buffer.data(), out, echoed) || echoed.ssrc < 0xE0 || echoed.ssrc > 0xE2) {
        __builtin_trap();
      }
    } else if (kind == PacketKind::Rtcp) {
      if (!client.protectRtcp(buffer.data(), sealed, kCapacity, ++rtcpIndex)) continue;
      const size_t out = echo.onRtcp(buffer.data(), sealed, kCapacity);
      if (out == 0) continue;
      size_t plain = out;
      if (!receiver.unprotectRtcp(buffer.data(), plain)) __builtin_trap();
      // What the relay writes is well-formed: whole RTCP packets, version 2, lengths that add up.
      size_t at = 0;
      while (at < plain) {
        if (plain - at < 4 || (buffer[at] >> 6) != 2) __builtin_trap();
        at += (static_cast<size_t>(load16(buffer.data() + at + 2)) + 1) * 4;
      }
      if (at != plain) __builtin_trap();
    }
    // The BYE a viewer says as it closes: well-formed SRTCP about the played SSRC.
    uint8_t bye[128];
    const size_t byeSize = echo.writePlayedBye(bye, sizeof(bye));
    if (byeSize > 0) {
      size_t plain = byeSize;
      if (!receiver.unprotectRtcp(bye, plain) || plain != 8 || bye[1] != 203 || load32(bye + 4) != 0xE3) __builtin_trap();
    }
    // Feedback to a publisher's source, as a viewer's PLI or NACK would have it written.
    uint8_t feedback[512];
    uint16_t sequences[64];
    const size_t count = length % 65;
    for (size_t i = 0; i < count; i++) sequences[i] = static_cast<uint16_t>(buffer[i % (length ? length : 1)] * 7 + i);
    const size_t written = echo.writeFeedback(mids[length % 3], count == 0, sequences, count, feedback, sizeof(feedback));
    if (written > 0) {
      size_t plain = written;
      if (!receiver.unprotectRtcp(feedback, plain) || plain < 12 || (feedback[0] >> 6) != 2 ||
          (static_cast<size_t>(load16(feedback + 2)) + 1) * 4 != plain) {
        __builtin_trap();
      }
    }
  }
  return 0;
}
