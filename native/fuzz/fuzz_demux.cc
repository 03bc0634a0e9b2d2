// libFuzzer target: the RFC 7983 demultiplexer and the first look each kind of packet gets on
// the data-plane thread before any key is involved (RTP header, SRTCP trailer).
#include <cstddef>
#include <cstdint>

#include "../src/demux.h"
#include "../src/rtp_packet.h"
#include "../src/srtp_cipher.h"

using namespace echo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static SrtpCipher* cipher = [] {
    static SrtpCipher c;
    uint8_t key[30] = {1, 2, 3};
    c.init(SrtpProfile::AesCm128HmacSha1_80, key, key + 16);
    return &c;
  }();
  switch (classify(data, size)) {
    case PacketKind::Rtp: {
      RtpHeader header;
      if (parseRtpHeader(data, size, header)) {
        const uint8_t* value = nullptr;
        size_t valueSize = 0;
        if (findHeaderExtension(data, header, data[size - 1], &value, &valueSize)) {
          volatile uint8_t sink = valueSize ? value[valueSize - 1] : 0;
          (void)sink;
        }
      }
      break;
    }
    case PacketKind::Rtcp: {
      uint32_t index = 0;
      cipher->readRtcpIndex(data, size, index);
      break;
    }
    default:
      break;
  }
  return 0;
}
