// One echo session on the data-plane thread: the remotes ICE allowed, the selected one, its
// DTLS transport and its media echo. Created on the JavaScript thread, handed over by command,
// and from then on touched by the data-plane thread only, with two exceptions: its counters, and
// the application data JavaScript sends (sendApplicationData), which takes `dtlsMutex_` as every
// use of the DTLS transport and every change of where the session sends does.
#pragma once

#include <sys/socket.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "demux.h"
#include "dtls_transport.h"
#include "endpoint.h"
#include "media_echo.h"
#include "plane_event.h"
#include "session_counters.h"
#include "triggered_checks.h"

namespace echo {

class UdpSocket;
class EchoSession;

/** Where a publishing session's authentic RTP goes besides its own echo (playback.h). */
class RtpTap {
 public:
  virtual ~RtpTap() = default;
  virtual void onPublisherRtp(EchoSession& publisher, size_t section, const uint8_t* packet, size_t size,
                              const RtpHeader& header, uint64_t index) = 0;
};

/**
 * A controlled ICE agent's credentials for one session, so the plane can answer its checks
 * (plane.cc answerBindingRequest): ours (the answer's ufrag and pwd) and the offer's ufrag.
 */
struct IceCredentials {
  std::string localUfrag;
  std::string localPwd;
  std::string remoteUfrag;
  bool empty() const { return localUfrag.empty() || localPwd.empty() || remoteUfrag.empty(); }
};

struct SessionOptions {
  int socket = 0;
  /** Empty: the plane answers none of its checks (the ICE agent in JavaScript does). */
  IceCredentials ice;
  /** With `ice`: the plane also sends the triggered checks and selects (triggered_checks.h). */
  TriggeredCheckConfig checks;
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

  const IceCredentials& ice() const { return ice_; }
  /** The plane answers its Binding requests: it has credentials and JavaScript did not stop it. */
  bool answersIce() const { return answersIce_; }
  void stopAnsweringIce() { answersIce_ = false; }
  TriggeredChecks& triggeredChecks() { return checks_; }

  /** Thread side: the socket it sends on, once the plane has placed it. */
  void attach(UdpSocket* socket) {
    std::lock_guard<std::mutex> lock(dtlsMutex_);
    socket_ = socket;
  }

  /**
   * `local`: the local address the remote reaches (invalid: not known). True when it stopped
   * allowing another endpoint to make room (`evicted`).
   */
  bool allowRemote(const Endpoint& remote, const Endpoint& local, Endpoint& evicted);
  const std::vector<Endpoint>& allowed() const { return allowed_; }
  void selectRemote(const Endpoint& remote, const Endpoint& local);
  bool hasSelected() const { return selected_.valid(); }

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

  /**
   * JavaScript thread: records of application data (SCTP packets), in order, protected and sent
   * to the peer from the calling thread. An SCTP echo is a round trip through JavaScript; waking
   * the data-plane thread to send it back would add a third thread hop (and its wait for a time
   * slice on a busy machine) to every message. How many records went out (all unless DTLS is not
   * connected or the socket refused one).
   */
  size_t sendApplicationData(const std::vector<std::vector<uint8_t>>& records);
  /** close_notify if connected; the plane frees the session right after. */
  void close();

  // ---- playback (WHEP), data-plane thread ----
  /** Where its RTP goes besides the echo (the plane's Playback while it has viewers), or null. */
  void setTap(RtpTap* tap) { tap_ = tap; }
  const MediaEcho& media() const { return media_; }
  /** The SRTP keys are there: what it plays can go out. */
  bool mediaReady() const { return media_.ready(); }
  /**
   * Protects and sends a packet this session plays (a publisher's, rewritten for it: `ssrc`,
   * 48-bit `index`) to its remote; `capacity` bounds the growth by the SRTP tag.
   */
  bool sendPlayed(uint8_t* packet, size_t size, size_t capacity, size_t headerSize, uint32_t ssrc, uint64_t index);
  /** A PLI (`keyframe`), else a NACK for `sequences`, to the client's source on section `mid`. */
  bool sendFeedback(const std::string& mid, bool keyframe, const std::vector<uint16_t>& sequences);

