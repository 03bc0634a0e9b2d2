// The plane's STUN Binding code (src/stun_binding.cc) against RFC 5769's test vectors: the
// sample request (§2.1) parses, its MESSAGE-INTEGRITY and FINGERPRINT hold under the vector's
// password and not under another, and a changed byte breaks them; the XOR-MAPPED-ADDRESS we
// write for the sample responses' addresses (§2.2 IPv4, §2.3 IPv6) is the vectors' byte for byte.
#include <cstring>

#include "../src/stun_binding.h"
#include "check.h"

using namespace echo;

namespace {

// RFC 5769 §2.1 (SOFTWARE "STUN test client", PRIORITY, ICE-CONTROLLED, USERNAME "evtj:h6vY").
const char kRequest[] =
    "000100582112a442b7e7a701bc34d686fa87dfae"
    "802200105354554e207465737420636c69656e74"
    "00240004"
    "6e0001ff"
    "80290008932ff9b151263b36"
    "000600096576746a3a68367659202020"
    "000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2"
    "80280004e57a3bcf";
const char kPassword[] = "VOkJxbRl1RmTxUk/WvJxBt";

// RFC 5769 §2.2, the sample IPv4 response (SOFTWARE "test vector", XOR-MAPPED-ADDRESS 192.0.2.1:32853).
const char kResponseV4[] =
    "0101003c2112a442b7e7a701bc34d686fa87dfae"
    "8022000b7465737420766563746f7220"
    "002000080001a147e112a643"
    "000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7"
    "80280004c07d4c96";

// The XOR-MAPPED-ADDRESS attributes of §2.2 (192.0.2.1:32853) and §2.3
// (2001:db8:1234:5678:11:2233:4455:6677 port 32853), with those responses' transaction id.
const char kXorV4[] = "002000080001a147e112a643";
const char kXorV6[] = "002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9";

Endpoint endpoint(const char* text, int port) {
  Endpoint out;
  CHECK(endpointFromText(text, port, out));
  return out;
}

}  // namespace

