// SrtpCipher against the published vectors: RFC 3711 Appendix B.2 (AES-CM keystream) and B.3
// (key derivation), RFC 7714 §16.1.1 (SRTP AEAD_AES_128_GCM) and §17.1/§17.3 (SRTCP).
// Prints one line per group and exits non-zero on any mismatch.
#include <cctype>
#include <cstring>

#include "../src/replay_window.h"
#include "../src/srtp_cipher.h"
#include "check.h"

using namespace echo;

static void keyDerivation() {
  // RFC 3711 B.3
  const auto masterKey = fromHex("E1F97A0D3E018BE0D64FA32C06DE4139");
  const auto masterSalt = fromHex("0EC675AD498AFEEBB6960B3AABE6");
  uint8_t out[20];
  CHECK(SrtpCipher::deriveSessionKey(masterKey.data(), masterSalt.data(), 14, 0, out, 16));
  CHECK_HEX(out, 16, "C61E7A93744F39EE10734AFE3FF7A087");
  CHECK(SrtpCipher::deriveSessionKey(masterKey.data(), masterSalt.data(), 14, 2, out, 14));
  CHECK_HEX(out, 14, "30CBBC08863D8C85D49DB34A9AE1");
  CHECK(SrtpCipher::deriveSessionKey(masterKey.data(), masterSalt.data(), 14, 1, out, 20));
  CHECK_HEX(out, 20, "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4");
  std::printf("RFC 3711 B.3 key derivation: checked\n");
}

static void keystream() {
  // RFC 3711 B.2: SSRC 0, index 0, the keystream of blocks 0-2 and 0xFEFF-0xFF01.
  const auto key = fromHex("2B7E151628AED2A6ABF7158809CF4F3C");
  const auto salt = fromHex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD");
  std::vector<uint8_t> zeros(16 * 0xFF02, 0);
  CHECK(SrtpCipher::aesCm(key.data(), salt.data(), 0, 0, zeros.data(), zeros.size()));
  CHECK_HEX(zeros.data() + 16 * 0x0000, 16, "E03EAD0935C95E80E166B16DD92B4EB4");
  CHECK_HEX(zeros.data() + 16 * 0x0001, 16, "D23513162B02D0F72A43A2FE4A5F97AB");
  CHECK_HEX(zeros.data() + 16 * 0x0002, 16, "41E95B3BB0A2E8DD477901E4FCA894C0");
  CHECK_HEX(zeros.data() + 16 * 0xFEFF, 16, "EC8CDF7398607CB0F2D21675EA9EA1E4");
  CHECK_HEX(zeros.data() + 16 * 0xFF00, 16, "362B7C3C6773516318A077D7FC5073AE");
  CHECK_HEX(zeros.data() + 16 * 0xFF01, 16, "6A2CC3787889374FBEB4C81B17BA6C44");
  std::printf("RFC 3711 B.2 AES-CM keystream: checked\n");
}

static SrtpCipher& gcmVectorCipher() {
  static SrtpCipher cipher;
  static bool ready = false;
  if (!ready) {
    SrtpSessionKeys keys{};
    const auto key = fromHex("000102030405060708090a0b0c0d0e0f");
    const auto salt = fromHex("517569642070726f2071756f");
    memcpy(keys.key, key.data(), 16);
    memcpy(keys.salt, salt.data(), 12);
    CHECK(cipher.initSessionKeys(SrtpProfile::AeadAes128Gcm, keys, keys));
    ready = true;
  }
  return cipher;
}

