// WHEP playback on the data-plane thread: which viewer sessions each publisher session plays
// to, and the per-packet work (docs/whip-whep.md, "The native engine"). Each authentic RTP
// packet of a publisher on a played section is copied per viewer, rewritten (payload type,
// SSRC, sequence epoch, the viewer's mid extension), encrypted with the viewer's keys and sent
// to the viewer's remote; before the viewer's DTLS is up it is dropped. Sessions hold no
// pointer to each other: the plane calls `forget` before it frees one, so nothing dangles.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "echo_session.h"
#include "udp_socket.h"

namespace echo {

/** One viewer section's share of a publication (TrackMapping + the viewer's SSRC, plane.ts). */
struct PlayedTrack {
  std::string publisherMid;
  std::string viewerMid;
  /** Publisher payload type -> the viewer's; -1: not forwarded. */
  std::array<int16_t, 128> payloadTypes;
  uint32_t ssrc = 0;
  uint8_t midExtensionId = 0;
  PlayedTrack() { payloadTypes.fill(-1); }
};

/**
 * The SRTP index a viewer's stream goes out with. Its first packet starts at rollover 0 with the
 * publisher's sequence number (the viewer's SRTP receiver starts there too), and a new publisher
 * source starts a new epoch above every index sent, as the echo does (media_echo.h): no (SSRC,
 * index) pair, so no IV, is used twice under the viewer's key.
 */
struct IndexEpoch {
  bool hasSource = false;
  uint32_t source = 0;
  int64_t offset = 0;
  int64_t epochStart = 0;
  int64_t highestOut = -1;
  /** The viewer's index for the publisher's `in` from `ssrc`, or -1: not to be sent. */
  int64_t map(uint32_t ssrc, int64_t in);
};

class Playback : public RtpTap {
 public:
  Playback() : scratch_(kDatagramCapacity) {}

  /** From now on `publisher`'s packets on the tracks' sections go to `viewer` (replacing its earlier tracks). */
  void add(EchoSession& publisher, EchoSession& viewer, std::vector<PlayedTrack> tracks);
  void removeViewer(EchoSession& viewer);
  /** Before the plane frees `session`: unlinks it, as a viewer and as a publisher. */
  void forget(EchoSession& session);
  /**
   * A viewer's NACK on `viewerMid`, in the viewer's sequence numbers: its publisher, the
   * publisher's mid and the sequence numbers it sent them under. False: not linked.
   */
  bool translateNack(EchoSession& viewer, const std::string& viewerMid, std::vector<uint16_t>& sequences,
                     EchoSession*& publisher, std::string& publisherMid) const;

  void onPublisherRtp(EchoSession& publisher, size_t section, const uint8_t* packet, size_t size,
                      const RtpHeader& header, uint64_t index) override;

 private:
  struct Outlet {
    EchoSession* viewer = nullptr;
    PlayedTrack track;
    /** The publisher's section index of `track.publisherMid`, -1 when it has none. */
    int section = -1;
    IndexEpoch epoch;
  };
  void removeFrom(EchoSession& publisher, std::vector<Outlet>& outlets, EchoSession& viewer);

  std::unordered_map<EchoSession*, std::vector<Outlet>> byPublisher_;
  std::vector<uint8_t> scratch_;
};

}  // namespace echo
