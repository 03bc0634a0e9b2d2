#include "plane.h"

#include <pthread.h>
#include <time.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <chrono>
#include <climits>

#include "stun_binding.h"

namespace echo {

namespace {

// Past these, STUN and application data events are dropped (a flood JavaScript cannot keep up
// with must not grow memory without bound); lifecycle events always go through.
constexpr size_t kMaxQueuedEvents = 65536;
constexpr size_t kMaxQueuedEventBytes = 32 * 1024 * 1024;
// Batches read from one socket before the next ready socket gets its turn.
constexpr int kBatchesPerTurn = 4;

int64_t nowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::unique_ptr<Plane> Plane::create(Notify notify, const PlaneOptions& options, std::string& error) {
  std::unique_ptr<Plane> plane(new Plane(std::move(notify)));
  plane->coalesceUs_ = options.coalesceMicroseconds;
  plane->answerIceChecks_ = options.answerIceChecks;
  plane->dtls_ = DtlsContext::create(error);
  if (!plane->dtls_ || !plane->loop_.init(error)) return nullptr;
  plane->thread_ = std::thread([p = plane.get()] { p->run(); });
  return plane;
}

Plane::~Plane() { stop(); }

// ---- JavaScript thread ---------------------------------------------------------------------

void Plane::postCommand(Command&& command) {
  bool wasEmpty;
  {
    std::lock_guard<std::mutex> lock(commandMutex_);
    wasEmpty = commands_.empty();
    commands_.push_back(std::move(command));
  }
  // The thread drains the wake-up before it takes the queue, so one per non-empty queue is enough.
  if (wasEmpty) loop_.wake();
}

int Plane::openSocket(const std::string& address, int portMin, int portMax, Endpoint& local, std::string& error) {
  if (stopped_) {
    error = "the plane is closed";
    return 0;
  }
  auto socket = UdpSocket::open(address, portMin, portMax, error);
  if (!socket) return 0;
  local = socket->local();
  Command command;
  command.type = Command::Type::AddSocket;
  command.slot.reset(new SocketSlot());
  command.slot->id = nextSocketId_++;
  command.slot->socket = std::move(socket);
  const int id = command.slot->id;
  openSockets_.insert(id);
  postCommand(std::move(command));
  return id;
}

void Plane::closeSocket(int socket) {
  if (stopped_ || openSockets_.erase(socket) == 0) return;
  Command command;
  command.type = Command::Type::CloseSocket;
  command.socket = socket;
  postCommand(std::move(command));
}

bool Plane::send(int socket, const Endpoint& to, std::vector<uint8_t> data, const Endpoint& from) {
  if (stopped_ || openSockets_.count(socket) == 0) return false;
  Command command;
  command.type = Command::Type::Send;
  command.socket = socket;
  command.endpoint = to;
  command.local = from;
  command.data = std::move(data);
  postCommand(std::move(command));
  return true;
}

int Plane::createSession(SessionOptions options, std::string& error) {
  if (stopped_) {
    error = "the plane is closed";
    return 0;
  }
  if (openSockets_.count(options.socket) == 0) {
    error = "unknown socket " + std::to_string(options.socket);
    return 0;
  }
  const int id = nextSessionId_;
  auto counters = std::make_shared<SessionCounters>();
  std::unique_ptr<EchoSession> session(new EchoSession(id, std::move(options), *dtls_, *this, counters));
  if (!session->init(error)) return 0;
  nextSessionId_++;
  openSessions_[id] = OpenSession{counters, session.get()};
  Command command;
  command.type = Command::Type::AddSession;
  command.session = id;
  command.echo = std::move(session);
  postCommand(std::move(command));
  return id;
}

void Plane::allowRemote(int session, const Endpoint& remote, const Endpoint& local) {
  if (stopped_ || openSessions_.count(session) == 0) return;
  Command command;
  command.type = Command::Type::AllowRemote;
  command.session = session;
  command.endpoint = remote;
  command.local = local;
  postCommand(std::move(command));
}

void Plane::selectRemote(int session, const Endpoint& remote, const Endpoint& local) {
  if (stopped_ || openSessions_.count(session) == 0) return;
  Command command;
  command.type = Command::Type::SelectRemote;
  command.session = session;
  command.endpoint = remote;
  command.local = local;
  postCommand(std::move(command));
}

bool Plane::stopIceAnswers(int session) {
  if (stopped_ || openSessions_.count(session) == 0) return false;
  Command command;
  command.type = Command::Type::StopIceAnswers;
  command.session = session;
  postCommand(std::move(command));
  return true;
}

bool Plane::sendApplicationData(int session, const std::vector<std::vector<uint8_t>>& records) {
  if (stopped_) return false;
  auto found = openSessions_.find(session);
  if (found == openSessions_.end() || !found->second.counters->connected.load(std::memory_order_acquire)) return false;
  found->second.session->sendApplicationData(records);
  return true;
}

bool Plane::addViewer(int publisher, int viewer, std::vector<PlayedTrack> tracks) {
  if (stopped_ || publisher == viewer || openSessions_.count(publisher) == 0 || openSessions_.count(viewer) == 0) {
    return false;
  }
  Command command;
  command.type = Command::Type::AddViewer;
  command.session = publisher;
  command.viewer = viewer;
  command.tracks = std::move(tracks);
  postCommand(std::move(command));
  return true;
}

bool Plane::removeViewer(int viewer) {
  if (stopped_ || openSessions_.count(viewer) == 0) return false;
  Command command;
  command.type = Command::Type::RemoveViewer;
  command.session = viewer;
  postCommand(std::move(command));
  return true;
}

bool Plane::requestKeyframe(int publisher, const std::string& mid) {
  if (stopped_) return false;
  auto found = openSessions_.find(publisher);
  if (found == openSessions_.end() || !found->second.counters->connected.load(std::memory_order_acquire)) return false;
  Command command;
  command.type = Command::Type::RequestKeyframe;
  command.session = publisher;
  command.mid = mid;
  postCommand(std::move(command));
  return true;
}

bool Plane::nackForViewer(int viewer, const std::string& viewerMid, std::vector<uint16_t> sequences) {
  if (stopped_ || sequences.empty() || openSessions_.count(viewer) == 0) return false;
  Command command;
  command.type = Command::Type::Nack;
  command.session = viewer;
  command.mid = viewerMid;
  command.sequences = std::move(sequences);
  postCommand(std::move(command));
  return true;
}

std::shared_ptr<const SessionCounters> Plane::counters(int session) const {
  auto found = openSessions_.find(session);
  return found == openSessions_.end() ? nullptr : found->second.counters;
}

void Plane::closeSession(int session) {
  if (stopped_ || openSessions_.erase(session) == 0) return;
  Command command;
  command.type = Command::Type::CloseSession;
  command.session = session;
  postCommand(std::move(command));
}

void Plane::crashForTest() {
  if (stopped_) return;
  Command command;
  command.type = Command::Type::Crash;
  postCommand(std::move(command));
}

void Plane::stop() {
  if (stopped_) return;
  stopped_ = true;
  Command command;
  command.type = Command::Type::Stop;
  postCommand(std::move(command));
  if (thread_.joinable()) thread_.join();
  // The thread is gone: what it owned can go on this one.
  playback_ = Playback();
  sessions_.clear();
  sockets_.clear();
  closedSockets_.clear();
  handshaking_.clear();
  openSessions_.clear();
  openSockets_.clear();
  std::lock_guard<std::mutex> lock(eventMutex_);
  events_.clear();
}

void Plane::takeEvents(std::vector<PlaneEvent>& out) {
  {
    std::lock_guard<std::mutex> lock(eventMutex_);
    out.swap(events_);
    events_.clear();
    eventBytes_ = 0;
  }
  // What a closed session or socket left in the queue is nobody's business any more.
  out.erase(std::remove_if(out.begin(), out.end(),
                           [this](const PlaneEvent& event) {
                             if (event.type == PlaneEvent::Type::Stun) return openSockets_.count(event.socket) == 0;
                             return openSessions_.count(event.session) == 0;
                           }),
            out.end());
}

// ---- data-plane thread ---------------------------------------------------------------------

void Plane::post(PlaneEvent&& event) {
  bool wasEmpty;
  {
    std::lock_guard<std::mutex> lock(eventMutex_);
    // Feedback too: a viewer can send PLIs as fast as it likes; KeyframeRequests coalesces them anyway.
    const bool bulky = event.type == PlaneEvent::Type::Stun || event.type == PlaneEvent::Type::AppData ||
                       event.type == PlaneEvent::Type::RtcpFeedback;
    if (bulky && (events_.size() >= kMaxQueuedEvents || eventBytes_ + event.data.size() > kMaxQueuedEventBytes)) {
      eventsDropped_++;
      return;
    }
    if (event.type == PlaneEvent::Type::AppData) appDataPosted_ = true;
    wasEmpty = events_.empty();
    eventBytes_ += event.data.size();
    events_.push_back(std::move(event));
  }
  if (wasEmpty && notify_) notify_();
}

void Plane::run() {
#if defined(__linux__)
  // Named, so /proc/PID/task/*/comm finds it for per-thread CPU accounting.
  pthread_setname_np(pthread_self(), "echo-plane");
#endif
  void* ready[64];
  int64_t lastWakeUs = 0;
  while (!stopping_) {
    const int timeout = trimMemory(serviceTimers());
    const int count = loop_.wait(ready, 64, timeout);
    // No pause (below) after a wake-up that handed application data up either: SCTP is a
    // conversation JavaScript answers (each SACK and echoed message frees the client's window for
    // its next), not a stream to batch, and the pause made a data channel echo ~5% slower.
    const bool conversing = appDataPosted_;
    appDataPosted_ = false;
    if (count > 0 && coalesceUs_ > 0 && handshaking_.empty() && !conversing) {
      // Interrupt moderation: a thread woken again within a millisecond is busy, and each
      // wake-up costs more than the packets it brings (a context switch on each side of
      // loopback, more on a VM). Letting packets gather for a moment first makes the batches
      // bigger and the wake-ups fewer; an idle plane answers at once. Not while a session is
      // being set up: its ICE and DTLS are a dozen round trips that each would wait (2.5 ms
      // of a 10 ms set-up, docs/performance.md), and they carry no bulk to batch.
      const int64_t wakeUs = nowUs();
      if (wakeUs - lastWakeUs < 1000) {
        timespec pause{0, static_cast<long>(coalesceUs_) * 1000};
        nanosleep(&pause, nullptr);
      }
      lastWakeUs = wakeUs;
    }
    // Commands first: a session created just before its peer's first datagram must be there
    // to take it.
    runCommands();
    for (int i = 0; i < count; i++) {
      auto* slot = static_cast<SocketSlot*>(ready[i]);
      if (!slot->gone) drain(*slot);
    }
    closedSockets_.clear();
  }
}

void Plane::drain(SocketSlot& slot) {
  for (int turn = 0; turn < kBatchesPerTurn; turn++) {
    const int count = slot.socket->receive(receiveBatch_);
    for (int i = 0; i < count; i++) handleDatagram(slot, i);
    if (sendBatch_.count() > 0) slot.socket->send(sendBatch_);
    if (count < kBatchSize) break;
  }
}

void Plane::handleDatagram(SocketSlot& slot, int index) {
  if (receiveBatch_.truncated(index)) return;
  uint8_t* data = receiveBatch_.data(index);
  const size_t size = receiveBatch_.size(index);
  Endpoint from;
  if (!endpointFromSockaddr(reinterpret_cast<const sockaddr*>(&receiveBatch_.from(index)),
                            receiveBatch_.fromSize(index), from)) {
    return;
  }
  const PacketKind kind = classify(data, size);
  auto route = slot.routes.find(from);
  EchoSession* session = route == slot.routes.end() ? nullptr : route->second;
  if (session) bump(session->counters().packetsIn);
  if (kind == PacketKind::Stun) {
    // ICE is TypeScript's: every STUN message goes up, from any address; a check its agent
    // would answer with success is answered here first, and goes up flagged.
    PlaneEvent event;
    event.type = PlaneEvent::Type::Stun;
    event.socket = slot.id;
    event.from = from;
    event.local = receiveBatch_.local(index);
    if (!slot.ufrags.empty()) {
      event.answered = answerBindingRequest(slot, data, size, from, event.local, event);
      if (!event.answered && session) takeCheckAnswer(*session, data, size, from, event.local);
    }
    event.data.assign(data, data + size);
    post(std::move(event));
    return;
  }
  if (!session || kind == PacketKind::Other) return;
  const Endpoint& local = receiveBatch_.local(index);
  const size_t reply = session->onDatagram(kind, data, size, kDatagramCapacity, from, local);
  if (kind == PacketKind::Dtls) {
    timersDirty_ = true;  // the handshake may have set or moved its retransmission timer
    return;
  }
  if (reply == 0) return;
  socklen_t toSize = 0;
  const Endpoint* source = nullptr;
  const sockaddr_storage* to = session->replyTo(toSize, source);
  if (!to) {
    // Before ICE selected a pair: back where it came from, from where it arrived.
    to = &receiveBatch_.from(index);
    toSize = receiveBatch_.fromSize(index);
    source = &local;
  }
  sendBatch_.add(data, reply, to, toSize, source);
}

bool Plane::answerBindingRequest(SocketSlot& slot, const uint8_t* data, size_t size, const Endpoint& from,
                                 const Endpoint& local, PlaneEvent& event) {
  StunBindingMessage request;
  std::string ufrag;
  if (!request.parseRequest(data, size) || !request.localUfrag(ufrag)) return false;
  auto found = slot.ufrags.find(ufrag);
  if (found == slot.ufrags.end()) return false;
  EchoSession& session = *found->second;
  const IceCredentials& ice = session.ice();
  // What the controlled agent answers with success (src/ice/agent.ts #onRequest): its USERNAME,
  // valid integrity, nothing it would answer 420, and a controlling client (no role conflict,
  // no tie-breaker to weigh). Anything else, including a bad password, is JavaScript's.
  if (!session.answersIce() || !request.controlling() || request.controlled() || request.unknownRequired() ||
      !request.usernameIs(ice.localUfrag, ice.remoteUfrag) || !request.verifyIntegrity(ice.localPwd)) {
    return false;
  }
  uint8_t response[StunBindingMessage::kMaxResponseSize];
  const size_t responseSize = request.writeSuccess(from, ice.localPwd, response, sizeof(response));
  if (responseSize == 0) return false;
  // Validated before the answer leaves (as the agent's #validate): a client that is DTLS client
  // sends its hello as soon as it has it.
  allowRemoteOn(slot, session, from, local);
  // From the address the request reached (RFC 8489 §6.3.3), as the agent's answer would.
  slot.socket->sendTo(from, response, responseSize, &local);
  bump(session.counters().stunAnswered);
  // The triggered check (RFC 8445 §7.3.1.4), once per address, right behind the answer: a pion
  // client nominates when a check of ours reaches a pair that works for it.
  TriggeredChecks& checks = session.triggeredChecks();
  uint8_t check[BindingCheck::kMaxSize];
  const size_t checkSize =
      checks.triggered(ice.remoteUfrag + ":" + ice.localUfrag, from, local, check, sizeof(check), event.checkId);
  if (checkSize > 0) {
    slot.socket->sendTo(from, check, checkSize, &local);
    event.checked = true;
    bump(session.counters().stunChecksSent);
  }
  if (request.useCandidate() && checks.nominated(from)) selectOnce(session, from, local);
  return true;
}

void Plane::takeCheckAnswer(EchoSession& session, const uint8_t* data, size_t size, const Endpoint& from,
                            const Endpoint& local) {
  if (!session.answersIce() || !session.triggeredChecks().enabled()) return;
  StunBindingMessage response;
  if (response.parseSuccess(data, size) && session.triggeredChecks().answered(response, from)) {
    selectOnce(session, from, local);
  }
}

void Plane::selectOnce(EchoSession& session, const Endpoint& remote, const Endpoint& local) {
  // JavaScript's agent comes to the same pair on the same messages and selects it again, which
  // changes nothing; if it already chose (its command ran first), its choice stands.
  if (session.hasSelected()) return;
  session.selectRemote(remote, local);
  timersDirty_ = true;
}

void Plane::allowRemoteOn(SocketSlot& slot, EchoSession& session, const Endpoint& remote, const Endpoint& local) {
  Endpoint evicted;
  if (session.allowRemote(remote, local, evicted)) {
    auto route = slot.routes.find(evicted);
    if (route != slot.routes.end() && route->second == &session) slot.routes.erase(route);
  }
  // On a shared socket the latest session to validate an address gets its packets.
  slot.routes[remote] = &session;
}

void Plane::runCommands() {
  {
    std::lock_guard<std::mutex> lock(commandMutex_);
    running_.swap(commands_);
  }
  for (Command& command : running_) runCommand(command);
  running_.clear();
}

Plane::SocketSlot* Plane::findSocket(int id) {
  auto found = sockets_.find(id);
  return found == sockets_.end() ? nullptr : found->second.get();
}

EchoSession* Plane::findSession(int id) {
  auto found = sessions_.find(id);
  return found == sessions_.end() ? nullptr : found->second.get();
}

void Plane::runCommand(Command& command) {
  switch (command.type) {
    case Command::Type::AddSocket: {
      SocketSlot* slot = command.slot.get();
      loop_.add(slot->socket->fd(), slot);
      sockets_[slot->id] = std::move(command.slot);
      break;
    }
    case Command::Type::CloseSocket: {
      SocketSlot* slot = findSocket(command.socket);
      if (!slot) break;
      slot->closing = true;
      if (slot->sessions == 0) destroySocket(slot);
      break;
    }
    case Command::Type::Send: {
      SocketSlot* slot = findSocket(command.socket);
      if (slot) slot->socket->sendTo(command.endpoint, command.data.data(), command.data.size(), &command.local);
      break;
    }
    case Command::Type::AddSession: {
      SocketSlot* slot = findSocket(command.echo->socketId());
      if (!slot) break;  // cannot happen: a socket outlives its sessions
      EchoSession* session = command.echo.get();
      session->attach(slot->socket.get());
      slot->sessions++;
      sessions_[session->id()] = std::move(command.echo);
      handshaking_.insert(session);
      timersDirty_ = true;
      // Keyed by local ufrag, so a mux socket's sessions share it; a clash (8 random
      // characters) leaves the later session to JavaScript.
      if (answerIceChecks_ && session->answersIce()) slot->ufrags.emplace(session->ice().localUfrag, session);
      break;
    }
    case Command::Type::AllowRemote:
    case Command::Type::SelectRemote: {
      EchoSession* session = findSession(command.session);
      SocketSlot* slot = session ? findSocket(session->socketId()) : nullptr;
      if (!slot) break;
      allowRemoteOn(*slot, *session, command.endpoint, command.local);
      if (command.type == Command::Type::SelectRemote) {
        session->selectRemote(command.endpoint, command.local);
        timersDirty_ = true;
      }
      break;
    }
    case Command::Type::StopIceAnswers: {
      EchoSession* session = findSession(command.session);
      if (session) session->stopAnsweringIce();
      break;
    }
    case Command::Type::CloseSession: {
      EchoSession* session = findSession(command.session);
      if (session) destroySession(session);
      break;
    }
    case Command::Type::AddViewer: {
      EchoSession* publisher = findSession(command.session);
      EchoSession* viewer = findSession(command.viewer);
      if (publisher && viewer) playback_.add(*publisher, *viewer, std::move(command.tracks));
      break;
    }
    case Command::Type::RemoveViewer: {
      EchoSession* viewer = findSession(command.session);
      if (viewer) playback_.removeViewer(*viewer);
      break;
    }
    case Command::Type::RequestKeyframe: {
      EchoSession* publisher = findSession(command.session);
      if (publisher) publisher->sendFeedback(command.mid, true, command.sequences);
      break;
    }
    case Command::Type::Nack: {
      EchoSession* viewer = findSession(command.session);
      EchoSession* publisher = nullptr;
      std::string mid;
      if (viewer && playback_.translateNack(*viewer, command.mid, command.sequences, publisher, mid)) {
        publisher->sendFeedback(mid, false, command.sequences);
      }
      break;
    }
    case Command::Type::Crash: {
      // A real fault, not abort(): what a bug in here would do to the process.
      static int* volatile nowhere = nullptr;
      *nowhere = 1;
      break;
    }
    case Command::Type::Stop:
      for (auto& entry : sessions_) entry.second->close();
      stopping_ = true;
      break;
  }
}

void Plane::destroySession(EchoSession* session) {
  session->close();
  playback_.forget(*session);
  SocketSlot* slot = findSocket(session->socketId());
  if (slot) {
    for (const Endpoint& remote : session->allowed()) {
      auto route = slot->routes.find(remote);
      if (route != slot->routes.end() && route->second == session) slot->routes.erase(route);
    }
    auto named = slot->ufrags.find(session->ice().localUfrag);
    if (named != slot->ufrags.end() && named->second == session) slot->ufrags.erase(named);
    slot->sessions--;
  }
  handshaking_.erase(session);
  sessions_.erase(session->id());  // frees it
  if (slot && slot->closing && slot->sessions == 0) destroySocket(slot);
}

void Plane::destroySocket(SocketSlot* slot) {
  loop_.remove(slot->socket->fd());
  slot->gone = true;
  auto found = sockets_.find(slot->id);
  closedSockets_.push_back(std::move(found->second));
  sockets_.erase(found);
}

int Plane::serviceTimers() {
  const int64_t now = nowMs();
  if (!timersDirty_ && now < nextTimerAt_) {
    return nextTimerAt_ == INT64_MAX ? -1 : static_cast<int>(std::min<int64_t>(nextTimerAt_ - now, INT_MAX));
  }
  timersDirty_ = false;
  nextTimerAt_ = INT64_MAX;
  for (auto it = handshaking_.begin(); it != handshaking_.end();) {
    EchoSession* session = *it;
    if (session->handshaking()) {
      int64_t due = session->dtlsTimeoutMs();
      if (due == 0) {
        session->onDtlsTimeout();
        due = session->dtlsTimeoutMs();
      }
      if (due >= 0) nextTimerAt_ = std::min(nextTimerAt_, now + std::max<int64_t>(due, 1));
    }
    if (session->handshaking()) {
      ++it;
    } else {
      it = handshaking_.erase(it);
      handshakesEnded_ = true;
    }
  }

  return nextTimerAt_ == INT64_MAX ? -1 : static_cast<int>(nextTimerAt_ - now);
}

int Plane::trimMemory(int timeout) {
#if defined(__GLIBC__)
  // A handshake allocates tens of KiB that it frees at its end, between allocations the session
  // keeps; glibc leaves those pages resident. Handing them back (at most once a second, once
  // handshakes have ended) keeps the resident size near what the sessions really hold.
  if (!handshakesEnded_) return timeout;
  const int64_t now = nowMs();
  const int64_t due = lastTrimAt_ + 1000;
  if (now >= due) {
    malloc_trim(0);
    lastTrimAt_ = now;
    handshakesEnded_ = false;
    return timeout;
  }
  const int wait = static_cast<int>(due - now);
  return timeout < 0 ? wait : std::min(timeout, wait);
#else
  return timeout;
#endif
}

}  // namespace echo
