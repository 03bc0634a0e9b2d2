#include "udp_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace echo {

namespace {

// Generous kernel buffers: a burst of a few thousand packets waits for the next batch instead of
// being dropped. The kernel caps them at net.core.{r,w}mem_max without complaint.
constexpr int kReceiveBuffer = 4 * 1024 * 1024;
constexpr int kSendBuffer = 1024 * 1024;

bool setNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL, 0);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
}

#if ECHO_HAVE_MMSG
bool transient(int error) { return error == EAGAIN || error == EWOULDBLOCK || error == EINTR || error == ENOBUFS; }
#endif

const uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};

bool isLinkLocal(const Endpoint& endpoint) {
  return endpoint.family == 6 && endpoint.address[0] == 0xFE && (endpoint.address[1] & 0xC0) == 0x80;
}

/** IPv4 from an IPv4 or IPv4-mapped IPv6 destination, IPv6 otherwise. */
int destinationFamily(const sockaddr_storage& to) {
  if (to.ss_family == AF_INET) return 4;
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&to);
  return memcmp(&v6->sin6_addr, kMappedPrefix, sizeof(kMappedPrefix)) == 0 ? 4 : 6;
}

}  // namespace

// ---- batches -------------------------------------------------------------------------------

ReceiveBatch::ReceiveBatch() : buffers_(new uint8_t[static_cast<size_t>(kBatchSize) * kDatagramCapacity]) {
#if ECHO_HAVE_MMSG
  headers_ = new mmsghdr[kBatchSize];
  memset(headers_, 0, sizeof(mmsghdr) * kBatchSize);
  for (int i = 0; i < kBatchSize; i++) {
    iovs_[i].iov_base = data(i);
    iovs_[i].iov_len = kDatagramCapacity;
    headers_[i].msg_hdr.msg_iov = &iovs_[i];
    headers_[i].msg_hdr.msg_iovlen = 1;
    headers_[i].msg_hdr.msg_name = &addresses_[i];
  }
#endif
}

ReceiveBatch::~ReceiveBatch() {
  delete[] buffers_;
#if ECHO_HAVE_MMSG
  delete[] headers_;
#endif
}

SendBatch::SendBatch() {
#if ECHO_HAVE_MMSG
  headers_ = new mmsghdr[kBatchSize];
  memset(headers_, 0, sizeof(mmsghdr) * kBatchSize);
#endif
}

SendBatch::~SendBatch() {
#if ECHO_HAVE_MMSG
  delete[] headers_;
#endif
}

void SendBatch::add(const uint8_t* data, size_t size, const sockaddr_storage* to, socklen_t toSize,
                    const Endpoint* from) {
  if (count_ == kBatchSize) return;
  data_[count_] = data;
  sizes_[count_] = size;
  to_[count_] = to;
  toSizes_[count_] = toSize;
  from_[count_] = from ? *from : Endpoint();
  count_++;
}

// ---- socket --------------------------------------------------------------------------------

