// libFuzzer target: DTLS datagrams from a validated remote into a session's DtlsTransport in
// the server role (the role a client's ClientHello reaches first): our BIO glue, the state
// machine around OpenSSL and the fingerprint callback, fed arbitrary records. The input is a
// run of datagrams, each prefixed by its 11-bit length.
#include <cstddef>
#include <cstdint>
#include <string>

#include "../src/dtls_transport.h"

using namespace echo;

namespace {
struct Sink : DtlsListener {
  size_t sent = 0;
  void onDtlsSend(const uint8_t*, size_t size) override { sent += size; }
  void onDtlsConnected(SrtpProfile, const uint8_t*, size_t) override {}
  void onDtlsFailed(const std::string&) override {}
  void onDtlsClosed() override {}
  void onDtlsData(const uint8_t*, size_t) override {}
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static DtlsContext* context = [] {
    std::string error;
    return DtlsContext::create(error).release();
  }();
  if (!context) __builtin_trap();
  Sink sink;
  DtlsTransport transport(*context, sink, size > 0 && (data[0] & 1) ? DtlsRole::Client : DtlsRole::Server);
  Fingerprint fingerprint;  // no digest: no certificate can match, as with a forged peer
  std::string error;
  if (!transport.init(fingerprint, {SrtpProfile::AeadAes128Gcm, SrtpProfile::AesCm128HmacSha1_80}, error)) __builtin_trap();
  transport.start();
  while (size >= 2) {
    size_t length = ((static_cast<size_t>(data[0]) << 8) | data[1]) & 0x7FF;
    data += 2;
    size -= 2;
    if (length > size) length = size;
    transport.receive(data, length);
    data += length;
    size -= length;
    if (transport.timeoutMs() == 0) transport.onTimeout();
  }
  transport.send({{'x'}});
  transport.close();
  return 0;
}
