// A session's counters: written by the data-plane thread only, read by JavaScript at any time.
// Relaxed atomics: each value is exact on its own; a snapshot of several may straddle a packet.
#pragma once

#include <atomic>
#include <cstdint>

namespace echo {

struct SessionCounters {
  std::atomic<uint64_t> packetsIn{0};
  std::atomic<uint64_t> rtpEchoed{0};
  std::atomic<uint64_t> rtpEchoedBytes{0};
  std::atomic<uint64_t> rtpDropped{0};
  std::atomic<uint64_t> rtcpIn{0};
  std::atomic<uint64_t> keyframeRequests{0};
  std::atomic<uint64_t> nacksRelayed{0};
  std::atomic<uint64_t> srtpAuthFailures{0};
  /** Binding requests the plane answered itself (the ICE fast path), not JavaScript. */
  std::atomic<uint64_t> stunAnswered{0};
  /** Triggered checks the plane sent itself (TriggeredChecks), not JavaScript. */
  std::atomic<uint64_t> stunChecksSent{0};
  /**
   * Datagrams of application data that left in segmented sends (UDP_SEGMENT), not one by one.
   * The one counter JavaScript's thread writes (EchoSession::sendApplicationData), always under
   * the session's dtlsMutex_, so still one writer at a time.
   */
  std::atomic<uint64_t> datagramsSegmented{0};
  /** The DTLS handshake finished (set before dtls-connected is queued); cleared when it ends. */
  std::atomic<bool> connected{false};
};

/** One writer: a plain load and store, no locked instruction on the packet path. */
inline void bump(std::atomic<uint64_t>& counter, uint64_t by = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

}  // namespace echo