int main() {
  std::vector<uint8_t> request = fromHex(kRequest);
  // The vector pads USERNAME with spaces (0x20), which a receiver ignores.
  StunBindingMessage parsed;
  CHECK(parsed.parseRequest(request.data(), request.size()));
  CHECK(parsed.hasFingerprint());
  CHECK(parsed.hasIntegrity());
  CHECK(parsed.controlled() && !parsed.controlling() && !parsed.useCandidate() && !parsed.unknownRequired());
  CHECK(parsed.usernameIs("evtj", "h6vY"));
  CHECK(!parsed.usernameIs("evtj", "h6v"));
  std::string ufrag;
  CHECK(parsed.localUfrag(ufrag) && ufrag == "evtj");
  CHECK(parsed.verifyIntegrity(kPassword));
  CHECK(!parsed.verifyIntegrity("VOkJxbRl1RmTxUk/WvJxBu"));
  std::printf("RFC 5769 2.1 request: parsed, integrity and fingerprint hold\n");

  // A changed byte before MESSAGE-INTEGRITY: the FINGERPRINT no longer matches, no parse.
  std::vector<uint8_t> tampered = request;
  tampered[30] ^= 1;
  CHECK(!parsed.parseRequest(tampered.data(), tampered.size()));
  // Without FINGERPRINT (the length field fixed up), the digest is what fails.
  std::vector<uint8_t> bare(request.begin(), request.end() - 8);
  bare[3] = static_cast<uint8_t>(bare[3] - 8);
  CHECK(parsed.parseRequest(bare.data(), bare.size()));
  CHECK(!parsed.hasFingerprint() && parsed.verifyIntegrity(kPassword));
  bare[30] ^= 1;
  CHECK(parsed.parseRequest(bare.data(), bare.size()) && !parsed.verifyIntegrity(kPassword));
  // Answers, indications and truncations are not requests.
  std::vector<uint8_t> success = request;
  success[0] = 0x01;
  success[1] = 0x01;
  CHECK(!parsed.parseRequest(success.data(), success.size()));
  CHECK(!parsed.parseRequest(request.data(), request.size() - 4));
  std::printf("RFC 5769 2.1 request: tampered, truncated and non-requests refused\n");

  // Responses: our XOR-MAPPED-ADDRESS for the vectors' addresses under their transaction id.
  std::vector<uint8_t> withId = request;
  const std::vector<uint8_t> responseId = fromHex("b7e7a701bc34d686fa87dfae");
  std::memcpy(withId.data() + 8, responseId.data(), 12);
  CHECK(parsed.parseRequest(withId.data(), withId.size()));
  uint8_t out[StunBindingMessage::kMaxResponseSize];
  size_t size = parsed.writeSuccess(endpoint("192.0.2.1", 32853), kPassword, out, sizeof(out));
  CHECK(size == 20 + 12 + 24 + 8);
  CHECK(toHex(out + 20, 12) == kXorV4);
  CHECK(toHex(out, 2) == "0101" && toHex(out + 8, 12) == toHex(responseId));
  size = parsed.writeSuccess(endpoint("2001:db8:1234:5678:11:2233:4455:6677", 32853), kPassword, out, sizeof(out));
  CHECK(size == 20 + 24 + 24 + 8);
  CHECK(toHex(out + 20, 24) == kXorV6);
  CHECK(parsed.writeSuccess(endpoint("192.0.2.1", 1), kPassword, out, 40) == 0);
  std::printf("RFC 5769 2.2/2.3 XOR-MAPPED-ADDRESS: IPv4 and IPv6 match\n");

  // RFC 5769 §2.2 as the answer to a check of ours: parses as a success, not as a request.
  std::vector<uint8_t> answer = fromHex(kResponseV4);
  CHECK(parsed.parseSuccess(answer.data(), answer.size()));
  CHECK(parsed.hasFingerprint() && parsed.verifyIntegrity(kPassword) && !parsed.verifyIntegrity("VOkJxbRl1RmTxUk/WvJxBu"));
  CHECK(toHex(parsed.transactionId(), 12) == toHex(responseId));
  CHECK(!parsed.parseRequest(answer.data(), answer.size()));
  CHECK(!parsed.parseSuccess(request.data(), request.size()));
  answer[40] ^= 1;
  CHECK(!parsed.parseSuccess(answer.data(), answer.size()));
  std::printf("RFC 5769 2.2 response: parsed as a success, integrity and fingerprint hold\n");

  // Our own check, read back: RFC 5769 §2.1's attributes but SOFTWARE, in IceAgent #check's order.
  BindingCheck check;
  std::memcpy(check.transactionId, request.data() + 8, 12);
  check.username = "evtj:h6vY";
  check.priority = 0x6e0001ff;
  check.tieBreaker = 0x932ff9b151263b36ull;
  check.password = kPassword;
  uint8_t written[BindingCheck::kMaxSize];
  size = check.write(written, sizeof(written));
  CHECK(toHex(written, size) ==
        "000100442112a442b7e7a701bc34d686fa87dfae"
        "000600096576746a3a6836765900000000240004"
        "6e0001ff80290008932ff9b151263b36"
        + toHex(written + size - 32, 32));
  CHECK(parsed.parseRequest(written, size) && parsed.verifyIntegrity(kPassword) && parsed.usernameIs("evtj", "h6vY"));
  CHECK(parsed.controlled() && !parsed.useCandidate() && parsed.hasFingerprint());
  CHECK(check.write(written, size - 1) == 0);
  std::printf("our Binding request: the vector's attributes, read back with integrity and fingerprint\n");

  // CRC-32 check value (ISO-HDLC).
  CHECK(crc32(reinterpret_cast<const uint8_t*>("123456789"), 9) == 0xcbf43926u);

  if (failures() > 0) {
    std::fprintf(stderr, "%d checks failed\n", failures());
    return 1;
  }
  std::printf("all vectors passed\n");
  return 0;
}
