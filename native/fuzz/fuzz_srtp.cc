// libFuzzer target: SRTP and SRTCP unprotect on bytes an attacker chose (no valid tag needed
// to reach the length checks, trailer parsing and index estimation), for every profile,
// through the session's echo as the data-plane thread would call it.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../src/media_echo.h"

using namespace echo;

namespace {
struct NoEvents : MediaListener {
  void onRtcpBye(const std::string&, uint32_t) override {}
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const SrtpProfile kProfiles[] = {SrtpProfile::AesCm128HmacSha1_80, SrtpProfile::AesCm128HmacSha1_32,
                                          SrtpProfile::AeadAes128Gcm};
  const SrtpProfile profile = kProfiles[data[0] % 3];
  data++;
  size--;
  uint8_t key[32] = {};
  for (int i = 0; i < 32; i++) key[i] = static_cast<uint8_t>(i * 7);

  SrtpCipher cipher;
  if (!cipher.init(profile, key, key + 16)) __builtin_trap();
  std::vector<uint8_t> buffer(data, data + size);
  buffer.resize(size + 64);
  size_t length = size;
  cipher.unprotectRtp(buffer.data(), length, size < 12 ? size : 12, 0x1234, size);
  length = size;
  memcpy(buffer.data(), data, size);
  uint32_t index = 0;
  if (cipher.readRtcpIndex(buffer.data(), length, index)) cipher.unprotectRtcp(buffer.data(), length);

  static SessionCounters counters;
  static NoEvents events;
  MediaConfig config;
  EchoSectionConfig section;
  section.mid = "0";
  section.echoSsrc = 0xabcdef;
  section.payloadTypes.set(96);
  section.midExtensionId = 1;
  config.sections.push_back(section);
  MediaEcho echo(config, counters, events);
  if (!echo.setKeys(profile, key, key + 16, key, key + 16)) __builtin_trap();
  memcpy(buffer.data(), data, size);
  echo.onRtp(buffer.data(), size, buffer.size());
  memcpy(buffer.data(), data, size);
  echo.onRtcp(buffer.data(), size, buffer.size());
  return 0;
}
