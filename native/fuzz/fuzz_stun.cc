// libFuzzer target: the plane's STUN Binding reader (the ICE fast path reads every STUN
// datagram from any address before any credential is known), as a request and as an answer to
// one of our triggered checks, its integrity check, the success response written to what it
// read, and the check it writes, which must read back whole.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "../src/stun_binding.h"
#include "../src/triggered_checks.h"

using namespace echo;

namespace {

const char kPassword[] = "VOkJxbRl1RmTxUk/WvJxBt";

void request(const uint8_t* data, size_t size) {
  StunBindingMessage request;
  if (!request.parseRequest(data, size)) return;
  std::string ufrag;
  if (request.localUfrag(ufrag)) {
    volatile bool named = request.usernameIs(ufrag, "remote");
    (void)named;
  }
  volatile bool valid = request.verifyIntegrity(kPassword);
  (void)valid;
  Endpoint mapped;
  mapped.family = (size & 1) ? 6 : 4;
  mapped.port = static_cast<uint16_t>(size);
  std::memcpy(mapped.address, data, 16 < size ? 16 : size);
  uint8_t out[StunBindingMessage::kMaxResponseSize];
  const size_t written = request.writeSuccess(mapped, kPassword, out, sizeof(out));
  // What we write must read back as a well-formed message: the same reader takes it once its
  // type says request (the digest then fails, which is fine; the framing must hold).
  if (written > 0) {
    out[0] = 0x00;
    out[1] = 0x01;
    StunBindingMessage echo;
    if (echo.parseRequest(out, written)) __builtin_trap();  // FINGERPRINT covers the type: must not match
  }
}

/** An answer to a check of ours to `from`, with the input's transaction id when it has one. */
void answer(const uint8_t* data, size_t size) {
  StunBindingMessage response;
  if (!response.parseSuccess(data, size)) return;
  TriggeredCheckConfig config;
  config.remotePwd = kPassword;
  TriggeredChecks checks(config);
  Endpoint from;
  from.family = 4;
  from.port = 5000;
  uint8_t check[BindingCheck::kMaxSize];
  uint8_t id[12];
  if (checks.triggered("remote:local", from, Endpoint(), check, sizeof(check), id) == 0) __builtin_trap();
  checks.nominated(from);
  volatile bool select = checks.answered(response, from);  // another transaction id: false
  (void)select;
}

/** A check written from the input's bytes reads back as the request it is, integrity and all. */
void writtenCheck(const uint8_t* data, size_t size) {
  BindingCheck check;
  if (size < 12 + 13) return;
  std::memcpy(check.transactionId, data, 12);
  check.priority = static_cast<uint32_t>(data[12]) << 24 | data[13];
  check.tieBreaker = static_cast<uint64_t>(data[14]) << 56 | data[15];
  check.controlling = data[16] & 1;
  check.useCandidate = data[16] & 2;
  check.password = kPassword;
  check.username.assign(reinterpret_cast<const char*>(data + 17), size - 17 < 600 ? size - 17 : 600);
  uint8_t out[BindingCheck::kMaxSize];
  const size_t written = check.write(out, sizeof(out));
  if (written == 0) {
    if (check.username.size() <= 513) __builtin_trap();  // only an over-long USERNAME is refused
    return;
  }
  StunBindingMessage read;
  if (!read.parseRequest(out, written) || !read.verifyIntegrity(kPassword) || !read.hasFingerprint() ||
      read.usernameSize() != check.username.size() || read.controlling() != check.controlling ||
      read.useCandidate() != check.useCandidate || std::memcmp(read.transactionId(), data, 12) != 0) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  request(data, size);
  answer(data, size);
  writtenCheck(data, size);
  return 0;
}
