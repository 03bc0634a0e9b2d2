// The SRTP and SRTCP transforms of one sender's keys (RFC 3711 AES-CM with HMAC-SHA1,
// RFC 7714 AES-GCM), in place, on OpenSSL EVP. Contexts are keyed once; a packet only sets
// an IV. Stateless about indexes: the caller estimates them and keeps the replay windows.
#pragma once

#include <cstddef>
#include <cstdint>

#include "srtp_profile.h"

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace echo {

/** HMAC-SHA1 with the pads hashed once, so a packet costs two SHA-1 finals and no allocation. */
class HmacSha1 {
 public:
  HmacSha1();
  ~HmacSha1();
  HmacSha1(const HmacSha1&) = delete;
  HmacSha1& operator=(const HmacSha1&) = delete;

  void setKey(const uint8_t* key, size_t size);
  /** HMAC over `a` then `b`. */
  void compute(const uint8_t* a, size_t aSize, const uint8_t* b, size_t bSize, uint8_t out[20]) const;

 private:
  struct State;
  State* state_;
};

/** Session keys of one half (RTP or RTCP), as RFC 3711 §4.3 derives them or a test vector gives them. */
struct SrtpSessionKeys {
  uint8_t key[16];
  uint8_t salt[14];
  uint8_t auth[20];
};

class SrtpCipher {
 public:
  SrtpCipher();
  ~SrtpCipher();
  SrtpCipher(const SrtpCipher&) = delete;
  SrtpCipher& operator=(const SrtpCipher&) = delete;

  /** Derives the RTP and RTCP session keys from a master key and salt (key derivation rate 0). */
  bool init(SrtpProfile profile, const uint8_t* masterKey, const uint8_t* masterSalt);
  /** Uses session keys as they are (for the RFC 7714 vectors, which are stated that way). */
  bool initSessionKeys(SrtpProfile profile, const SrtpSessionKeys& rtp, const SrtpSessionKeys& rtcp);

  const SrtpProfileInfo* profile() const { return info_; }

  /** RTP: `size` grows by the tag; `capacity` bounds it. `index` is the 48-bit packet index. */
  bool protectRtp(uint8_t* packet, size_t& size, size_t capacity, size_t headerSize, uint32_t ssrc,
                  uint64_t index);
  /** RTP: checks the tag first; on success `size` shrinks to the plain packet. */
  bool unprotectRtp(uint8_t* packet, size_t& size, size_t headerSize, uint32_t ssrc, uint64_t index);

  /** SRTCP with the E flag set: encrypts after the first 8 bytes, appends E|index and the tag. */
  bool protectRtcp(uint8_t* packet, size_t& size, size_t capacity, uint32_t index);
  /** Reads the E flag and 31-bit index of an SRTCP packet; false when it is too short. */
  bool readRtcpIndex(const uint8_t* packet, size_t size, uint32_t& index) const;
  /** SRTCP: checks the tag, decrypts if E is set; `size` shrinks to the plain compound packet. */
  bool unprotectRtcp(uint8_t* packet, size_t& size);

  size_t rtpOverhead() const;
  size_t rtcpOverhead() const;

  /** RFC 3711 §4.3.1 with key derivation rate 0: session key `label` of `outSize` bytes. */
  static bool deriveSessionKey(const uint8_t* masterKey, const uint8_t* masterSalt, size_t saltSize, uint8_t label,
                               uint8_t* out, size_t outSize);
  /** RFC 3711 §4.1.1 AES-CM: XORs the keystream for (ssrc, index) into `data` (for the B.2 vectors). */
  static bool aesCm(const uint8_t key[16], const uint8_t salt[14], uint32_t ssrc, uint64_t index, uint8_t* data,
                    size_t size);

 private:
  struct Half {
    EVP_CIPHER_CTX* cipher = nullptr;
    uint8_t salt[14] = {};
    HmacSha1 auth;
  };

  bool setUp(Half& half, const SrtpSessionKeys& keys);
  void clear();

  const SrtpProfileInfo* info_ = nullptr;
  Half rtp_;
  Half rtcp_;
};

}  // namespace echo
