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
};

struct MediaConfig {
  std::vector<EchoSectionConfig> sections;
};

class MediaListener {
 public:
  virtual ~MediaListener() = default;
  virtual void onRtcpBye(const std::string& mid, uint32_t ssrc) = 0;
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
};

}  // namespace echo
