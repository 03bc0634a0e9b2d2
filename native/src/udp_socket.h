// A non-blocking UDP socket of the data plane, bound in a port range, that receives and sends
// in batches. Buffers belong to the batches, which the plane allocates once.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

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

 private:
  friend class UdpSocket;
  uint8_t* buffers_;
  int count_ = 0;
  size_t sizes_[kBatchSize];
  bool truncated_[kBatchSize];
  sockaddr_storage addresses_[kBatchSize];
  socklen_t addressSizes_[kBatchSize];
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
  void add(const uint8_t* data, size_t size, const sockaddr_storage* to, socklen_t toSize);
  void clear() { count_ = 0; }

 private:
  friend class UdpSocket;
  int count_ = 0;
  const uint8_t* data_[kBatchSize];
  size_t sizes_[kBatchSize];
  const sockaddr_storage* to_[kBatchSize];
  socklen_t toSizes_[kBatchSize];
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
  bool sendTo(const Endpoint& to, const uint8_t* data, size_t size);
  bool sendTo(const sockaddr_storage& to, socklen_t toSize, const uint8_t* data, size_t size);

  uint64_t sendErrors() const { return sendErrors_; }

 private:
  UdpSocket(int fd, int family) : fd_(fd), family_(family) {}
  int fd_;
  int family_;
  Endpoint local_;
  uint64_t sendErrors_ = 0;
};

}  // namespace echo