  int64_t dtlsTimeoutMs() const;
  void onDtlsTimeout();
  bool handshaking() const;

 private:
  void onDtlsSend(const uint8_t* data, size_t size) override;
  void onDtlsConnected(SrtpProfile profile, const uint8_t* material, size_t size) override;
  void onDtlsFailed(const std::string& reason) override;
  void onDtlsClosed() override;
  void onDtlsData(const uint8_t* data, size_t size) override;
  void onRtcpBye(const std::string& mid, uint32_t ssrc) override;
  void onRtpReceived(size_t section, const uint8_t* packet, size_t size, const RtpHeader& header,
                     uint64_t index) override;
  void onFeedback(const std::string& mid, bool keyframe, const uint16_t* sequences, size_t count) override;
  /**
   * Where datagrams to the peer go, copied under dtlsMutex_ by JavaScript's thread so it can send
   * without holding it: the selected remote, or before one is selected where the last DTLS came from.
   */
  struct PeerRoute {
    UdpSocket* socket = nullptr;
    bool selected = false;
    sockaddr_storage address{};
    socklen_t addressSize = 0;
    Endpoint local;
    Endpoint dtlsPeer;
    Endpoint dtlsPeerLocal;
  };
  /** Under dtlsMutex_ (or on the data-plane thread, the only writer). */
  PeerRoute route() const;
  static bool sendTo(const PeerRoute& route, const uint8_t* data, size_t size);
  /** `size` bytes of `segment`-byte datagrams to the selected remote in one send; false: send them singly. */
  static bool sendSegmentsTo(const PeerRoute& route, const uint8_t* data, size_t size, size_t segment);
  /** Data-plane thread: to the selected remote, or before one is selected to where the last DTLS came from. */
  bool sendToPeer(const uint8_t* data, size_t size);
  /** JavaScript's thread, without dtlsMutex_: what sendApplicationData's records became, runs of one size as one GSO send. */
  void sendOutgoing(const PeerRoute& route);
  static constexpr size_t kMaxSegments = 64;
  static constexpr size_t kMaxSegmentedBytes = 65000;
  /** What the gathering buffer may keep between calls: a burst of echoed messages, not a large message's. */
  static constexpr size_t kKeptGatherBytes = 64 * 1024;

  const int id_;
  const int socketId_;
  const IceCredentials ice_;
  bool answersIce_;
  TriggeredChecks checks_;
  EventSink& events_;
  std::shared_ptr<SessionCounters> counters_;
  Fingerprint fingerprint_;
  std::vector<SrtpProfile> profiles_;
  /**
   * Held by whichever thread uses `dtls_` (OpenSSL's SSL object is not thread-safe) or changes
   * where sendToPeer sends (`selected*_`, `dtlsPeer*_`, `socket_`); the data-plane thread reads
   * those without it, as their only writer.
   */
  mutable std::mutex dtlsMutex_;
  DtlsTransport dtls_;
  MediaEcho media_;
  UdpSocket* socket_ = nullptr;
  RtpTap* tap_ = nullptr;
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
  /**
   * Under dtlsMutex_: while sendApplicationData writes its records, the datagrams DTLS makes of
   * them gather here (back to back, each one's size in `gatheredSizes_`) instead of going out one
   * by one.
   */
  bool gathering_ = false;
  std::vector<uint8_t> gathered_;
  std::vector<uint16_t> gatheredSizes_;
  /**
   * JavaScript's thread only: the gathered datagrams, swapped out under the lock and sent after it.
   * Sending them under it (sendmsg on loopback runs the receiver's side too) kept the data-plane
   * thread waiting on the lock for the session's next record, a futex sleep and wake-up each time.
   */
  std::vector<uint8_t> outgoing_;
  std::vector<uint16_t> outgoingSizes_;
};

}  // namespace echo
