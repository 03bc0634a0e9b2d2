#include "stun_binding.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>

#include "byte_order.h"

namespace echo {

namespace {

constexpr uint32_t kMagicCookie = 0x2112a442;
constexpr uint32_t kFingerprintXor = 0x5354554e;
constexpr uint16_t kBindingRequest = 0x0001;
constexpr uint16_t kBindingSuccess = 0x0101;
constexpr uint16_t kMappedAddress = 0x0001;
constexpr uint16_t kUsername = 0x0006;
constexpr uint16_t kMessageIntegrity = 0x0008;
constexpr uint16_t kErrorCode = 0x0009;
constexpr uint16_t kXorMappedAddress = 0x0020;
constexpr uint16_t kPriority = 0x0024;
constexpr uint16_t kUseCandidate = 0x0025;
constexpr uint16_t kFingerprint = 0x8028;
constexpr uint16_t kIceControlled = 0x8029;
constexpr uint16_t kIceControlling = 0x802a;
constexpr size_t kIntegritySize = 20;

struct CrcTable {
  uint32_t entries[256];
  CrcTable() {
    for (uint32_t n = 0; n < 256; n++) {
      uint32_t c = n;
      for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      entries[n] = c;
    }
  }
};

size_t padded(size_t length) { return (length + 3) & ~static_cast<size_t>(3); }

/** HMAC-SHA1 of `data[0, end)` with the header's length field counting up to `lengthTo`. */
bool integrityOf(const uint8_t* data, size_t end, size_t lengthTo, const std::string& key, uint8_t digest[20]) {
  // One-shot HMAC over a copy whose length field is patched (at most kMaxSize: on the stack).
  uint8_t copy[StunBindingMessage::kMaxSize];
  if (end > sizeof(copy)) return false;
  std::memcpy(copy, data, end);
  store16(copy + 2, static_cast<uint16_t>(lengthTo - StunBindingMessage::kHeaderSize));
  unsigned int size = 0;
  return HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), copy, end, digest, &size) != nullptr &&
         size == kIntegritySize;
}

uint32_t fingerprintOf(const uint8_t* data, size_t end) {
  uint8_t header[StunBindingMessage::kHeaderSize];
  std::memcpy(header, data, sizeof(header));
  store16(header + 2, static_cast<uint16_t>(end + 8 - StunBindingMessage::kHeaderSize));
  uint32_t crc = crc32(header, sizeof(header));
  crc = crc32(data + sizeof(header), end - sizeof(header), crc);
  return crc ^ kFingerprintXor;
}

/**
 * Ends the message in out[0, at) with MESSAGE-INTEGRITY under `password` and FINGERPRINT (the
 * caller made room for both) and sets its length. Its size, 0 when the digest fails.
 */
size_t seal(uint8_t* out, size_t at, const std::string& password) {
  uint8_t digest[kIntegritySize];
  if (!integrityOf(out, at, at + 4 + kIntegritySize, password, digest)) return 0;
  store16(out + at, kMessageIntegrity);
  store16(out + at + 2, kIntegritySize);
  std::memcpy(out + at + 4, digest, kIntegritySize);
  at += 4 + kIntegritySize;
  const uint32_t fingerprint = fingerprintOf(out, at);
  store16(out + at, kFingerprint);
  store16(out + at + 2, 4);
  store32(out + at + 4, fingerprint);
  at += 8;
  store16(out + 2, static_cast<uint16_t>(at - StunBindingMessage::kHeaderSize));
  return at;
}

}  // namespace

uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc) {
  static const CrcTable table;
  crc = ~crc;
  for (size_t i = 0; i < size; i++) crc = table.entries[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

bool StunBindingMessage::parseRequest(const uint8_t* data, size_t size) { return parse(data, size, kBindingRequest); }

bool StunBindingMessage::parseSuccess(const uint8_t* data, size_t size) { return parse(data, size, kBindingSuccess); }

bool StunBindingMessage::parse(const uint8_t* data, size_t size, uint16_t type) {
  *this = StunBindingMessage();
  if (size < kHeaderSize || size > kMaxSize || load32(data + 4) != kMagicCookie) return false;
  if (load16(data) != type) return false;
  const size_t length = load16(data + 2);
  if (length % 4 != 0 || kHeaderSize + length != size) return false;
  // Which of the attributes we read were seen already: only the first of each counts.
  bool seenUsername = false;
  for (size_t at = kHeaderSize; at < size;) {
    if (fingerprint_ || at + 4 > size) return false;  // FINGERPRINT is last
    const uint16_t attribute = load16(data + at);
    const size_t attributeLength = load16(data + at + 2);
    const size_t end = at + 4 + attributeLength;
    if (end > size) return false;
    const uint8_t* value = data + at + 4;
    if (attribute == kFingerprint) {
      if (attributeLength != 4 || load32(value) != fingerprintOf(data, at)) return false;
      fingerprint_ = true;
    } else if (integrityAt_ == 0) {
      switch (attribute) {
        case kMessageIntegrity:
          if (attributeLength != kIntegritySize) return false;
          integrityAt_ = at;
          break;
        case kUsername:
          if (!seenUsername) {
            seenUsername = true;
            username_ = value;
            usernameSize_ = attributeLength;
          }
          break;
        case kIceControlling:
          controlling_ = true;
          break;
        case kIceControlled:
          controlled_ = true;
          break;
        case kUseCandidate:
          useCandidate_ = true;
          break;
        case kPriority:
        case kMappedAddress:
        case kXorMappedAddress:
        case kErrorCode:
          break;
        default:
          if (attribute < 0x8000) unknownRequired_ = true;
          break;
      }
    }
    at = at + 4 + padded(attributeLength);
    if (at > size) return false;
  }
  data_ = data;
  size_ = size;
  return true;
}

bool StunBindingMessage::usernameIs(const std::string& local, const std::string& remote) const {
  const size_t expected = local.size() + 1 + remote.size();
  return username_ && usernameSize_ == expected && std::memcmp(username_, local.data(), local.size()) == 0 &&
         username_[local.size()] == ':' && std::memcmp(username_ + local.size() + 1, remote.data(), remote.size()) == 0;
}

bool StunBindingMessage::localUfrag(std::string& out) const {
  if (!username_) return false;
  const void* colon = std::memchr(username_, ':', usernameSize_);
  if (!colon || colon == username_) return false;
  out.assign(reinterpret_cast<const char*>(username_), static_cast<const uint8_t*>(colon) - username_);
  return true;
}

bool StunBindingMessage::verifyIntegrity(const std::string& password) const {
  if (!data_ || integrityAt_ == 0) return false;
  uint8_t digest[kIntegritySize];
  if (!integrityOf(data_, integrityAt_, integrityAt_ + 4 + kIntegritySize, password, digest)) return false;
  return CRYPTO_memcmp(digest, data_ + integrityAt_ + 4, kIntegritySize) == 0;
}

size_t StunBindingMessage::writeSuccess(const Endpoint& mapped, const std::string& password, uint8_t* out,
                                        size_t capacity) const {
  if (!data_ || !mapped.valid()) return 0;
  const size_t addressSize = mapped.family == 4 ? 4 : 16;
  const size_t total = kHeaderSize + 4 + 4 + addressSize + 4 + kIntegritySize + 8;
  if (capacity < total) return 0;
  store16(out, kBindingSuccess);
  store32(out + 4, kMagicCookie);
  std::memcpy(out + 8, transactionId(), 12);
  // XOR-MAPPED-ADDRESS (RFC 8489 §14.2): port and address XORed with the cookie (and, for
  // IPv6, the transaction id after it), i.e. with the header's bytes 4-19.
  size_t at = kHeaderSize;
  store16(out + at, kXorMappedAddress);
  store16(out + at + 2, static_cast<uint16_t>(4 + addressSize));
  out[at + 4] = 0;
  out[at + 5] = mapped.family == 4 ? 0x01 : 0x02;
  store16(out + at + 6, static_cast<uint16_t>(mapped.port ^ (kMagicCookie >> 16)));
  for (size_t i = 0; i < addressSize; i++) out[at + 8 + i] = mapped.address[i] ^ out[4 + i];
  at += 8 + addressSize;
  return seal(out, at, password);
}

size_t BindingCheck::write(uint8_t* out, size_t capacity) const {
  const size_t usernameSize = username.size();
  if (usernameSize > 513) return 0;
  const size_t total = StunBindingMessage::kHeaderSize + 4 + padded(usernameSize) + 8 + 12 +
                       (useCandidate ? 4 : 0) + 4 + kIntegritySize + 8;
  if (capacity < total) return 0;
  store16(out, kBindingRequest);
  store32(out + 4, kMagicCookie);
  std::memcpy(out + 8, transactionId, 12);
  size_t at = StunBindingMessage::kHeaderSize;
  store16(out + at, kUsername);
  store16(out + at + 2, static_cast<uint16_t>(usernameSize));
  std::memcpy(out + at + 4, username.data(), usernameSize);
  std::memset(out + at + 4 + usernameSize, 0, padded(usernameSize) - usernameSize);
  at += 4 + padded(usernameSize);
  store16(out + at, kPriority);
  store16(out + at + 2, 4);
  store32(out + at + 4, priority);
  at += 8;
  store16(out + at, controlling ? kIceControlling : kIceControlled);
  store16(out + at + 2, 8);
  store32(out + at + 4, static_cast<uint32_t>(tieBreaker >> 32));
  store32(out + at + 8, static_cast<uint32_t>(tieBreaker));
  at += 12;
  if (useCandidate) {
    store16(out + at, kUseCandidate);
    store16(out + at + 2, 0);
    at += 4;
  }
  return seal(out, at, password);
}

}  // namespace echo
