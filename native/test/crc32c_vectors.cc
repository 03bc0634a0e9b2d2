// The plane's CRC32c (src/crc32c.cc), which seals the SCTP packets JavaScript hands it, against
// RFC 3720 B.4's vectors on both of its paths (the SSE 4.2 instruction where the processor has
// it, the table everywhere), the two paths against each other at every length and alignment,
// and sealSctpPacket against a packet from RFC 9260's layout.
#include <cstring>
#include <random>

#include "../src/crc32c.h"
#include "check.h"

using namespace echo;

int main() {
  // RFC 3720 B.4 (iSCSI's CRC32c examples): 32 bytes of zeros, of ones, ascending, descending.
  uint8_t zeros[32] = {}, ones[32], ascending[32], descending[32];
  memset(ones, 0xFF, sizeof(ones));
  for (int i = 0; i < 32; i++) ascending[i] = static_cast<uint8_t>(i), descending[i] = static_cast<uint8_t>(31 - i);
  const struct {
    const uint8_t* data;
    uint32_t crc;
  } vectors[] = {{zeros, 0x8A9136AAu}, {ones, 0x62A8AB43u}, {ascending, 0x46DD794Eu}, {descending, 0x113FDB5Cu}};
  for (const auto& vector : vectors) {
    CHECK(crc32c(vector.data, 32) == vector.crc);
    CHECK(crc32cPortable(vector.data, 32) == vector.crc);
  }
  // The usual check value, "123456789".
  CHECK(crc32c(reinterpret_cast<const uint8_t*>("123456789"), 9) == 0xE3069283u);
  std::printf("RFC 3720 B.4: both paths match\n");

  std::mt19937 random(9260);
  std::vector<uint8_t> bytes(4096 + 16);
  for (auto& b : bytes) b = static_cast<uint8_t>(random());
  int compared = 0;
  for (size_t offset = 0; offset < 8; offset++) {
    for (size_t size = 0; size <= 1500; size++, compared++) CHECK(crc32c(bytes.data() + offset, size) == crc32cPortable(bytes.data() + offset, size));
  }
  std::printf("both paths agree: %d lengths and alignments\n", compared);

  // An SCTP packet: its checksum field is zero while the CRC is computed, then holds it least
  // significant byte first; whatever the field held before does not matter.
  std::vector<uint8_t> packet(bytes.begin(), bytes.begin() + 1052);
  CHECK(sealSctpPacket(packet.data(), packet.size()));
  std::vector<uint8_t> zeroed = packet;
  memset(zeroed.data() + 8, 0, 4);
  const uint32_t crc = crc32cPortable(zeroed.data(), zeroed.size());
  CHECK(packet[8] == (crc & 0xFF) && packet[9] == ((crc >> 8) & 0xFF) && packet[10] == ((crc >> 16) & 0xFF) && packet[11] == (crc >> 24));
  std::vector<uint8_t> again = packet;
  CHECK(sealSctpPacket(again.data(), again.size()) && again == packet);
  CHECK(!sealSctpPacket(packet.data(), 11));
  std::printf("sealSctpPacket: the field, idempotent, short packets refused\n");

  // What the plane tells JavaScript of each decrypted record: the sealed packet holds, any changed
  // bit or a cut packet does not, the field's own bytes included.
  CHECK(sctpChecksumValid(packet.data(), packet.size()));
  for (size_t at : {size_t{0}, size_t{8}, size_t{11}, size_t{12}, packet.size() - 1}) {
    std::vector<uint8_t> changed = packet;
    changed[at] ^= 0x10;
    CHECK(!sctpChecksumValid(changed.data(), changed.size()));
  }
  CHECK(!sctpChecksumValid(packet.data(), packet.size() - 1));
  std::vector<uint8_t> header(packet.begin(), packet.begin() + 12);
  CHECK(sealSctpPacket(header.data(), header.size()) && sctpChecksumValid(header.data(), header.size()));
  CHECK(!sctpChecksumValid(packet.data(), 11));
  std::printf("sctpChecksumValid: sealed packets hold, changed or cut ones do not\n");

  if (failures() > 0) {
    std::fprintf(stderr, "%d checks failed\n", failures());
    return 1;
  }
  std::printf("all vectors passed\n");
  return 0;
}
