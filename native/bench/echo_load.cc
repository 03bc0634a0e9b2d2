// A simple load generator for the native plane's echo (scripts/bench-native-echo.mjs drives
// it): N client sessions, each with its own UDP socket, DTLS client and SRTP keys, built from
// the plane's own classes and Debian's OpenSSL, sending RTP at a fixed total rate and counting
// (and spot-checking) the echoes. Its own CPU is not what is measured: the server's is.
//
// Protocol on stdin/stdout, one line each:
//   -> ready <fingerprint> <port,port,...>        our certificate and client ports
//   <- go <host> <fingerprint> <port,port,...>    the server's address and one port per session
//   -> connected <ms>                             every DTLS handshake done
//   -> sending                                    the measured phase starts
//   -> result sent=<n> received=<n> bad=<n> seconds=<s> rttP50us=<µs> rttP99us=<µs>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "../src/byte_order.h"
#include "../src/dtls_transport.h"
#include "../src/srtp_cipher.h"
#include "../src/udp_socket.h"

using namespace echo;

namespace {

double nowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Session : DtlsListener {
  std::unique_ptr<UdpSocket> socket;
  std::unique_ptr<DtlsTransport> dtls;
  Endpoint server;
  bool connected = false;
  bool failed = false;
  SrtpCipher tx;
  SrtpCipher rx;
  uint32_t ssrc = 0;
  uint16_t seq = 0;
  uint32_t roc = 0;
  /** When each sequence number went out, for the echo's round-trip time. */
  std::vector<double> sentAt = std::vector<double>(65536, 0);

  void onDtlsSend(const uint8_t* data, size_t size) override { socket->sendTo(server, data, size); }
  void onDtlsConnected(SrtpProfile profile, const uint8_t* material, size_t size) override {
    const SrtpProfileInfo* info = srtpProfileInfo(profile);
    if (!info || size != 2 * (info->keySize + info->saltSize)) {
      failed = true;
      return;
    }
    const uint8_t* clientKey = material;
    const uint8_t* serverKey = material + info->keySize;
    const uint8_t* clientSalt = material + 2 * info->keySize;
    const uint8_t* serverSalt = clientSalt + info->saltSize;
    connected = tx.init(profile, clientKey, clientSalt) && rx.init(profile, serverKey, serverSalt);
    failed = !connected;
  }
  void onDtlsFailed(const std::string& reason) override {
    std::fprintf(stderr, "DTLS failed: %s\n", reason.c_str());
    failed = true;
  }
  void onDtlsClosed() override {}
  void onDtlsData(const uint8_t*, size_t) override {}
};

std::vector<std::string> split(const std::string& text, char by) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, by);) parts.push_back(part);
  return parts;
}

}  // namespace

