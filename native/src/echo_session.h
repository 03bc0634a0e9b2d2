// One echo session on the data-plane thread: the remotes ICE allowed, the selected one, its
// DTLS transport and its media echo. Created on the JavaScript thread, handed over by command,
// and from then on touched by the data-plane thread only (its counters excepted).
#pragma once

#include <sys/socket.h>

#include <memory>
#include <string>
#include <vector>

#include "demux.h"
#include "dtls_transport.h"
#include "endpoint.h"
#include "media_echo.h"
#include "plane_event.h"
#include "session_counters.h"

namespace echo {

class UdpSocket;

struct SessionOptions {
  int socket = 0;
  DtlsRole role = DtlsRole::Server;
  Fingerprint remoteFingerprint;
  std::vector<SrtpProfile> profiles;
  MediaConfig media;
};

class EchoSession : private DtlsListener, private MediaListener {
 public:
  static constexpr size_t kMaxAllowedRemotes = 16;

  EchoSession(int id, SessionOptions options, DtlsContext& dtls, EventSink& events,
              std::shared_ptr<SessionCounters> counters);
  bool init(std::string& error);

  int id() const { return id_; }
  int socketId() const { return socketId_; }
  SessionCounters& counters() { return *counters_; }

  /** Thread side: the socket it sends on, once the plane has placed it. */
  void attach(UdpSocket* socket) { socket_ = socket; }

  /**
   * `local`: the local address the remote reaches (invalid: not known). True when it stopped
   * allowing another endpoint to make room (`evicted`).
   */
  bool allowRemote(const Endpoint& remote, const Endpoint& local, Endpoint& evicted);
  const std::vector<Endpoint>& allowed() const { return allowed_; }
  void selectRemote(const Endpoint& remote, const Endpoint& local);

  /**
   * A datagram from one of its allowed remotes, in place, that reached local address `local`.
   * For RTP and RTCP, the size of the echo to send back (to replyTo()), else 0.
   */
  size_t onDatagram(PacketKind kind, uint8_t* data, size_t size, size_t capacity, const Endpoint& from,
                    const Endpoint& local);
  /**
   * Where the echo goes: the selected remote, or null for "where it came from"; `source` is the
   * local address it leaves from (the one the selected remote last reached).
   */
  const sockaddr_storage* replyTo(socklen_t& size, const Endpoint*& source) const;

  bool sendApplicationData(const uint8_t* data, size_t size);
  /** close_notify if connected; the plane frees the session right after. */
  void close();

  int64_t dtlsTimeoutMs() const { return dtls_.timeoutMs(); }
  void onDtlsTimeout() { dtls_.onTimeout(); }
  bool handshaking() const;

 private:
  void onDtlsSend(const uint8_t* data, size_t size) override;
  void onDtlsConnected(SrtpProfile profile, const uint8_t* material, size_t size) override;
  void onDtlsFailed(const std::string& reason) override;
  void onDtlsClosed() override;
  void onDtlsData(const uint8_t* data, size_t size) override;
  void onRtcpBye(const std::string& mid, uint32_t ssrc) override;

  const int id_;
  const int socketId_;
  EventSink& events_;
  std::shared_ptr<SessionCounters> counters_;
  Fingerprint fingerprint_;
  std::vector<SrtpProfile> profiles_;
  DtlsTransport dtls_;
  MediaEcho media_;
  UdpSocket* socket_ = nullptr;
  std::vector<Endpoint> allowed_;
  /** The local address each allowed remote reaches, as ICE said it or as its datagrams show. */
  std::vector<Endpoint> allowedLocals_;
  Endpoint selected_;
  /** What goes to the selected remote leaves from here: the address its datagrams last reached. */
  Endpoint selectedLocal_;
  sockaddr_storage selectedAddress_{};
  socklen_t selectedAddressSize_ = 0;
  /**
   * Where DTLS goes before ICE selected a pair, and from: wherever the last DTLS came from, to
   * whichever of our addresses it reached. A client that is DTLS client (libdatachannel) shakes
   * hands on its first working pair, seconds before it nominates one.
   */
  Endpoint dtlsPeer_;
  Endpoint dtlsPeerLocal_;
};

}  // namespace echo
