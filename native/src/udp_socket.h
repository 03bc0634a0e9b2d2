// A non-blocking UDP socket of the data plane, bound in a port range, that receives and sends
// in batches. Buffers belong to the batches, which the plane allocates once.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "endpoint.h"
#include "io_config.h"

struct mmsghdr;

namespace echo {

constexpr int kBatchSize = 32;
/** Room for any datagram we accept (the MTU) plus what SRTP may add when we re-protect it. */
constexpr size_t kDatagramCapacity = 2048;
/** Room for the packet-info control messages of one datagram (IPv4 and IPv6 both). */
constexpr size_t kControlCapacity = 128;

class ReceiveBatch {
 public:
  ReceiveBatch();
  ~ReceiveBatch();
  ReceiveBatch(const ReceiveBatch&) = delete;
  ReceiveBatch& operator=(const ReceiveBatch&) = delete;

  int count() const { return count_; }
  uint8_t* data(int i) { return buffers_ + static_cast<size_t>(i) * kDatagramCapacity; }
  size_t size(int i) const { return sizes_[i]; }
  /** True when the datagram did not fit (it is dropped). */
  bool truncated(int i) const { return truncated_[i]; }
  const sockaddr_storage& from(int i) const { return addresses_[i]; }
  socklen_t fromSize(int i) const { return addressSizes_[i]; }
  /**
   * The local address the datagram reached (port 0): from IP_PKTINFO/IPV6_PKTINFO on a socket
   * bound to a wildcard, the bound address otherwise; invalid where the platform cannot say.
   */
  const Endpoint& local(int i) const { return locals_[i]; }

 private:
  friend class UdpSocket;
  uint8_t* buffers_;
  int count_ = 0;
  size_t sizes_[kBatchSize];
  bool truncated_[kBatchSize];
  sockaddr_storage addresses_[kBatchSize];
  socklen_t addressSizes_[kBatchSize];
  Endpoint locals_[kBatchSize];
  alignas(cmsghdr) uint8_t controls_[kBatchSize][kControlCapacity];
#if ECHO_HAVE_MMSG
  mmsghdr* headers_;
  iovec iovs_[kBatchSize];
#endif
};

/** Datagrams to send, by reference: the bytes and addresses must outlive the send. */
class SendBatch {
 public:
  SendBatch();
  ~SendBatch();
  SendBatch(const SendBatch&) = delete;
  SendBatch& operator=(const SendBatch&) = delete;

  bool full() const { return count_ == kBatchSize; }
  int count() const { return count_; }
  /** `from`: the local address it leaves from (copied); null or invalid: the kernel chooses. */
  void add(const uint8_t* data, size_t size, const sockaddr_storage* to, socklen_t toSize, const Endpoint* from = nullptr);
  void clear() { count_ = 0; }

 private:
  friend class UdpSocket;
  int count_ = 0;
  const uint8_t* data_[kBatchSize];
  size_t sizes_[kBatchSize];
  const sockaddr_storage* to_[kBatchSize];
  socklen_t toSizes_[kBatchSize];
  Endpoint from_[kBatchSize];
  alignas(cmsghdr) uint8_t controls_[kBatchSize][kControlCapacity];
#if ECHO_HAVE_MMSG
  mmsghdr* headers_;
  iovec iovs_[kBatchSize];
#endif
};

class UdpSocket {
 public:
  /**
   * Binds `address` ('::' dual stack, '0.0.0.0', or one local address) on a free port of
   * [portMin, portMax] (0-0: any), trying each once from a random start.
   */
  static std::unique_ptr<UdpSocket> open(const std::string& address, int portMin, int portMax, std::string& error);
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  int fd() const { return fd_; }
  int family() const { return family_; }
  const Endpoint& local() const { return local_; }

  /** Fills `batch` with what is waiting (at most kBatchSize); 0 when nothing is. */
  int receive(ReceiveBatch& batch);
  /** Sends the batch; what the kernel will not take now is dropped, as UDP may. Returns how many went. */
  int send(SendBatch& batch);
  /**
   * One datagram. `from` (a local address of the remote's family) is the source on a socket bound
   * to a wildcard, where the kernel would otherwise choose by route; null or invalid: it chooses.
   */
  bool sendTo(const Endpoint& to, const uint8_t* data, size_t size, const Endpoint* from = nullptr);
  bool sendTo(const sockaddr_storage& to, socklen_t toSize, const uint8_t* data, size_t size,
              const Endpoint* from = nullptr);

  /**
   * `size` bytes of datagrams of `segmentSize` bytes each (the last may be shorter) to one
   * destination in one system call: UDP generic segmentation offload (UDP_SEGMENT, Linux 4.18),
   * which takes the run through the stack once instead of once per datagram. False when the
   * kernel refused it; then `segmentation()` is false from now on and the caller sends them one
   * by one.
   */
  bool sendSegments(const sockaddr_storage& to, socklen_t toSize, const uint8_t* data, size_t size,
                    size_t segmentSize, const Endpoint* from = nullptr);
  bool segmentation() const { return segmentation_.load(std::memory_order_relaxed); }

  uint64_t sendErrors() const { return sendErrors_.load(std::memory_order_relaxed); }
  /** Bound to '::' or '0.0.0.0': datagrams say where they arrived and replies say where they leave from. */
  bool wildcard() const { return wildcard_; }

 private:
  UdpSocket(int fd, int family) : fd_(fd), family_(family) {}
  /**
   * One sendmsg of `size` bytes to `to`, leaving from `from`; with `segment` > 0 as datagrams of
   * that size (UDP_SEGMENT). Its result: -1 with errno on failure.
   */
  ssize_t sendMessage(const sockaddr_storage& to, socklen_t toSize, const uint8_t* data, size_t size,
                      const Endpoint* from, uint16_t segment);
  /** The control message that makes a datagram to `to` leave from `from`; its size, 0 for none. */
  size_t sourceControl(const sockaddr_storage& to, const Endpoint* from, uint8_t* control) const;
  void readLocal(msghdr& header, Endpoint& local) const;
  int fd_;
  int family_;
  bool wildcard_ = false;
  Endpoint local_;
  /** local_ without its port: what every datagram reaches on a socket bound to one address. */
  Endpoint boundAddress_;
  /** Atomic: a session's application data is sent from the JavaScript thread (EchoSession). */
  std::atomic<uint64_t> sendErrors_{0};
  std::atomic<bool> segmentation_{ECHO_HAVE_UDP_SEGMENT != 0};
};

}  // namespace echo
