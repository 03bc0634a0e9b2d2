#include "replay_window.h"

namespace echo {

bool ReplayWindow::check(uint64_t index) const {
  if (!started_ || index > highest_) return true;
  const uint64_t delta = highest_ - index;
  if (delta >= kSize) return false;
  return (seen_[delta / 64] & (uint64_t{1} << (delta % 64))) == 0;
}

void ReplayWindow::accept(uint64_t index) {
  if (!started_) {
    started_ = true;
    highest_ = index;
    seen_[0] = 1;
    seen_[1] = 0;
    return;
  }
  if (index > highest_) {
    const uint64_t shift = index - highest_;
    if (shift >= kSize) {
      seen_[0] = seen_[1] = 0;
    } else if (shift >= 64) {
      seen_[1] = seen_[0] << (shift - 64);
      seen_[0] = 0;
    } else {
      seen_[1] = (seen_[1] << shift) | (seen_[0] >> (64 - shift));
      seen_[0] <<= shift;
    }
    seen_[0] |= 1;
    highest_ = index;
    return;
  }
  const uint64_t delta = highest_ - index;
  if (delta < kSize) seen_[delta / 64] |= uint64_t{1} << (delta % 64);
}

uint64_t estimateRtpIndex(const ReplayWindow& window, uint16_t seq) {
  if (!window.started()) return seq;
  const uint64_t highest = window.highest();
  const uint32_t roc = static_cast<uint32_t>(highest >> 16);
  const int32_t last = static_cast<int32_t>(highest & 0xFFFF);
  uint64_t guess = roc;
  if (last < 32768) {
    // A sequence number far above the last one is a late packet from before the last wrap
    // (there is none before the first: keep 0).
    if (static_cast<int32_t>(seq) - last > 32768 && roc > 0) guess = roc - 1;
  } else if (last - 32768 > static_cast<int32_t>(seq)) {
    guess = uint64_t{roc} + 1;
  }
  return ((guess << 16) | seq) & ((uint64_t{1} << 48) - 1);
}

}  // namespace echo