int main(int argc, char** argv) {
  int sessions = 16, rate = 32000, payload = 1200, handshakeBatch = 1 << 30;
  double seconds = 10;
  std::string profileName = "SRTP_AEAD_AES_128_GCM";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--sessions") sessions = std::stoi(value);
    else if (flag == "--rate") rate = std::stoi(value);
    else if (flag == "--seconds") seconds = std::stod(value);
    else if (flag == "--payload") payload = std::stoi(value);
    else if (flag == "--profile") profileName = value;
    else if (flag == "--handshake-batch") handshakeBatch = std::stoi(value);
  }
  const SrtpProfileInfo* profile = srtpProfileByName(profileName);
  std::string error;
  auto context = DtlsContext::create(error);
  if (!profile || !context) {
    std::fprintf(stderr, "setup: %s\n", error.c_str());
    return 2;
  }
  std::vector<std::unique_ptr<Session>> all;
  std::string ports;
  for (int i = 0; i < sessions; i++) {
    auto session = std::make_unique<Session>();
    session->socket = UdpSocket::open("127.0.0.1", 0, 0, error);
    if (!session->socket) {
      std::fprintf(stderr, "socket: %s\n", error.c_str());
      return 2;
    }
    session->ssrc = 0x10000 + i;
    session->seq = static_cast<uint16_t>(i * 4000);
    ports += (i ? "," : "") + std::to_string(session->socket->local().port);
    all.push_back(std::move(session));
  }
  std::cout << "ready " << context->certificate().sha256Fingerprint() << " " << ports << std::endl;

  std::string line;
  if (!std::getline(std::cin, line)) return 2;
  const auto words = split(line, ' ');
  if (words.size() != 4 || words[0] != "go") return 2;
  Fingerprint serverFingerprint;
  if (!Fingerprint::parse("sha-256", words[2], serverFingerprint, error)) {
    std::fprintf(stderr, "fingerprint: %s\n", error.c_str());
    return 2;
  }
  const auto serverPorts = split(words[3], ',');
  if (static_cast<int>(serverPorts.size()) != sessions) return 2;
  for (int i = 0; i < sessions; i++) {
    Session& s = *all[i];
    endpointFromText(words[1], std::stoi(serverPorts[i]), s.server);
    s.dtls = std::make_unique<DtlsTransport>(*context, s, DtlsRole::Client);
    if (!s.dtls->init(serverFingerprint, {profile->profile}, error)) return 2;
  }

  std::vector<pollfd> fds(sessions);
  for (int i = 0; i < sessions; i++) fds[i] = pollfd{all[i]->socket->fd(), POLLIN, 0};
  ReceiveBatch batch;
  uint64_t received = 0, bad = 0;
  std::vector<double> rtts;
  std::vector<uint8_t> expected(payload);
  std::mt19937 random(42);
  for (auto& b : expected) b = static_cast<uint8_t>(random());

  auto pump = [&](bool media) {
    poll(fds.data(), fds.size(), 1);
    for (int i = 0; i < sessions; i++) {
      Session& s = *all[i];
      if (!(fds[i].revents & POLLIN)) continue;
      for (int round = 0; round < 8; round++) {
        const int count = s.socket->receive(batch);
        for (int k = 0; k < count; k++) {
          uint8_t* data = batch.data(k);
          size_t size = batch.size(k);
          if (data[0] >= 20 && data[0] <= 63) {
            s.dtls->receive(data, size);
          } else if (media && data[0] >= 128 && data[0] <= 191 && size > 12) {
            received++;
            const double sentAt = s.sentAt[load16(data + 2)];
            if (sentAt > 0 && rtts.size() < 2000000) rtts.push_back(nowSeconds() - sentAt);
            // Spot-check one echo in 64: it decrypts, carries another SSRC, and the payload came back.
            if ((received & 63) == 0) {
              const uint16_t seq = load16(data + 2);
              const uint64_t index = (uint64_t{s.roc - (seq > s.seq ? 1u : 0u)} << 16) | seq;
              if (!s.rx.unprotectRtp(data, size, 12, load32(data + 8), index) || load32(data + 8) == s.ssrc ||
                  size != 12 + expected.size() || memcmp(data + 12, expected.data(), expected.size()) != 0) {
                bad++;
              }
            }
          }
        }
        if (count < kBatchSize) break;
      }
    }
    for (auto& session : all) {
      if (session->dtls->timeoutMs() == 0) session->dtls->onTimeout();
    }
  };

  const double handshakeStart = nowSeconds();
  int started = 0;
  for (;;) {
    // At most handshakeBatch handshakes at a time.
    int open = 0;
    for (int i = 0; i < started; i++) open += !all[i]->connected;
    while (started < sessions && open < handshakeBatch) {
      all[started++]->dtls->start();
      open++;
    }
    pump(false);
    int done = 0;
    for (auto& s : all) {
      if (s->failed) return 3;
      done += s->connected;
    }
    if (done == sessions) break;
    if (nowSeconds() - handshakeStart > 30) {
      std::fprintf(stderr, "handshakes timed out (%d of %d)\n", done, sessions);
      return 3;
    }
  }
  std::cout << "connected " << static_cast<int>((nowSeconds() - handshakeStart) * 1000) << std::endl;
  std::cout << "sending" << std::endl;

  uint8_t packet[kDatagramCapacity];
  uint64_t sent = 0;
  const double start = nowSeconds();
  int next = 0;
  while (nowSeconds() - start < seconds) {
    const uint64_t due = static_cast<uint64_t>((nowSeconds() - start) * rate);
    while (sent < due) {
      Session& s = *all[next];
      next = (next + 1) % sessions;
      packet[0] = 0x80;
      packet[1] = 96;
      store16(packet + 2, s.seq);
      store32(packet + 4, s.seq * 3000u);
      store32(packet + 8, s.ssrc);
      memcpy(packet + 12, expected.data(), expected.size());
      size_t size = 12 + expected.size();
      s.tx.protectRtp(packet, size, sizeof(packet), 12, s.ssrc, (uint64_t{s.roc} << 16) | s.seq);
      s.sentAt[s.seq] = nowSeconds();
      s.socket->sendTo(s.server, packet, size);
      if (++s.seq == 0) s.roc++;
      sent++;
    }
    pump(true);
  }
  const double end = nowSeconds();
  while (nowSeconds() - end < 0.5) pump(true);
  std::sort(rtts.begin(), rtts.end());
  auto percentile = [&rtts](double p) { return rtts.empty() ? 0.0 : rtts[static_cast<size_t>(p * (rtts.size() - 1))] * 1e6; };
  std::cout << "result sent=" << sent << " received=" << received << " bad=" << bad << " seconds=" << (end - start)
            << " rttP50us=" << percentile(0.5) << " rttP99us=" << percentile(0.99) << std::endl;
  return 0;
}
