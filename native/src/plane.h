// The data plane: one thread that owns the sockets and sessions, reads and writes in batches,
// and runs the echo without JavaScript. The JavaScript thread talks to it through a command
// queue (never blocking on it) and reads events and counters back; only the application data it
// sends goes out on its own thread, under the session's DTLS lock (EchoSession).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dtls_transport.h"
#include "echo_session.h"
#include "event_loop.h"
#include "playback.h"
#include "plane_event.h"
#include "session_counters.h"
#include "udp_socket.h"

namespace echo {

struct PlaneOptions {
  /**
   * How long a busy data-plane thread (woken again within 1 ms) lets packets gather before it
   * reads them, in microseconds: fewer, bigger batches for at most this much more echo delay.
   * 0 reads at once.
   */
  int coalesceMicroseconds = 200;
  /**
   * Answer a session's Binding requests on this thread when it gave ICE credentials (the fast
   * path of answerBindingRequest). False: every request waits for JavaScript's ICE agent.
   */
  bool answerIceChecks = true;
};

class Plane : private EventSink {
 public:
  /** Called on the data-plane thread when events are waiting and none were before. */
  using Notify = std::function<void()>;

  static std::unique_ptr<Plane> create(Notify notify, const PlaneOptions& options, std::string& error);
  ~Plane() override;
  Plane(const Plane&) = delete;
  Plane& operator=(const Plane&) = delete;

  const std::string& fingerprint() const { return dtls_->certificate().sha256Fingerprint(); }

  // ---- JavaScript thread ----
  int openSocket(const std::string& address, int portMin, int portMax, Endpoint& local, std::string& error);
  void closeSocket(int socket);
  /** `from`: the local address it leaves from (invalid: the kernel chooses). */
  bool send(int socket, const Endpoint& to, std::vector<uint8_t> data, const Endpoint& from = Endpoint());
  /** The new session's id, or 0 with `error` set. */
  int createSession(SessionOptions options, std::string& error);
  /** `local`: the local address the remote reaches (invalid: not known yet). */
  void allowRemote(int session, const Endpoint& remote, const Endpoint& local = Endpoint());
  void selectRemote(int session, const Endpoint& remote, const Endpoint& local = Endpoint());
  /** From now on the session's Binding requests all go up unanswered (its agent changed role). */
  bool stopIceAnswers(int session);
  /**
   * Records of application data, in order, protected and sent on this thread (EchoSession::
   * sendApplicationData). False when the session is unknown or not connected; a datagram the
   * socket refuses is lost as on the wire (SCTP retransmits).
   */
  bool sendApplicationData(int session, const std::vector<std::vector<uint8_t>>& records);
  /** Playback (WHEP): `publisher`'s packets go to `viewer` as `tracks` map them. False: an unknown session. */
  bool addViewer(int publisher, int viewer, std::vector<PlayedTrack> tracks);
  bool removeViewer(int viewer);
  /** A PLI to the publisher's source on `mid`; false when the session is unknown or not connected. */
  bool requestKeyframe(int publisher, const std::string& mid);
  /** A viewer's NACK on `viewerMid` (its sequence numbers), to its publisher's source. */
  bool nackForViewer(int viewer, const std::string& viewerMid, std::vector<uint16_t> sequences);
  /** Null when the session is unknown or closed. */
  std::shared_ptr<const SessionCounters> counters(int session) const;
  void closeSession(int session);
  /** Stops and joins the thread (sessions send close_notify first). Idempotent. */
  void stop();
  bool stopped() const { return stopped_; }
  /** The events waiting, minus those of sessions and sockets already closed. */
  void takeEvents(std::vector<PlaneEvent>& out);
  /** Test hook: the data-plane thread dies of a segmentation fault. */
  void crashForTest();

