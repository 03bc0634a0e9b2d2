#include "echo_session.h"

#include "crc32c.h"

#include <algorithm>

#include "udp_socket.h"

namespace echo {

EchoSession::EchoSession(int id, SessionOptions options, DtlsContext& dtls, EventSink& events,
                         std::shared_ptr<SessionCounters> counters)
    : id_(id),
      socketId_(options.socket),
      ice_(std::move(options.ice)),
      answersIce_(!ice_.empty()),
      checks_(std::move(options.checks)),
      events_(events),
      counters_(std::move(counters)),
      fingerprint_(std::move(options.remoteFingerprint)),
      profiles_(std::move(options.profiles)),
      dtls_(dtls, *this, options.role),
      media_(std::move(options.media), *counters_, *this) {}

bool EchoSession::init(std::string& error) { return dtls_.init(fingerprint_, profiles_, error); }

bool EchoSession::allowRemote(const Endpoint& remote, const Endpoint& local, Endpoint& evicted) {
  auto known = std::find(allowed_.begin(), allowed_.end(), remote);
  if (known != allowed_.end()) {
    if (local.valid()) allowedLocals_[static_cast<size_t>(known - allowed_.begin())] = local;
    return false;
  }
  bool evictedOne = false;
  if (allowed_.size() >= kMaxAllowedRemotes) {
    // The oldest that is not the selected pair goes.
    auto victim = std::find_if(allowed_.begin(), allowed_.end(), [&](const Endpoint& e) { return e != selected_; });
    evicted = *victim;
    allowedLocals_.erase(allowedLocals_.begin() + (victim - allowed_.begin()));
    allowed_.erase(victim);
    evictedOne = true;
  }
  allowed_.push_back(remote);
  allowedLocals_.push_back(local);
  return evictedOne;
}

void EchoSession::selectRemote(const Endpoint& remote, const Endpoint& local) {
  std::lock_guard<std::mutex> lock(dtlsMutex_);
  selected_ = remote;
  selectedLocal_ = local;
  if (!selectedLocal_.valid()) {
    auto known = std::find(allowed_.begin(), allowed_.end(), remote);
    if (known != allowed_.end()) selectedLocal_ = allowedLocals_[static_cast<size_t>(known - allowed_.begin())];
  }
  selectedAddressSize_ = 0;
  if (socket_ && !endpointToSockaddr(remote, socket_->family(), selectedAddress_, selectedAddressSize_)) {
    selectedAddressSize_ = 0;
  }
  dtls_.start();
}

const sockaddr_storage* EchoSession::replyTo(socklen_t& size, const Endpoint*& source) const {
  if (selectedAddressSize_ == 0) return nullptr;
  size = selectedAddressSize_;
  source = &selectedLocal_;
  return &selectedAddress_;
}

size_t EchoSession::onDatagram(PacketKind kind, uint8_t* data, size_t size, size_t capacity, const Endpoint& from,
                               const Endpoint& local) {
  // The client may move to another of our addresses (a check on another pair): follow it.
  if (local.valid() && from == selected_ && local != selectedLocal_) {
    std::lock_guard<std::mutex> lock(dtlsMutex_);
    selectedLocal_ = local;
  }
  switch (kind) {
    case PacketKind::Dtls: {
      std::lock_guard<std::mutex> lock(dtlsMutex_);
      dtlsPeer_ = from;
      dtlsPeerLocal_ = local;
      dtls_.receive(data, size);
      return 0;
    }
    case PacketKind::Rtp:
      return media_.onRtp(data, size, capacity);
    case PacketKind::Rtcp:
      return media_.onRtcp(data, size, capacity);
    default:
      return 0;
  }
}

size_t EchoSession::sendApplicationData(const std::vector<std::vector<uint8_t>>& records) {
  size_t sent = 0;
  PeerRoute to;
  {
    std::lock_guard<std::mutex> lock(dtlsMutex_);
    gathering_ = true;
    sent = dtls_.send(records);
    gathering_ = false;
    gathered_.swap(outgoing_);
    gatheredSizes_.swap(outgoingSizes_);
    to = route();
  }
  sendOutgoing(to);
  return sent;
}

void EchoSession::sendOutgoing(const PeerRoute& route) {
  // A data channel echo answers a burst of messages with a burst of records of one size (its
  // SCTP packets differ only where a SACK rides along): on loopback the stack's way through IP
  // and into the receiver's socket, inside our sendmsg, was most of what sending cost.
  const uint8_t* at = outgoing_.data();
  const size_t count = outgoingSizes_.size();
  for (size_t i = 0; i < count;) {
    const size_t segment = outgoingSizes_[i];
    size_t run = 1;
    size_t bytes = segment;
    // Equal sizes, the last of a run may be shorter (UDP_SEGMENT's rule); 64 segments and 64 KiB at most.
    while (i + run < count && run < kMaxSegments && bytes + outgoingSizes_[i + run] <= kMaxSegmentedBytes &&
           outgoingSizes_[i + run] <= segment) {
      bytes += outgoingSizes_[i + run];
      run++;
      if (outgoingSizes_[i + run - 1] < segment) break;
    }
    if (run == 1 || !sendSegmentsTo(route, at, bytes, segment)) {
      for (size_t k = 0; k < run; k++) {
        sendTo(route, at, outgoingSizes_[i + k]);
        at += outgoingSizes_[i + k];
      }
    } else {
      at += bytes;
      bump(counters_->datagramsSegmented, run);
    }
    i += run;
  }
  outgoing_.clear();
  outgoingSizes_.clear();
  // A large message (256 KiB announced) gathers ~270 KiB once: not kept for the session's life.
  if (outgoing_.capacity() > kKeptGatherBytes) {
    std::vector<uint8_t>().swap(outgoing_);
    std::vector<uint16_t>().swap(outgoingSizes_);
  }
}

int64_t EchoSession::dtlsTimeoutMs() const {
  std::lock_guard<std::mutex> lock(dtlsMutex_);
  return dtls_.timeoutMs();
}

void EchoSession::onDtlsTimeout() {
  std::lock_guard<std::mutex> lock(dtlsMutex_);
  dtls_.onTimeout();
}

void EchoSession::close() {
  std::lock_guard<std::mutex> lock(dtlsMutex_);
  // A viewer says BYE for what it played before its close_notify, so the player knows at once.
  uint8_t bye[128];
  const size_t size = media_.writePlayedBye(bye, sizeof(bye));
  if (size > 0) sendToPeer(bye, size);
  dtls_.close();
  counters_->connected.store(false, std::memory_order_relaxed);
}

bool EchoSession::handshaking() const {
  std::lock_guard<std::mutex> lock(dtlsMutex_);
  const DtlsState state = dtls_.state();
  return state == DtlsState::New || state == DtlsState::Connecting;
}

void EchoSession::onDtlsSend(const uint8_t* data, size_t size) {
  if (gathering_ && size <= UINT16_MAX) {
    gathered_.insert(gathered_.end(), data, data + size);
    gatheredSizes_.push_back(static_cast<uint16_t>(size));
    return;
  }
  sendToPeer(data, size);
}

EchoSession::PeerRoute EchoSession::route() const {
  PeerRoute route;
  route.socket = socket_;
  route.selected = selected_.valid();
  route.address = selectedAddress_;
  route.addressSize = selectedAddressSize_;
  route.local = selectedLocal_;
  route.dtlsPeer = dtlsPeer_;
  route.dtlsPeerLocal = dtlsPeerLocal_;
  return route;
}

bool EchoSession::sendSegmentsTo(const PeerRoute& route, const uint8_t* data, size_t size, size_t segment) {
  // Only to a selected pair: before one, DTLS goes wherever it last came from, one by one.
  if (!route.socket || !route.socket->segmentation() || !route.selected || route.addressSize == 0) return false;
  return route.socket->sendSegments(route.address, route.addressSize, data, size, segment, &route.local);
}

bool EchoSession::sendTo(const PeerRoute& route, const uint8_t* data, size_t size) {
  if (!route.socket) return false;
  if (route.selected) {
    return route.addressSize > 0 && route.socket->sendTo(route.address, route.addressSize, data, size, &route.local);
  }
  return route.dtlsPeer.valid() && route.socket->sendTo(route.dtlsPeer, data, size, &route.dtlsPeerLocal);
}

bool EchoSession::sendToPeer(const uint8_t* data, size_t size) {
  if (!socket_) return false;
  if (selected_.valid()) {
    return selectedAddressSize_ > 0 && socket_->sendTo(selectedAddress_, selectedAddressSize_, data, size, &selectedLocal_);
  }
  return dtlsPeer_.valid() && socket_->sendTo(dtlsPeer_, data, size, &dtlsPeerLocal_);
}

bool EchoSession::sendPlayed(uint8_t* packet, size_t size, size_t capacity, size_t headerSize, uint32_t ssrc,
                             uint64_t index) {
  const size_t sealed = media_.protectPlayed(packet, size, capacity, headerSize, ssrc, index);
  return sealed > 0 && sendToPeer(packet, sealed);
}

bool EchoSession::sendFeedback(const std::string& mid, bool keyframe, const std::vector<uint16_t>& sequences) {
  uint8_t packet[512];
  const size_t size = media_.writeFeedback(mid, keyframe, sequences.data(), sequences.size(), packet, sizeof(packet));
  return size > 0 && sendToPeer(packet, size);
}

void EchoSession::onRtpReceived(size_t section, const uint8_t* packet, size_t size, const RtpHeader& header,
                                uint64_t index) {
  if (tap_) tap_->onPublisherRtp(*this, section, packet, size, header, index);
}

void EchoSession::onFeedback(const std::string& mid, bool keyframe, const uint16_t* sequences, size_t count) {
  PlaneEvent event;
  event.type = PlaneEvent::Type::RtcpFeedback;
  event.session = id_;
  event.text = mid;
  event.keyframe = keyframe;
  event.sequences.assign(sequences, sequences + count);
  events_.post(std::move(event));
}

void EchoSession::onDtlsConnected(SrtpProfile profile, const uint8_t* material, size_t size) {
  const bool client = dtls_.role() == DtlsRole::Client;
  if (profile != SrtpProfile::None && !media_.setKeys(profile, material, size, client)) {
    onDtlsFailed("cannot set up SRTP");
    return;
  }
  counters_->connected.store(true, std::memory_order_release);
  PlaneEvent event;
  event.type = PlaneEvent::Type::DtlsConnected;
  event.session = id_;
  event.clientRole = client;
  event.profile = profile;
  events_.post(std::move(event));
}

void EchoSession::onDtlsFailed(const std::string& reason) {
  counters_->connected.store(false, std::memory_order_relaxed);
  PlaneEvent event;
  event.type = PlaneEvent::Type::DtlsFailed;
  event.session = id_;
  event.text = reason;
  events_.post(std::move(event));
}

void EchoSession::onDtlsClosed() {
  counters_->connected.store(false, std::memory_order_relaxed);
  PlaneEvent event;
  event.type = PlaneEvent::Type::DtlsClosed;
  event.session = id_;
  events_.post(std::move(event));
}

void EchoSession::onDtlsData(const uint8_t* data, size_t size) {
  PlaneEvent event;
  event.type = PlaneEvent::Type::AppData;
  event.session = id_;
  event.data.assign(data, data + size);
  // On this thread and with the SSE 4.2 instruction: in JavaScript (werift's parser, which also
  // copies the packet for it) it was ~5% of the thread that answers every message.
  event.sctpChecksumValid = sctpChecksumValid(data, size);
  events_.post(std::move(event));
}

void EchoSession::onRtcpBye(const std::string& mid, uint32_t ssrc) {
  PlaneEvent event;
  event.type = PlaneEvent::Type::RtcpBye;
  event.session = id_;
  event.text = mid;
  event.ssrc = ssrc;
  events_.post(std::move(event));
}

}  // namespace echo
