// STUN Binding (RFC 8489) as the plane's ICE fast path needs it: read a Binding request or
// success response (bounded, never past the datagram), check its MESSAGE-INTEGRITY (HMAC-SHA1
// under the short-term password) and FINGERPRINT (CRC-32), write the success response with
// XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT, and write the controlled agent's own
// Binding request (a triggered check). The same rules as the TypeScript codec
// (src/stun/message.ts): attributes after MESSAGE-INTEGRITY are ignored but FINGERPRINT,
// nothing may follow FINGERPRINT, of a repeated attribute only the first counts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "endpoint.h"

namespace echo {

class StunBindingMessage {
 public:
  static constexpr size_t kHeaderSize = 20;
  static constexpr size_t kMaxSize = 4096;
  /** What writeSuccess writes at most (IPv6 XOR-MAPPED-ADDRESS). */
  static constexpr size_t kMaxResponseSize = kHeaderSize + 24 + 24 + 8;

  /**
   * A whole, well-formed Binding request (class request, method Binding, a FINGERPRINT that
   * matches when there is one). False for anything else: answers, indications, other methods.
   */
  bool parseRequest(const uint8_t* data, size_t size);
  /** The same for a Binding success response (an answer to one of our checks). */
  bool parseSuccess(const uint8_t* data, size_t size);

  const uint8_t* transactionId() const { return data_ + 8; }
  /** USERNAME, as sent (not NUL-terminated); empty when absent. */
  const uint8_t* username() const { return username_; }
  size_t usernameSize() const { return usernameSize_; }
  /** USERNAME is exactly `local:remote`. */
  bool usernameIs(const std::string& local, const std::string& remote) const;
  /** The part of USERNAME before its first ':' (the receiver's ufrag), or false without one. */
  bool localUfrag(std::string& out) const;

  bool hasIntegrity() const { return integrityAt_ != 0; }
  bool hasFingerprint() const { return fingerprint_; }
  bool controlling() const { return controlling_; }
  bool controlled() const { return controlled_; }
  bool useCandidate() const { return useCandidate_; }
  /**
   * A comprehension-required attribute (below 0x8000) before MESSAGE-INTEGRITY that a Binding
   * request for ICE does not carry (RFC 8445 §7.2.2): the agent must answer 420, not us.
   */
  bool unknownRequired() const { return unknownRequired_; }

  /** MESSAGE-INTEGRITY is the HMAC-SHA1 under `password` of what precedes it (RFC 8489 §14.5). */
  bool verifyIntegrity(const std::string& password) const;

  /**
   * The success response to this request, to `mapped` (where it came from), signed with
   * `password` (ours), with FINGERPRINT. Its size, 0 when `capacity` is too small.
   */
  size_t writeSuccess(const Endpoint& mapped, const std::string& password, uint8_t* out, size_t capacity) const;

 private:
  bool parse(const uint8_t* data, size_t size, uint16_t type);

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  const uint8_t* username_ = nullptr;
  size_t usernameSize_ = 0;
  size_t integrityAt_ = 0;
  bool fingerprint_ = false;
  bool controlling_ = false;
  bool controlled_ = false;
  bool useCandidate_ = false;
  bool unknownRequired_ = false;
};

/** A Binding request of ours (RFC 8445 §7.2.2), in the attribute order of IceAgent #check. */
struct BindingCheck {
  uint8_t transactionId[12] = {};
  /** `remote ufrag:local ufrag`. */
  std::string username;
  uint32_t priority = 0;
  bool controlling = false;
  uint64_t tieBreaker = 0;
  bool useCandidate = false;
  /** The remote's password: MESSAGE-INTEGRITY's key. */
  std::string password;

  /** What write writes at most (USERNAME of 513 bytes, two 256-byte ufrags and the colon). */
  static constexpr size_t kMaxSize = StunBindingMessage::kHeaderSize + 4 + 516 + 8 + 12 + 4 + 24 + 8;
  /** Its size, 0 when `capacity` is too small or the USERNAME too long. */
  size_t write(uint8_t* out, size_t capacity) const;
};

/** CRC-32 (ISO-HDLC, as zlib's), what STUN's FINGERPRINT is XORed from. */
uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc = 0);

}  // namespace echo
