// RFC 3711 §3.3.2 replay protection and Appendix A index estimation, for one SRTP or SRTCP
// source. A window of 128 indexes, as libsrtp keeps by default.
#pragma once

#include <cstdint>

namespace echo {

class ReplayWindow {
 public:
  static constexpr uint64_t kSize = 128;

  /** Whether `index` may be accepted: ahead of the highest, or inside the window and not yet seen. */
  bool check(uint64_t index) const;
  /** Records `index` as seen (call only once the packet authenticated). */
  void accept(uint64_t index);

  bool started() const { return started_; }
  uint64_t highest() const { return highest_; }

 private:
  bool started_ = false;
  uint64_t highest_ = 0;
  uint64_t seen_[2] = {0, 0};  // bit i: index highest_ - i was seen
};

/**
 * The 48-bit packet index of sequence number `seq` (RFC 3711 Appendix A), guessed from the
 * highest index seen so far: the rollover counter that puts `seq` nearest to it.
 */
uint64_t estimateRtpIndex(const ReplayWindow& window, uint16_t seq);

}  // namespace echo
