// SHA1_* are deprecated in OpenSSL 3 but exported (by Node too), and they are what lets a
// packet's HMAC start from precomputed pads without the EVP layer's per-call allocation.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "srtp_cipher.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <climits>
#include <cstring>

#include "byte_order.h"

namespace echo {

// ---- HMAC-SHA1 ---------------------------------------------------------------------------

struct HmacSha1::State {
  SHA_CTX inner;
  SHA_CTX outer;
};

HmacSha1::HmacSha1() : state_(new State()) {}

HmacSha1::~HmacSha1() {
  OPENSSL_cleanse(state_, sizeof(State));
  delete state_;
}

void HmacSha1::setKey(const uint8_t* key, size_t size) {
  uint8_t pad[64];
  // Keys here are 20 bytes; a longer one would be hashed first (RFC 2104), which we never need.
  if (size > sizeof(pad)) size = sizeof(pad);
  memset(pad, 0x36, sizeof(pad));
  for (size_t i = 0; i < size; i++) pad[i] ^= key[i];
  SHA1_Init(&state_->inner);
  SHA1_Update(&state_->inner, pad, sizeof(pad));
  memset(pad, 0x5c, sizeof(pad));
  for (size_t i = 0; i < size; i++) pad[i] ^= key[i];
  SHA1_Init(&state_->outer);
  SHA1_Update(&state_->outer, pad, sizeof(pad));
  OPENSSL_cleanse(pad, sizeof(pad));
}

void HmacSha1::compute(const uint8_t* a, size_t aSize, const uint8_t* b, size_t bSize, uint8_t out[20]) const {
  SHA_CTX ctx = state_->inner;
  SHA1_Update(&ctx, a, aSize);
  if (bSize > 0) SHA1_Update(&ctx, b, bSize);
  uint8_t inner[SHA_DIGEST_LENGTH];
  SHA1_Final(inner, &ctx);
  ctx = state_->outer;
  SHA1_Update(&ctx, inner, sizeof(inner));
  SHA1_Final(out, &ctx);
}

// ---- helpers -----------------------------------------------------------------------------

namespace {

constexpr size_t kGcmTagSize = 16;
constexpr size_t kRtcpHeaderSize = 8;
constexpr size_t kRtcpTrailerSize = 4;
constexpr uint32_t kRtcpEncryptedFlag = 0x80000000u;

bool ctrCrypt(EVP_CIPHER_CTX* ctx, const uint8_t iv[16], uint8_t* data, size_t size) {
  if (size > INT_MAX) return false;
  if (EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, iv, 1) != 1) return false;
  int written = 0;
  return size == 0 || EVP_CipherUpdate(ctx, data, &written, data, static_cast<int>(size)) == 1;
}

bool gcmSeal(EVP_CIPHER_CTX* ctx, const uint8_t iv[12], const uint8_t* aad, size_t aadSize, const uint8_t* aad2,
             size_t aad2Size, uint8_t* data, size_t size, uint8_t tag[kGcmTagSize]) {
  if (size > INT_MAX || aadSize > INT_MAX) return false;
  int written = 0;
  if (EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, iv, 1) != 1) return false;
  if (aadSize > 0 && EVP_CipherUpdate(ctx, nullptr, &written, aad, static_cast<int>(aadSize)) != 1) return false;
  if (aad2Size > 0 && EVP_CipherUpdate(ctx, nullptr, &written, aad2, static_cast<int>(aad2Size)) != 1) return false;
  if (size > 0 && EVP_CipherUpdate(ctx, data, &written, data, static_cast<int>(size)) != 1) return false;
  uint8_t none[16];
  if (EVP_CipherFinal_ex(ctx, none, &written) != 1) return false;
  return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kGcmTagSize, tag) == 1;
}

bool gcmOpen(EVP_CIPHER_CTX* ctx, const uint8_t iv[12], const uint8_t* aad, size_t aadSize, const uint8_t* aad2,
             size_t aad2Size, uint8_t* data, size_t size, const uint8_t tag[kGcmTagSize]) {
  if (size > INT_MAX || aadSize > INT_MAX) return false;
  int written = 0;
  if (EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, iv, 0) != 1) return false;
  if (aadSize > 0 && EVP_CipherUpdate(ctx, nullptr, &written, aad, static_cast<int>(aadSize)) != 1) return false;
  if (aad2Size > 0 && EVP_CipherUpdate(ctx, nullptr, &written, aad2, static_cast<int>(aad2Size)) != 1) return false;
  if (size > 0 && EVP_CipherUpdate(ctx, data, &written, data, static_cast<int>(size)) != 1) return false;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kGcmTagSize, const_cast<uint8_t*>(tag)) != 1) return false;
  uint8_t none[16];
  return EVP_CipherFinal_ex(ctx, none, &written) == 1;
}

