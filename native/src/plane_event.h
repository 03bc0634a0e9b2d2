// What the data-plane thread reports to JavaScript (see PlaneEvent in src/engines/native/plane.ts).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "endpoint.h"
#include "srtp_profile.h"

namespace echo {

struct PlaneEvent {
  enum class Type : uint8_t { Stun, DtlsConnected, DtlsFailed, DtlsClosed, AppData, RtcpBye, RtcpFeedback };
  Type type = Type::Stun;
  int socket = 0;
  int session = 0;
  Endpoint from;
  /** Stun: the local address it reached (invalid where the platform cannot say). */
  Endpoint local;
  /** Stun: a Binding request the plane answered itself (and validated the sender for). */
  bool answered = false;
  /** Stun, answered: the plane sent the triggered check back to `from`, with this transaction id. */
  bool checked = false;
  uint8_t checkId[12] = {};
  std::vector<uint8_t> data;
  /** The failure reason, or the mid of a BYE or of feedback. */
  std::string text;
  uint32_t ssrc = 0;
  bool clientRole = false;
  /** AppData: the record is an SCTP packet with its CRC32c (RFC 9260 §6.8), checked here so JavaScript need not. */
  bool sctpChecksumValid = false;
  SrtpProfile profile = SrtpProfile::None;
  /** RtcpFeedback: a PLI or FIR; else the NACKed sequence numbers. */
  bool keyframe = false;
  std::vector<uint16_t> sequences;
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  /** Called on the data-plane thread; must not block on the JavaScript thread. */
  virtual void post(PlaneEvent&& event) = 0;
};

}  // namespace echo