 private:
  struct SocketSlot {
    int id = 0;
    std::unique_ptr<UdpSocket> socket;
    int sessions = 0;
    bool closing = false;
    /** Closed in this turn of the loop: still in the ready list, no longer read. */
    bool gone = false;
    /** Validated remote address -> session: how a shared socket tells its sessions apart. */
    std::unordered_map<Endpoint, EchoSession*, EndpointHash> routes;
    /** Sessions whose checks the plane answers, by local ufrag (several on a mux socket). */
    std::unordered_map<std::string, EchoSession*> ufrags;
  };
  struct Command {
    enum class Type : uint8_t {
      AddSocket,
      CloseSocket,
      Send,
      AddSession,
      AllowRemote,
      SelectRemote,
      StopIceAnswers,
      CloseSession,
      AddViewer,
      RemoveViewer,
      RequestKeyframe,
      Nack,
      Crash,
      Stop
    };
    Type type = Type::Stop;
    int socket = 0;
    int session = 0;
    Endpoint endpoint;
    /** Send: the source; AllowRemote, SelectRemote: the local address the remote reaches. */
    Endpoint local;
    std::vector<uint8_t> data;
    std::unique_ptr<SocketSlot> slot;
    std::unique_ptr<EchoSession> echo;
    /** AddViewer: the viewer (`session` is the publisher). */
    int viewer = 0;
    std::vector<PlayedTrack> tracks;
    /** RequestKeyframe, Nack: the section. */
    std::string mid;
    std::vector<uint16_t> sequences;
  };

  explicit Plane(Notify notify) : notify_(std::move(notify)) {}
  void post(PlaneEvent&& event) override;
  void postCommand(Command&& command);

  // ---- data-plane thread ----
  void run();
  void drain(SocketSlot& slot);
  void handleDatagram(SocketSlot& slot, int index);
  /**
   * The ICE fast path: a Binding request for a session of this socket that its controlled
   * agent would answer with success is answered here, from the address it reached, and its
   * sender allowed; the first from each address triggers our check back (`event` says which),
   * and a nomination of a pair whose check succeeded selects it. True when it was answered;
   * anything else is JavaScript's.
   */
  bool answerBindingRequest(SocketSlot& slot, const uint8_t* data, size_t size, const Endpoint& from,
                            const Endpoint& local, PlaneEvent& event);
  /** A STUN datagram from one of `session`'s remotes that may answer a check the plane sent. */
  void takeCheckAnswer(EchoSession& session, const uint8_t* data, size_t size, const Endpoint& from,
                       const Endpoint& local);
  /** The pair ICE chose, unless one was chosen already (by JavaScript or here). */
  void selectOnce(EchoSession& session, const Endpoint& remote, const Endpoint& local);
  /** `remote` validated for `session` (routes on a shared socket follow it). */
  void allowRemoteOn(SocketSlot& slot, EchoSession& session, const Endpoint& remote, const Endpoint& local);
  void runCommands();
  void runCommand(Command& command);
  int serviceTimers();
  /** Returns `timeout`, shortened to when a pending trim is due. */
  int trimMemory(int timeout);
  EchoSession* findSession(int id);
  SocketSlot* findSocket(int id);
  void destroySession(EchoSession* session);
  void destroySocket(SocketSlot* slot);

  Notify notify_;
  std::unique_ptr<DtlsContext> dtls_;
  EventLoop loop_;
  std::thread thread_;
  bool stopped_ = false;
  int coalesceUs_ = 0;
  bool answerIceChecks_ = true;

  // JavaScript thread only.
  int nextSocketId_ = 1;
  int nextSessionId_ = 1;
  std::unordered_set<int> openSockets_;
  struct OpenSession {
    std::shared_ptr<SessionCounters> counters;
    /**
     * For sendApplicationData only. Alive while it is in openSessions_: the data-plane thread
     * frees a session for CloseSession, which this thread posts after erasing it here, or at
     * stop(), which joins that thread before it clears openSessions_.
     */
    EchoSession* session = nullptr;
  };
  std::unordered_map<int, OpenSession> openSessions_;

  // Shared, under their mutexes.
  std::mutex commandMutex_;
  std::vector<Command> commands_;
  std::mutex eventMutex_;
  std::vector<PlaneEvent> events_;
  size_t eventBytes_ = 0;
  uint64_t eventsDropped_ = 0;

  // Data-plane thread only.
  bool stopping_ = false;
  std::vector<Command> running_;
  std::unordered_map<int, std::unique_ptr<SocketSlot>> sockets_;
  /** Sockets closed in this turn, freed at its end (the ready list may still name them). */
  std::vector<std::unique_ptr<SocketSlot>> closedSockets_;
  std::unordered_map<int, std::unique_ptr<EchoSession>> sessions_;
  std::unordered_set<EchoSession*> handshaking_;
  /** Application data went up to JavaScript since the last wake-up (Plane::run skips its pause). */
  bool appDataPosted_ = false;
  Playback playback_;
  bool timersDirty_ = false;
  bool handshakesEnded_ = false;
  int64_t lastTrimAt_ = 0;
  int64_t nextTimerAt_ = INT64_MAX;
  ReceiveBatch receiveBatch_;
  SendBatch sendBatch_;
};

}  // namespace echo