/** AES-CM IV (RFC 3711 §4.1.1): salt·2^16 XOR SSRC·2^64 XOR index·2^16. */
void cmIv(const uint8_t salt[14], uint32_t ssrc, uint64_t index, uint8_t iv[16]) {
  memcpy(iv, salt, 14);
  iv[14] = iv[15] = 0;
  iv[4] ^= static_cast<uint8_t>(ssrc >> 24);
  iv[5] ^= static_cast<uint8_t>(ssrc >> 16);
  iv[6] ^= static_cast<uint8_t>(ssrc >> 8);
  iv[7] ^= static_cast<uint8_t>(ssrc);
  for (int i = 0; i < 6; i++) iv[13 - i] ^= static_cast<uint8_t>(index >> (8 * i));
}

/** AES-GCM IV (RFC 7714 §8.1, §9.1): 00 00 || SSRC || 48-bit index, XOR the 96-bit salt. */
void gcmIv(const uint8_t salt[12], uint32_t ssrc, uint64_t index, uint8_t iv[12]) {
  iv[0] = iv[1] = 0;
  store32(iv + 2, ssrc);
  for (int i = 0; i < 6; i++) iv[11 - i] = static_cast<uint8_t>(index >> (8 * i));
  for (int i = 0; i < 12; i++) iv[i] ^= salt[i];
}

EVP_CIPHER_CTX* newKeyedContext(bool aead, const uint8_t key[16]) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (!ctx) return nullptr;
  const EVP_CIPHER* cipher = aead ? EVP_aes_128_gcm() : EVP_aes_128_ctr();
  if (EVP_CipherInit_ex(ctx, cipher, nullptr, key, nullptr, 1) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

}  // namespace

// ---- SrtpCipher --------------------------------------------------------------------------

SrtpCipher::SrtpCipher() = default;

SrtpCipher::~SrtpCipher() { clear(); }

void SrtpCipher::clear() {
  for (Half* half : {&rtp_, &rtcp_}) {
    if (half->cipher) EVP_CIPHER_CTX_free(half->cipher);
    half->cipher = nullptr;
    OPENSSL_cleanse(half->salt, sizeof(half->salt));
  }
  info_ = nullptr;
}

bool SrtpCipher::deriveSessionKey(const uint8_t* masterKey, const uint8_t* masterSalt, size_t saltSize, uint8_t label,
                                  uint8_t* out, size_t outSize) {
  // x = (label || r) XOR master_salt with r = 0; the PRF is AES-CM keyed by the master key with
  // IV x·2^16. A 96-bit GCM salt sits in the top bits, zero-padded (RFC 7714 §11).
  uint8_t iv[16] = {};
  if (saltSize > 14) return false;
  memcpy(iv, masterSalt, saltSize);
  iv[7] ^= label;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (!ctx) return false;
  bool ok = EVP_CipherInit_ex(ctx, EVP_aes_128_ctr(), nullptr, masterKey, iv, 1) == 1;
  memset(out, 0, outSize);
  int written = 0;
  ok = ok && EVP_CipherUpdate(ctx, out, &written, out, static_cast<int>(outSize)) == 1;
  EVP_CIPHER_CTX_free(ctx);
  return ok;
}

bool SrtpCipher::aesCm(const uint8_t key[16], const uint8_t salt[14], uint32_t ssrc, uint64_t index, uint8_t* data,
                       size_t size) {
  EVP_CIPHER_CTX* ctx = newKeyedContext(false, key);
  if (!ctx) return false;
  uint8_t iv[16];
  cmIv(salt, ssrc, index, iv);
  const bool ok = ctrCrypt(ctx, iv, data, size);
  EVP_CIPHER_CTX_free(ctx);
  return ok;
}

