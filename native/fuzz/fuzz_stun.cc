// libFuzzer target: the plane's STUN Binding request reader (the ICE fast path reads every
// STUN datagram from any address before any credential is known), its integrity check, and the
// success response written to what it read.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "../src/stun_binding.h"

using namespace echo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  StunBindingRequest request;
  if (!request.parse(data, size)) return 0;
  std::string ufrag;
  if (request.localUfrag(ufrag)) {
    volatile bool named = request.usernameIs(ufrag, "remote");
    (void)named;
  }
  volatile bool valid = request.verifyIntegrity("VOkJxbRl1RmTxUk/WvJxBt");
  (void)valid;
  Endpoint mapped;
  mapped.family = (size & 1) ? 6 : 4;
  mapped.port = static_cast<uint16_t>(size);
  std::memcpy(mapped.address, data, 16 < size ? 16 : size);
  uint8_t out[StunBindingRequest::kMaxResponseSize];
  const size_t written = request.writeSuccess(mapped, "VOkJxbRl1RmTxUk/WvJxBt", out, sizeof(out));
  // What we write must read back as a well-formed message: the same reader takes it once its
  // type says request (the digest then fails, which is fine; the framing must hold).
  if (written > 0) {
    out[0] = 0x00;
    out[1] = 0x01;
    StunBindingRequest echo;
    if (echo.parse(out, written)) __builtin_trap();  // FINGERPRINT covers the type: must not match
  }
  return 0;
}