std::unique_ptr<UdpSocket> UdpSocket::open(const std::string& address, int portMin, int portMax, std::string& error) {
  if (portMin < 0 || portMax > 65535 || portMin > portMax) {
    error = "invalid port range";
    return nullptr;
  }
  Endpoint bindTo;
  const bool dualStack = address.empty() || address == "::";
  if (!endpointFromText(dualStack ? "::" : address, 0, bindTo)) {
    error = "invalid bind address: " + address.substr(0, 64);
    return nullptr;
  }
  const int family = bindTo.family == 4 ? AF_INET : AF_INET6;
  const int fd = socket(family, SOCK_DGRAM, 0);
  if (fd < 0) {
    error = std::string("socket: ") + strerror(errno);
    return nullptr;
  }
  std::unique_ptr<UdpSocket> udp(new UdpSocket(fd, family));
  if (!setNonBlocking(fd)) {
    error = std::string("fcntl: ") + strerror(errno);
    return nullptr;
  }
  if (family == AF_INET6) {
    const int v6only = dualStack ? 0 : 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
  }
  // A socket bound to a wildcard is reached at any of the machine's addresses. Each datagram
  // says which (packet info), so that what goes back to its sender leaves from that address
  // and not from one the kernel picks by route: pion drops a STUN answer from an address it did
  // not send its check to (docs/triggered-check.md). A dual-stack socket gets the IPv4 ones as
  // IP_PKTINFO and the IPv6 ones as IPV6_PKTINFO.
  const bool wildcard = dualStack || address == "0.0.0.0";
  if (wildcard) {
    const int on = 1;
#if defined(IP_PKTINFO)
    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
#endif
#if defined(IPV6_RECVPKTINFO)
    if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
#endif
  }
  udp->wildcard_ = wildcard;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kReceiveBuffer, sizeof(kReceiveBuffer));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSendBuffer, sizeof(kSendBuffer));

  const int span = portMax - portMin + 1;
  std::random_device seed;
  const int start = portMin == 0 && portMax == 0 ? 0 : static_cast<int>(seed() % static_cast<unsigned>(span));
  int lastError = 0;
  for (int attempt = 0; attempt < span; attempt++) {
    const int port = portMin + (start + attempt) % span;
    bindTo.port = static_cast<uint16_t>(port);
    sockaddr_storage storage;
    socklen_t size = 0;
    endpointToSockaddr(bindTo, family, storage, size);
    if (bind(fd, reinterpret_cast<sockaddr*>(&storage), size) == 0) {
      sockaddr_storage bound;
      socklen_t boundSize = sizeof(bound);
      getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &boundSize);
      endpointFromSockaddr(reinterpret_cast<sockaddr*>(&bound), boundSize, udp->local_);
      if (dualStack) udp->local_.family = 6;  // '::', not the IPv4 it folds to
      if (!wildcard) {
        udp->boundAddress_ = udp->local_;
        udp->boundAddress_.port = 0;
      }
      return udp;
    }
    lastError = errno;
    if (lastError != EADDRINUSE && lastError != EACCES) break;
  }
  error = lastError == EADDRINUSE ? "no free UDP port in " + std::to_string(portMin) + "-" + std::to_string(portMax)
                                  : std::string("bind: ") + strerror(lastError);
  return nullptr;
}

UdpSocket::~UdpSocket() {
  if (fd_ >= 0) ::close(fd_);
}

void UdpSocket::readLocal(msghdr& header, Endpoint& local) const {
  local = boundAddress_;
  if (!wildcard_) return;
  for (cmsghdr* message = CMSG_FIRSTHDR(&header); message; message = CMSG_NXTHDR(&header, message)) {
#if defined(IP_PKTINFO)
    if (message->cmsg_level == IPPROTO_IP && message->cmsg_type == IP_PKTINFO) {
      in_pktinfo info;
      memcpy(&info, CMSG_DATA(message), sizeof(info));
      local = Endpoint();
      local.family = 4;
      memcpy(local.address, &info.ipi_addr, 4);
      return;
    }
#endif
#if defined(IPV6_PKTINFO)
    if (message->cmsg_level == IPPROTO_IPV6 && message->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info;
      memcpy(&info, CMSG_DATA(message), sizeof(info));
      local = Endpoint();
      const auto* bytes = reinterpret_cast<const uint8_t*>(&info.ipi6_addr);
      if (memcmp(bytes, kMappedPrefix, sizeof(kMappedPrefix)) == 0) {
        local.family = 4;
        memcpy(local.address, bytes + 12, 4);
      } else {
        local.family = 6;
        memcpy(local.address, bytes, 16);
        // A link-local source needs its interface to leave from; any other is the kernel's to route.
        if (isLinkLocal(local)) local.scope = info.ipi6_ifindex;
      }
      return;
    }
#endif
  }
}