static void gcmRtp() {
  // RFC 7714 §16.1.1: "Gallia est omnis divisa in partes tres", SSRC 0x5501a0b2, SEQ 0xf17b, ROC 0.
  const std::string plain =
      "8040f17b8041f8d35501a0b247616c6c696120657374206f6d6e69732064697669736120696e207061727465732074726573";
  const std::string sealed =
      "8040f17b8041f8d35501a0b2f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833899d7f27beb16a"
      "9152cf765ee4390cce";
  SrtpCipher& cipher = gcmVectorCipher();
  uint8_t buffer[256];
  auto packet = fromHex(plain);
  memcpy(buffer, packet.data(), packet.size());
  size_t size = packet.size();
  CHECK(cipher.protectRtp(buffer, size, sizeof(buffer), 12, 0x5501a0b2, 0xf17b));
  CHECK_HEX(buffer, size, sealed);
  CHECK(cipher.unprotectRtp(buffer, size, 12, 0x5501a0b2, 0xf17b));
  CHECK_HEX(buffer, size, plain);
  // One flipped bit anywhere fails the tag.
  packet = fromHex(sealed);
  for (size_t bit = 0; bit < packet.size() * 8; bit += 37) {
    memcpy(buffer, packet.data(), packet.size());
    buffer[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    size = packet.size();
    CHECK(!cipher.unprotectRtp(buffer, size, 12, 0x5501a0b2, 0xf17b));
  }
  // The wrong rollover counter fails too.
  memcpy(buffer, packet.data(), packet.size());
  size = packet.size();
  CHECK(!cipher.unprotectRtp(buffer, size, 12, 0x5501a0b2, 0x1f17b));
  std::printf("RFC 7714 16.1.1 SRTP AEAD_AES_128_GCM: checked\n");
}

static void gcmRtcp() {
  // RFC 7714 §17.1 (encrypted) and §17.3 (authenticated only), SRTCP index 0x5d4.
  const std::string plain =
      "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeefdeadbeefdeadbeefdeadbeef";
  const std::string sealed =
      "81c8000d4d61727363e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda4ce09b4686303ded0bb9275bc84aa4"
      "5896cf4d2fc5abf87245d9eade800005d4";
  const std::string tagOnly =
      "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeefdeadbeefdeadbeefdeadbeef841dd9"
      "683dd78ec92ae58790125f62b3000005d4";
  SrtpCipher& cipher = gcmVectorCipher();
  uint8_t buffer[256];
  auto packet = fromHex(plain);
  memcpy(buffer, packet.data(), packet.size());
  size_t size = packet.size();
  CHECK(cipher.protectRtcp(buffer, size, sizeof(buffer), 0x5d4));
  CHECK_HEX(buffer, size, sealed);
  uint32_t index = 0;
  CHECK(cipher.readRtcpIndex(buffer, size, index) && index == 0x5d4);
  CHECK(cipher.unprotectRtcp(buffer, size));
  CHECK_HEX(buffer, size, plain);
  packet = fromHex(tagOnly);
  memcpy(buffer, packet.data(), packet.size());
  size = packet.size();
  CHECK(cipher.unprotectRtcp(buffer, size));
  CHECK_HEX(buffer, size, plain);
  buffer[20] ^= 1;
  size = packet.size();
  memcpy(buffer, packet.data(), packet.size());
  buffer[9] ^= 0x40;
  CHECK(!cipher.unprotectRtcp(buffer, size));
  std::printf("RFC 7714 17.1/17.3 SRTCP AEAD_AES_128_GCM: checked\n");
}

static void indexEstimation() {
  // RFC 3711 Appendix A: the guess follows the sequence numbers across a wrap, both ways.
  ReplayWindow window;
  CHECK(estimateRtpIndex(window, 65530) == 65530);
  window.accept(65530);
  CHECK(estimateRtpIndex(window, 3) == 65536 + 3);
  window.accept(65536 + 3);
  CHECK(estimateRtpIndex(window, 65534) == 65534);  // late, from before the wrap
  CHECK(window.check(65534) && window.check(65531));
  window.accept(65534);
  CHECK(!window.check(65534) && !window.check(65530));
  CHECK(window.check(65536 + 200));
  window.accept(65536 + 200);
  CHECK(!window.check(65534));  // now older than the window
  CHECK(window.check(65536 + 199) && window.check(65536 + 200 - 127) && !window.check(65536 + 200 - 128));
  std::printf("RFC 3711 Appendix A index estimation and replay window: checked\n");
}

int main() {
  keyDerivation();
  keystream();
  gcmRtp();
  gcmRtcp();
  indexEstimation();
  if (failures() > 0) {
    std::fprintf(stderr, "%d checks failed\n", failures());
    return 1;
  }
  std::printf("all vectors passed\n");
  return 0;
}