bool SrtpCipher::init(SrtpProfile profile, const uint8_t* masterKey, const uint8_t* masterSalt) {
  const SrtpProfileInfo* info = srtpProfileInfo(profile);
  if (!info) return false;
  SrtpSessionKeys rtp{};
  SrtpSessionKeys rtcp{};
  const size_t salt = info->saltSize;
  bool ok = deriveSessionKey(masterKey, masterSalt, salt, 0, rtp.key, 16) &&
            deriveSessionKey(masterKey, masterSalt, salt, 2, rtp.salt, salt) &&
            deriveSessionKey(masterKey, masterSalt, salt, 3, rtcp.key, 16) &&
            deriveSessionKey(masterKey, masterSalt, salt, 5, rtcp.salt, salt);
  if (ok && !info->aead) {
    ok = deriveSessionKey(masterKey, masterSalt, salt, 1, rtp.auth, 20) &&
         deriveSessionKey(masterKey, masterSalt, salt, 4, rtcp.auth, 20);
  }
  ok = ok && initSessionKeys(profile, rtp, rtcp);
  OPENSSL_cleanse(&rtp, sizeof(rtp));
  OPENSSL_cleanse(&rtcp, sizeof(rtcp));
  return ok;
}

bool SrtpCipher::initSessionKeys(SrtpProfile profile, const SrtpSessionKeys& rtp, const SrtpSessionKeys& rtcp) {
  clear();
  info_ = srtpProfileInfo(profile);
  if (!info_ || !setUp(rtp_, rtp) || !setUp(rtcp_, rtcp)) {
    clear();
    return false;
  }
  return true;
}

bool SrtpCipher::setUp(Half& half, const SrtpSessionKeys& keys) {
  half.cipher = newKeyedContext(info_->aead, keys.key);
  if (!half.cipher) return false;
  memcpy(half.salt, keys.salt, info_->saltSize);
  if (!info_->aead) half.auth.setKey(keys.auth, sizeof(keys.auth));
  return true;
}

size_t SrtpCipher::rtpOverhead() const { return info_ ? info_->rtpTagSize : 0; }

size_t SrtpCipher::rtcpOverhead() const { return info_ ? info_->rtcpTagSize + kRtcpTrailerSize : 0; }

bool SrtpCipher::protectRtp(uint8_t* packet, size_t& size, size_t capacity, size_t headerSize, uint32_t ssrc,
                            uint64_t index) {
  if (!info_ || headerSize > size || capacity < size || capacity - size < info_->rtpTagSize) return false;
  uint8_t* payload = packet + headerSize;
  const size_t payloadSize = size - headerSize;
  if (info_->aead) {
    uint8_t iv[12];
    gcmIv(rtp_.salt, ssrc, index, iv);
    if (!gcmSeal(rtp_.cipher, iv, packet, headerSize, nullptr, 0, payload, payloadSize, packet + size)) return false;
    size += kGcmTagSize;
    return true;
  }
  uint8_t iv[16];
  cmIv(rtp_.salt, ssrc, index, iv);
  if (!ctrCrypt(rtp_.cipher, iv, payload, payloadSize)) return false;
  uint8_t roc[4];
  store32(roc, static_cast<uint32_t>(index >> 16));
  uint8_t tag[20];
  rtp_.auth.compute(packet, size, roc, sizeof(roc), tag);
  memcpy(packet + size, tag, info_->rtpTagSize);
  size += info_->rtpTagSize;
  return true;
}

bool SrtpCipher::unprotectRtp(uint8_t* packet, size_t& size, size_t headerSize, uint32_t ssrc, uint64_t index) {
  if (!info_ || size < headerSize + info_->rtpTagSize) return false;
  const size_t tagSize = info_->rtpTagSize;
  const size_t authenticated = size - tagSize;
  uint8_t* payload = packet + headerSize;
  const size_t payloadSize = authenticated - headerSize;
  if (info_->aead) {
    uint8_t iv[12];
    gcmIv(rtp_.salt, ssrc, index, iv);
    if (!gcmOpen(rtp_.cipher, iv, packet, headerSize, nullptr, 0, payload, payloadSize, packet + authenticated)) {
      return false;
    }
    size = authenticated;
    return true;
  }
  uint8_t roc[4];
  store32(roc, static_cast<uint32_t>(index >> 16));
  uint8_t tag[20];
  rtp_.auth.compute(packet, authenticated, roc, sizeof(roc), tag);
  if (CRYPTO_memcmp(tag, packet + authenticated, tagSize) != 0) return false;
  uint8_t iv[16];
  cmIv(rtp_.salt, ssrc, index, iv);
  if (!ctrCrypt(rtp_.cipher, iv, payload, payloadSize)) return false;
  size = authenticated;
  return true;
}