int UdpSocket::receive(ReceiveBatch& batch) {
  batch.count_ = 0;
#if ECHO_HAVE_MMSG
  for (int i = 0; i < kBatchSize; i++) {
    msghdr& header = batch.headers_[i].msg_hdr;
    header.msg_namelen = sizeof(sockaddr_storage);
    header.msg_flags = 0;
    header.msg_control = wildcard_ ? batch.controls_[i] : nullptr;
    header.msg_controllen = wildcard_ ? kControlCapacity : 0;
  }
  int received;
  do {
    received = recvmmsg(fd_, batch.headers_, kBatchSize, MSG_DONTWAIT, nullptr);
  } while (received < 0 && errno == EINTR);
  if (received <= 0) return 0;
  for (int i = 0; i < received; i++) {
    batch.sizes_[i] = batch.headers_[i].msg_len;
    batch.truncated_[i] = (batch.headers_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    batch.addressSizes_[i] = batch.headers_[i].msg_hdr.msg_namelen;
    readLocal(batch.headers_[i].msg_hdr, batch.locals_[i]);
  }
  batch.count_ = received;
  return received;
#else
  while (batch.count_ < kBatchSize) {
    const int i = batch.count_;
    iovec iov{batch.data(i), kDatagramCapacity};
    msghdr header{};
    header.msg_name = &batch.addresses_[i];
    header.msg_namelen = sizeof(sockaddr_storage);
    header.msg_iov = &iov;
    header.msg_iovlen = 1;
    header.msg_control = wildcard_ ? batch.controls_[i] : nullptr;
    header.msg_controllen = wildcard_ ? kControlCapacity : 0;
    const ssize_t received = recvmsg(fd_, &header, 0);
    if (received < 0) {
      if (errno == EINTR) continue;
      break;
    }
    batch.sizes_[i] = static_cast<size_t>(received);
    batch.addressSizes_[i] = header.msg_namelen;
    batch.truncated_[i] = (header.msg_flags & MSG_TRUNC) != 0 || static_cast<size_t>(received) >= kDatagramCapacity;
    readLocal(header, batch.locals_[i]);
    batch.count_++;
  }
  return batch.count_;
#endif
}

namespace {

// One control message (the source address of a send: IP_PKTINFO or IPV6_PKTINFO); its space.
template <typename Info>
size_t writeControl(cmsghdr* message, int level, int type, const Info& info) {
  message->cmsg_level = level;
  message->cmsg_type = type;
  message->cmsg_len = CMSG_LEN(sizeof(info));
  memcpy(CMSG_DATA(message), &info, sizeof(info));
  return CMSG_SPACE(sizeof(info));
}

}  // namespace

size_t UdpSocket::sourceControl(const sockaddr_storage& to, const Endpoint* from, uint8_t* control) const {
  if (!wildcard_ || !from || !from->valid() || from->family != destinationFamily(to)) return 0;
  memset(control, 0, kControlCapacity);
  msghdr header{};
  header.msg_control = control;
  header.msg_controllen = kControlCapacity;
  cmsghdr* message = CMSG_FIRSTHDR(&header);
  if (family_ == AF_INET6) {
#if defined(IPV6_PKTINFO)
    // An IPv4 source on a dual-stack socket is given IPv4-mapped (Linux ip_cmsg_send takes it so).
    in6_pktinfo info{};
    auto* bytes = reinterpret_cast<uint8_t*>(&info.ipi6_addr);
    if (from->family == 4) {
      memcpy(bytes, kMappedPrefix, sizeof(kMappedPrefix));
      memcpy(bytes + 12, from->address, 4);
    } else {
      memcpy(bytes, from->address, 16);
      info.ipi6_ifindex = from->scope;
    }
    return writeControl(message, IPPROTO_IPV6, IPV6_PKTINFO, info);
#else
    return 0;
#endif
  }
#if defined(IP_PKTINFO)
  in_pktinfo info{};
  memcpy(&info.ipi_spec_dst, from->address, 4);
  return writeControl(message, IPPROTO_IP, IP_PKTINFO, info);
#else
  return 0;
#endif
}

int UdpSocket::send(SendBatch& batch) {
  int sent = 0;
#if ECHO_HAVE_MMSG
  for (int i = 0; i < batch.count_; i++) {
    batch.iovs_[i].iov_base = const_cast<uint8_t*>(batch.data_[i]);
    batch.iovs_[i].iov_len = batch.sizes_[i];
    msghdr& header = batch.headers_[i].msg_hdr;
    header.msg_iov = &batch.iovs_[i];
    header.msg_iovlen = 1;
    header.msg_name = const_cast<sockaddr_storage*>(batch.to_[i]);
    header.msg_namelen = batch.toSizes_[i];
    const size_t control = sourceControl(*batch.to_[i], &batch.from_[i], batch.controls_[i]);
    header.msg_control = control > 0 ? batch.controls_[i] : nullptr;
    header.msg_controllen = control;
  }
  int next = 0;
  while (next < batch.count_) {
    const int result = sendmmsg(fd_, batch.headers_ + next, static_cast<unsigned>(batch.count_ - next), 0);
    if (result > 0) {
      sent += result;
      next += result;
      continue;
    }
    if (result < 0 && errno == EINTR) continue;
    // A full buffer drops the rest; an error about one destination skips that one only.
    if (result < 0 && transient(errno)) {
      sendErrors_ += static_cast<uint64_t>(batch.count_ - next);
      break;
    }
    sendErrors_++;
    next++;
  }
#else
  for (int i = 0; i < batch.count_; i++) {
    if (sendTo(*batch.to_[i], batch.toSizes_[i], batch.data_[i], batch.sizes_[i], &batch.from_[i])) sent++;
  }
#endif
  batch.clear();
  return sent;
}

bool UdpSocket::sendTo(const Endpoint& to, const uint8_t* data, size_t size, const Endpoint* from) {
  sockaddr_storage storage;
  socklen_t storageSize = 0;
  if (!endpointToSockaddr(to, family_, storage, storageSize)) return false;
  return sendTo(storage, storageSize, data, size, from);
}

bool UdpSocket::sendSegments(const sockaddr_storage& to, socklen_t toSize, const uint8_t* data, size_t size,
                             size_t segmentSize, const Endpoint* from) {
#if ECHO_HAVE_UDP_SEGMENT
  if (!segmentation() || segmentSize == 0 || segmentSize > UINT16_MAX) return false;
  if (sendMessage(to, toSize, data, size, from, static_cast<uint16_t>(segmentSize)) >= 0) return true;
  // The kernel cannot segment here (no GSO on the route's device, or one older than 4.18): not a
  // lost datagram, the caller sends them singly. Anything else (a full buffer) is a loss.
  if (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT || errno == EOPNOTSUPP) {
    segmentation_.store(false, std::memory_order_relaxed);
    return false;
  }
  sendErrors_++;
  return true;
#else
  (void)to, (void)toSize, (void)data, (void)size, (void)segmentSize, (void)from;
  return false;
#endif
}

bool UdpSocket::sendTo(const sockaddr_storage& to, socklen_t toSize, const uint8_t* data, size_t size,
                       const Endpoint* from) {
  const bool sent = sendMessage(to, toSize, data, size, from, 0) >= 0;
  if (!sent) sendErrors_++;
  return sent;
}

ssize_t UdpSocket::sendMessage(const sockaddr_storage& to, socklen_t toSize, const uint8_t* data, size_t size,
                               const Endpoint* from, uint16_t segment) {
  alignas(cmsghdr) uint8_t control[kControlCapacity + CMSG_SPACE(sizeof(uint16_t))];
  iovec iov{const_cast<uint8_t*>(data), size};
  msghdr header{};
  header.msg_name = const_cast<sockaddr_storage*>(&to);
  header.msg_namelen = toSize;
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  size_t controlSize = sourceControl(to, from, control);
#if ECHO_HAVE_UDP_SEGMENT
  if (segment > 0) {
    header.msg_control = control;
    header.msg_controllen = sizeof(control);
    cmsghdr* message = CMSG_FIRSTHDR(&header);
    if (controlSize > 0) message = CMSG_NXTHDR(&header, message);
    controlSize += writeControl(message, SOL_UDP, UDP_SEGMENT, segment);
  }
#else
  (void)segment;
#endif
  header.msg_control = controlSize > 0 ? control : nullptr;
  header.msg_controllen = controlSize;
  ssize_t result;
  do {
    result = sendmsg(fd_, &header, 0);
  } while (result < 0 && errno == EINTR);
  return result;
}

}  // namespace echo
