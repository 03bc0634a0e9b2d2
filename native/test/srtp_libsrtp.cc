// SrtpCipher and the replay window against a second implementation, Debian's libsrtp2, as an
// oracle: for each profile, thousands of RTP packets each way across a rollover-counter wrap
// (some reordered, one replayed, some tampered), and SRTCP each way.
#include <srtp2/srtp.h>

#include <cctype>
#include <cstring>
#include <random>

#include "../src/byte_order.h"
#include "../src/replay_window.h"
#include "../src/srtp_cipher.h"
#include "check.h"

using namespace echo;

namespace {

constexpr int kRtpPackets = 6000;
constexpr int kRtcpPackets = 2000;
constexpr uint32_t kSsrc = 0x11223344;

struct Oracle {
  srtp_t session = nullptr;
  ~Oracle() {
    if (session) srtp_dealloc(session);
  }
};

void setPolicy(srtp_policy_t& policy, SrtpProfile profile) {
  switch (profile) {
    case SrtpProfile::AesCm128HmacSha1_80:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      break;
    case SrtpProfile::AesCm128HmacSha1_32:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      break;
    default:
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
      break;
  }
}

bool createOracle(Oracle& oracle, SrtpProfile profile, uint8_t* keyAndSalt, bool outbound) {
  srtp_policy_t policy;
  memset(&policy, 0, sizeof(policy));
  setPolicy(policy, profile);
  policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
  policy.key = keyAndSalt;
  policy.window_size = 128;
  policy.allow_repeat_tx = 0;
  return srtp_create(&oracle.session, &policy) == srtp_err_status_ok;
}

/** A plain RTP packet: random CSRCs, a one-byte header extension now and then, random payload. */
size_t makeRtp(std::mt19937& random, uint16_t seq, uint8_t* out) {
  const int csrcs = random() % 3;
  const bool extension = random() % 4 == 0;
  out[0] = static_cast<uint8_t>(0x80 | (extension ? 0x10 : 0) | csrcs);
  out[1] = 96;
  store16(out + 2, seq);
  store32(out + 4, seq * 3000u);
  store32(out + 8, kSsrc);
  size_t size = 12;
  for (int i = 0; i < csrcs; i++, size += 4) store32(out + size, static_cast<uint32_t>(random()));
  if (extension) {
    store16(out + size, 0xBEDE);
    store16(out + size + 2, 1);
    out[size + 4] = 0x10;  // id 1, 1 byte
    out[size + 5] = 'a';
    out[size + 6] = out[size + 7] = 0;
    size += 8;
  }
  const size_t payload = random() % 1200;
  for (size_t i = 0; i < payload; i++) out[size + i] = static_cast<uint8_t>(random());
  return size + payload;
}

size_t makeRtcp(std::mt19937& random, uint8_t* out) {
  // An RR with one report block, then a PLI: a compound packet as a receiver sends it.
  out[0] = 0x81;
  out[1] = 201;
  store16(out + 2, 7);
  store32(out + 4, kSsrc);
  for (int i = 8; i < 32; i++) out[i] = static_cast<uint8_t>(random());
  out[32] = 0x81;
  out[33] = 206;
  store16(out + 34, 2);
  store32(out + 36, kSsrc);
  store32(out + 40, 0x55667788);
  return 44;
}

size_t headerSizeOf(const uint8_t* packet) {
  size_t size = 12 + 4 * (packet[0] & 0x0F);
  if (packet[0] & 0x10) size += 4 + 4 * load16(packet + size + 2);
  return size;
}

void libsrtpToOurs(SrtpProfile profile, uint8_t* keyAndSalt, std::mt19937& random) {
  const SrtpProfileInfo* info = srtpProfileInfo(profile);
  Oracle sender;
  CHECK(createOracle(sender, profile, keyAndSalt, true));
  SrtpCipher ours;
  CHECK(ours.init(profile, keyAndSalt, keyAndSalt + info->keySize));
  ReplayWindow window;
  int accepted = 0, rejectedAsTampered = 0, rejectedAsReplay = 0;
  uint8_t plain[1500], wire[1600], held[1600];
  size_t heldSize = 0;
  std::vector<uint8_t> heldPlain;
  const uint16_t first = static_cast<uint16_t>(65536 - kRtpPackets / 2);  // wraps halfway
  auto receive = [&](uint8_t* packet, size_t size, const uint8_t* expected, size_t expectedSize) {
    const uint16_t seq = load16(packet + 2);
    const uint64_t index = estimateRtpIndex(window, seq);
    if (!window.check(index)) {
      rejectedAsReplay++;
      return;
    }
    const size_t header = headerSizeOf(packet);
    if (!ours.unprotectRtp(packet, size, header, load32(packet + 8), index)) {
      rejectedAsTampered++;
      return;
    }
    window.accept(index);
    CHECK(size == expectedSize && memcmp(packet, expected, size) == 0);
    accepted++;
  };
  for (int i = 0; i < kRtpPackets; i++) {
    const size_t size = makeRtp(random, static_cast<uint16_t>(first + i), plain);
    memcpy(wire, plain, size);
    int wireSize = static_cast<int>(size);
    CHECK(srtp_protect(sender.session, wire, &wireSize) == srtp_err_status_ok);
    if (i % 97 == 5) {  // hold this one back: it arrives after the next (reordered)
      memcpy(held, wire, wireSize);
      heldSize = wireSize;
      heldPlain.assign(plain, plain + size);
      continue;
    }
    if (i % 211 == 7) {  // a flipped payload bit must not authenticate
      uint8_t tampered[1600];
      memcpy(tampered, wire, wireSize);
      tampered[wireSize - 1 - info->rtpTagSize] ^= 0x20;
      receive(tampered, wireSize, plain, size);
    }
    receive(wire, wireSize, plain, size);
    if (heldSize) {
      memcpy(wire, held, heldSize);
      receive(wire, heldSize, heldPlain.data(), heldPlain.size());
      if (i % 3 == 0) {  // and now and then a replay of it
        memcpy(wire, held, heldSize);
        receive(wire, heldSize, heldPlain.data(), heldPlain.size());
      }
      heldSize = 0;
    }
  }
  CHECK(accepted == kRtpPackets);
  CHECK(rejectedAsTampered > 0 && rejectedAsReplay > 0);
  CHECK((window.highest() >> 16) == 1);  // the rollover counter wrapped
  std::printf("  libsrtp -> ours RTP: %d accepted, %d tampered and %d replays rejected, ROC %u\n", accepted,
              rejectedAsTampered, rejectedAsReplay, static_cast<unsigned>(window.highest() >> 16));
}

void oursToLibsrtp(SrtpProfile profile, uint8_t* keyAndSalt, std::mt19937& random) {
  const SrtpProfileInfo* info = srtpProfileInfo(profile);
  Oracle receiver;
  CHECK(createOracle(receiver, profile, keyAndSalt, false));
  SrtpCipher ours;
  CHECK(ours.init(profile, keyAndSalt, keyAndSalt + info->keySize));
  int accepted = 0;
  uint8_t plain[1500], wire[1600];
  const uint16_t first = static_cast<uint16_t>(65536 - kRtpPackets / 3);
  for (int i = 0; i < kRtpPackets; i++) {
    const uint64_t index = uint64_t{first} + i;  // ROC 0 then 1
    const size_t size = makeRtp(random, static_cast<uint16_t>(index), plain);
    memcpy(wire, plain, size);
    size_t wireSize = size;
    CHECK(ours.protectRtp(wire, wireSize, sizeof(wire), headerSizeOf(wire), kSsrc, index));
    CHECK(wireSize == size + info->rtpTagSize);
    int length = static_cast<int>(wireSize);
    if (srtp_unprotect(receiver.session, wire, &length) == srtp_err_status_ok) {
      CHECK(static_cast<size_t>(length) == size && memcmp(wire, plain, size) == 0);
      accepted++;
    }
  }
  CHECK(accepted == kRtpPackets);
  std::printf("  ours -> libsrtp RTP: %d of %d accepted\n", accepted, kRtpPackets);
}

void rtcpBothWays(SrtpProfile profile, uint8_t* keyAndSalt, std::mt19937& random) {
  const SrtpProfileInfo* info = srtpProfileInfo(profile);
  Oracle sender, receiver;
  CHECK(createOracle(sender, profile, keyAndSalt, true));
  CHECK(createOracle(receiver, profile, keyAndSalt, false));
  SrtpCipher ours;
  CHECK(ours.init(profile, keyAndSalt, keyAndSalt + info->keySize));
  ReplayWindow window;
  int toOurs = 0, toLibsrtp = 0;
  uint8_t plain[256], wire[512];
  for (int i = 0; i < kRtcpPackets; i++) {
    size_t size = makeRtcp(random, plain);
    memcpy(wire, plain, size);
    int length = static_cast<int>(size);
    CHECK(srtp_protect_rtcp(sender.session, wire, &length) == srtp_err_status_ok);
    uint32_t index = 0;
    size_t wireSize = length;
    CHECK(ours.readRtcpIndex(wire, wireSize, index));
    if (window.check(index) && ours.unprotectRtcp(wire, wireSize)) {
      window.accept(index);
      CHECK(wireSize == size && memcmp(wire, plain, size) == 0);
      toOurs++;
    }
    memcpy(wire, plain, size);
    wireSize = size;
    CHECK(ours.protectRtcp(wire, wireSize, sizeof(wire), static_cast<uint32_t>(i + 1)));
    length = static_cast<int>(wireSize);
    if (srtp_unprotect_rtcp(receiver.session, wire, &length) == srtp_err_status_ok) {
      CHECK(static_cast<size_t>(length) == size && memcmp(wire, plain, size) == 0);
      toLibsrtp++;
    }
  }
  CHECK(toOurs == kRtcpPackets && toLibsrtp == kRtcpPackets);
  std::printf("  SRTCP: libsrtp -> ours %d, ours -> libsrtp %d of %d\n", toOurs, toLibsrtp, kRtcpPackets);
}

}  // namespace

int main() {
  if (srtp_init() != srtp_err_status_ok) {
    std::fprintf(stderr, "srtp_init failed\n");
    return 2;
  }
  std::mt19937 random(7983);
  for (SrtpProfile profile : {SrtpProfile::AesCm128HmacSha1_80, SrtpProfile::AesCm128HmacSha1_32,
                              SrtpProfile::AeadAes128Gcm}) {
    const SrtpProfileInfo* info = srtpProfileInfo(profile);
    uint8_t keyAndSalt[30];
    for (auto& b : keyAndSalt) b = static_cast<uint8_t>(random());
    std::printf("%s (libsrtp %s)\n", info->name, srtp_get_version_string());
    libsrtpToOurs(profile, keyAndSalt, random);
    oursToLibsrtp(profile, keyAndSalt, random);
    rtcpBothWays(profile, keyAndSalt, random);
  }
  srtp_shutdown();
  if (failures() > 0) {
    std::fprintf(stderr, "%d checks failed\n", failures());
    return 1;
  }
  std::printf("libsrtp agrees\n");
  return 0;
}
