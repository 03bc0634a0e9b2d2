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

void SendBatch::add(const uint8_t* data, size_t size, const sockaddr_storage* to, socklen_t toSize) {
  if (count_ == kBatchSize) return;
  data_[count_] = data;
  sizes_[count_] = size;
  to_[count_] = to;
  toSizes_[count_] = toSize;
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

int UdpSocket::receive(ReceiveBatch& batch) {
  batch.count_ = 0;
#if ECHO_HAVE_MMSG
  for (int i = 0; i < kBatchSize; i++) {
    batch.headers_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    batch.headers_[i].msg_hdr.msg_flags = 0;
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
  }
  batch.count_ = received;
  return received;
#else
  while (batch.count_ < kBatchSize) {
    const int i = batch.count_;
    batch.addressSizes_[i] = sizeof(sockaddr_storage);
    const ssize_t received = recvfrom(fd_, batch.data(i), kDatagramCapacity, 0,
                                      reinterpret_cast<sockaddr*>(&batch.addresses_[i]), &batch.addressSizes_[i]);
    if (received < 0) {
      if (errno == EINTR) continue;
      break;
    }
    batch.sizes_[i] = static_cast<size_t>(received);
    // Without MSG_TRUNC reporting, a full buffer may have been cut: drop it all the same.
    batch.truncated_[i] = static_cast<size_t>(received) >= kDatagramCapacity;
    batch.count_++;
  }
  return batch.count_;
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
    if (sendTo(*batch.to_[i], batch.toSizes_[i], batch.data_[i], batch.sizes_[i])) sent++;
  }
#endif
  batch.clear();
  return sent;
}

bool UdpSocket::sendTo(const Endpoint& to, const uint8_t* data, size_t size) {
  sockaddr_storage storage;
  socklen_t storageSize = 0;
  if (!endpointToSockaddr(to, family_, storage, storageSize)) return false;
  return sendTo(storage, storageSize, data, size);
}

bool UdpSocket::sendTo(const sockaddr_storage& to, socklen_t toSize, const uint8_t* data, size_t size) {
  ssize_t result;
  do {
    result = sendto(fd_, data, size, 0, reinterpret_cast<const sockaddr*>(&to), toSize);
  } while (result < 0 && errno == EINTR);
  if (result < 0) sendErrors_++;
  return result >= 0;
}

}  // namespace echo
