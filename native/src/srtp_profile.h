// The DTLS-SRTP protection profiles this plane speaks (RFC 5764 §4.1.2, RFC 7714 §14.2), with
// the transform parameters each one implies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace echo {

enum class SrtpProfile : uint16_t {
  None = 0,
  AesCm128HmacSha1_80 = 0x0001,
  AesCm128HmacSha1_32 = 0x0002,
  AeadAes128Gcm = 0x0007,
};

struct SrtpProfileInfo {
  SrtpProfile profile;
  /** The name in DTLS-SRTP, OpenSSL's use_srtp and our TypeScript contract. */
  const char* name;
  size_t keySize;
  size_t saltSize;
  size_t rtpTagSize;
  /** SRTCP keeps an 80-bit tag even in the _32 profile (RFC 5764 §4.1.2). */
  size_t rtcpTagSize;
  bool aead;
};

/** Null for None or an unknown id. */
const SrtpProfileInfo* srtpProfileInfo(SrtpProfile profile);
/** Null for an unknown name. */
const SrtpProfileInfo* srtpProfileByName(const std::string& name);

}  // namespace echo
