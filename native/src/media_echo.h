// The packet echo of one session: SRTP in, SSRC rewritten in place, SRTP out; and the RTCP
// relay between the client's sender and the echo's receiver. No allocation per packet.
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "replay_window.h"
#include "rtp_packet.h"
#include "session_counters.h"
#include "srtp_cipher.h"

namespace echo {

struct EchoSectionConfig {
  std::string mid;
  uint32_t echoSsrc = 0;
  std::bitset<128> payloadTypes;
  std::vector<uint32_t> offeredSsrcs;
  /**
   * The id of the RFC 8843 §15 mid header extension in this section, 0 for none. Per section:
   * werift offers a different id for it in each section of one BUNDLE group.
   */
  uint8_t midExtensionId = 0;
  /**
   * False: the section's RTP is taken (authenticated, handed to `onRtpReceived`, so to a
   * publisher's viewers) but not echoed; a WHIP publisher's recvonly section, or a WHEP viewer's
   * sendonly one (no payload types: it receives nothing), whose `echoSsrc` is the SSRC the
   * viewer plays on. Keyframe requests and NACKs about the `echoSsrc` of a viewer's section
   * come up as `onFeedback` instead of being relayed.
   */
  bool echo = true;
};

struct MediaConfig {
  std::vector<EchoSectionConfig> sections;
};

class MediaListener {
 public:
  virtual ~MediaListener() = default;
  virtual void onRtcpBye(const std::string& mid, uint32_t ssrc) = 0;
  /**
   * An authentic RTP packet of section `section` (plain, before the echo changes anything),
   * with its 48-bit SRTP index. For a publisher's viewers.
   */
  virtual void onRtpReceived(size_t section, const uint8_t* packet, size_t size, const RtpHeader& header,
                             uint64_t index) {
    (void)section, (void)packet, (void)size, (void)header, (void)index;
  }
  /** A PLI or FIR (`keyframe`) or a generic NACK (`sequences`) about the SSRC a viewer's section plays on. */
  virtual void onFeedback(const std::string& mid, bool keyframe, const uint16_t* sequences, size_t count) {
    (void)mid, (void)keyframe, (void)sequences, (void)count;
  }
};

class MediaEcho {
 public:
  MediaEcho(MediaConfig config, SessionCounters& counters, MediaListener& listener);

  /** Keys from DTLS-SRTP keying material (RFC 5764 §4.2); false if the profile is unknown. */
  bool setKeys(SrtpProfile profile, const uint8_t* material, size_t size, bool localIsClient);
  /** Keys given directly (fuzzing and tests): `remote` decrypts what arrives, `local` encrypts the echo. */
  bool setKeys(SrtpProfile profile, const uint8_t* remoteKey, const uint8_t* remoteSalt, const uint8_t* localKey,
               const uint8_t* localSalt);
  bool ready() const { return ready_; }

  /** An SRTP packet, in place: the size of the SRTP echo to send back, 0 for none. */
  size_t onRtp(uint8_t* packet, size_t size, size_t capacity);
  /** An SRTCP packet, in place: the size of the SRTCP packet to send back, 0 for none. */
  size_t onRtcp(uint8_t* packet, size_t size, size_t capacity);

  /** The section with this mid, -1 for none. */
  int sectionByMid(const std::string& mid) const;
  const EchoSectionConfig& section(size_t index) const { return sections_[index].config; }
  /**
   * Protects an RTP packet this session plays (a viewer's copy of a publisher's packet, already
   * rewritten) with the session's keys: its size, 0 before the keys are there or if it does not fit.
   */
  size_t protectPlayed(uint8_t* packet, size_t size, size_t capacity, size_t headerSize, uint32_t ssrc,
                       uint64_t index);
  /**
   * Writes SRTCP feedback to the client's source on section `mid`, from the section's echo SSRC:
   * a PLI (`keyframe`), else a generic NACK for `sequences` (at most 64). Its size, 0 when there
   * is nothing to say it to (no keys, no source seen on that section yet).
   */
  size_t writeFeedback(const std::string& mid, bool keyframe, const uint16_t* sequences, size_t count, uint8_t* out,
                       size_t capacity);
  /**
   * An SRTCP BYE (RFC 3550 §6.6) for the SSRCs this session played on (its sections with no
   * echo and no payload types: a WHEP viewer's), once it played anything: its size, else 0.
   */
  size_t writePlayedBye(uint8_t* out, size_t capacity);

  static constexpr size_t kMaxRemoteStreams = 16;
  static constexpr size_t kMaxSsrcCache = 16;

 private:
  struct Section {
    EchoSectionConfig config;
    // The client's source this section echoes now, and how its indexes map to the echo's:
    // out = in + offset. A new source starts a new epoch above every index sent before, so an
    // (SSRC, index) pair, and with it an IV, is never used twice under the session key.
    bool hasSource = false;
    uint32_t source = 0;
    int64_t offset = 0;
    int64_t epochStart = 0;
    bool sentAny = false;
    int64_t highestOut = -1;
  };
  struct RemoteStream {
    bool used = false;
    uint32_t ssrc = 0;
    uint64_t lastUse = 0;
    ReplayWindow window;
  };
  struct CacheEntry {
    bool used = false;
    uint32_t ssrc = 0;
    uint8_t section = 0;
  };

  int sectionForRtp(const uint8_t* packet, const RtpHeader& header);
  int cachedSection(uint32_t ssrc) const;
  void cacheSection(uint32_t ssrc, int section);
  int offeredSection(uint32_t ssrc) const;
  Section* sectionBySource(uint32_t ssrc);
  Section* sectionByEcho(uint32_t ssrc);
  /** A section this session plays on (no echo, no payload types) whose echo SSRC is `ssrc`. */
  const Section* playedSection(uint32_t ssrc) const;
  size_t reportFeedback(const uint8_t* packet, size_t size);
  RemoteStream* findStream(RemoteStream* streams, size_t count, uint32_t ssrc);
  RemoteStream& claimStream(RemoteStream* streams, size_t count, uint32_t ssrc);

  size_t relayRtcp(uint8_t* packet, size_t size);
  size_t relayOne(uint8_t* packet, size_t size);
  size_t relayReportBlocks(uint8_t* blocks, size_t count);

  std::vector<Section> sections_;
  /** The distinct mid extension ids of the sections, each tried in turn on a packet of no known section. */
  std::vector<uint8_t> midExtensionIds_;
  SessionCounters& counters_;
  MediaListener& listener_;
  bool ready_ = false;
  SrtpCipher remote_;
  SrtpCipher local_;
  uint64_t uses_ = 0;
  RemoteStream rtpStreams_[kMaxRemoteStreams];
  RemoteStream rtcpStreams_[kMaxRemoteStreams];
  CacheEntry cache_[kMaxSsrcCache];
  size_t cacheNext_ = 0;
  uint32_t rtcpIndex_ = 0;
  bool playedAny_ = false;
};

}  // namespace echo