bool SrtpCipher::protectRtcp(uint8_t* packet, size_t& size, size_t capacity, uint32_t index) {
  if (!info_ || size < kRtcpHeaderSize || capacity < size || capacity - size < rtcpOverhead()) return false;
  index &= 0x7FFFFFFFu;
  const uint32_t ssrc = load32(packet + 4);
  uint8_t trailer[kRtcpTrailerSize];
  store32(trailer, kRtcpEncryptedFlag | index);
  uint8_t* body = packet + kRtcpHeaderSize;
  const size_t bodySize = size - kRtcpHeaderSize;
  if (info_->aead) {
    uint8_t iv[12];
    gcmIv(rtcp_.salt, ssrc, index, iv);
    // RFC 7714 §9.1: header, ciphertext, tag, then E|index (which is associated data).
    if (!gcmSeal(rtcp_.cipher, iv, packet, kRtcpHeaderSize, trailer, sizeof(trailer), body, bodySize,
                 packet + size)) {
      return false;
    }
    memcpy(packet + size + kGcmTagSize, trailer, sizeof(trailer));
    size += kGcmTagSize + sizeof(trailer);
    return true;
  }
  uint8_t iv[16];
  cmIv(rtcp_.salt, ssrc, index, iv);
  if (!ctrCrypt(rtcp_.cipher, iv, body, bodySize)) return false;
  memcpy(packet + size, trailer, sizeof(trailer));
  size += sizeof(trailer);
  uint8_t tag[20];
  rtcp_.auth.compute(packet, size, nullptr, 0, tag);
  memcpy(packet + size, tag, info_->rtcpTagSize);
  size += info_->rtcpTagSize;
  return true;
}

bool SrtpCipher::readRtcpIndex(const uint8_t* packet, size_t size, uint32_t& index) const {
  if (!info_ || size < kRtcpHeaderSize + rtcpOverhead()) return false;
  // GCM: ... tag, E|index. AES-CM: ... E|index, tag.
  const size_t at = info_->aead ? size - kRtcpTrailerSize : size - info_->rtcpTagSize - kRtcpTrailerSize;
  index = load32(packet + at) & 0x7FFFFFFFu;
  return true;
}

bool SrtpCipher::unprotectRtcp(uint8_t* packet, size_t& size) {
  if (!info_ || size < kRtcpHeaderSize + rtcpOverhead()) return false;
  const uint32_t ssrc = load32(packet + 4);
  if (info_->aead) {
    const uint8_t* trailer = packet + size - kRtcpTrailerSize;
    const uint8_t* tag = trailer - kGcmTagSize;
    const uint32_t word = load32(trailer);
    const uint32_t index = word & 0x7FFFFFFFu;
    const size_t plainSize = size - kGcmTagSize - kRtcpTrailerSize;
    uint8_t iv[12];
    gcmIv(rtcp_.salt, ssrc, index, iv);
    bool ok;
    if (word & kRtcpEncryptedFlag) {
      ok = gcmOpen(rtcp_.cipher, iv, packet, kRtcpHeaderSize, trailer, kRtcpTrailerSize, packet + kRtcpHeaderSize,
                   plainSize - kRtcpHeaderSize, tag);
    } else {
      // RFC 7714 §9.2: unencrypted, the whole packet is associated data.
      ok = gcmOpen(rtcp_.cipher, iv, packet, plainSize, trailer, kRtcpTrailerSize, nullptr, 0, tag);
    }
    if (!ok) return false;
    size = plainSize;
    return true;
  }
  const size_t tagSize = info_->rtcpTagSize;
  const size_t authenticated = size - tagSize;
  uint8_t tag[20];
  rtcp_.auth.compute(packet, authenticated, nullptr, 0, tag);
  if (CRYPTO_memcmp(tag, packet + authenticated, tagSize) != 0) return false;
  const uint32_t word = load32(packet + authenticated - kRtcpTrailerSize);
  const size_t plainSize = authenticated - kRtcpTrailerSize;
  if (word & kRtcpEncryptedFlag) {
    uint8_t iv[16];
    cmIv(rtcp_.salt, ssrc, word & 0x7FFFFFFFu, iv);
    if (!ctrCrypt(rtcp_.cipher, iv, packet + kRtcpHeaderSize, plainSize - kRtcpHeaderSize)) return false;
  }
  size = plainSize;
  return true;
}

}  // namespace echo
