#include "playback.h"

#include <algorithm>

#include "rtp_forward.h"

namespace echo {

namespace {
constexpr int64_t kIndexLimit = int64_t{1} << 48;
}

int64_t IndexEpoch::map(uint32_t ssrc, int64_t in) {
  if (!hasSource || source != ssrc) {
    hasSource = true;
    source = ssrc;
    epochStart = highestOut + 1;
    // The first source keeps its sequence numbers at rollover 0; a later one continues above.
    offset = highestOut < 0 ? -(in & ~int64_t{0xFFFF}) : epochStart - in;
  }
  const int64_t out = in + offset;
  if (out < epochStart || out >= kIndexLimit) return -1;
  if (out > highestOut) highestOut = out;
  return out;
}

void Playback::add(EchoSession& publisher, EchoSession& viewer, std::vector<PlayedTrack> tracks) {
  removeViewer(viewer);
  auto& outlets = byPublisher_[&publisher];
  for (auto& track : tracks) {
    Outlet outlet;
    outlet.viewer = &viewer;
    outlet.section = publisher.media().sectionByMid(track.publisherMid);
    outlet.track = std::move(track);
    outlets.push_back(std::move(outlet));
  }
  if (outlets.empty()) {
    byPublisher_.erase(&publisher);
    return;
  }
  publisher.setTap(this);
}

void Playback::removeFrom(EchoSession& publisher, std::vector<Outlet>& outlets, EchoSession& viewer) {
  outlets.erase(std::remove_if(outlets.begin(), outlets.end(), [&](const Outlet& o) { return o.viewer == &viewer; }),
                outlets.end());
  if (outlets.empty()) publisher.setTap(nullptr);
}

void Playback::removeViewer(EchoSession& viewer) {
  for (auto it = byPublisher_.begin(); it != byPublisher_.end();) {
    removeFrom(*it->first, it->second, viewer);
    it = it->second.empty() ? byPublisher_.erase(it) : std::next(it);
  }
}

void Playback::forget(EchoSession& session) {
  auto own = byPublisher_.find(&session);
  if (own != byPublisher_.end()) {
    session.setTap(nullptr);
    byPublisher_.erase(own);
  }
  removeViewer(session);
}

bool Playback::translateNack(EchoSession& viewer, const std::string& viewerMid, std::vector<uint16_t>& sequences,
                             EchoSession*& publisher, std::string& publisherMid) const {
  for (const auto& entry : byPublisher_) {
    for (const Outlet& outlet : entry.second) {
      if (outlet.viewer != &viewer || outlet.track.viewerMid != viewerMid) continue;
      publisher = entry.first;
      publisherMid = outlet.track.publisherMid;
      // The viewer numbers the publisher's packets `offset` further on (a multiple of 2^16 but
      // after a change of source).
      for (auto& sequence : sequences) sequence = static_cast<uint16_t>(sequence - static_cast<uint16_t>(outlet.epoch.offset));
      return true;
    }
  }
  return false;
}

void Playback::onPublisherRtp(EchoSession& publisher, size_t section, const uint8_t* packet, size_t size,
                              const RtpHeader& header, uint64_t index) {
  auto found = byPublisher_.find(&publisher);
  if (found == byPublisher_.end()) return;
  for (Outlet& outlet : found->second) {
    if (outlet.section != static_cast<int>(section)) continue;
    const int16_t payloadType = outlet.track.payloadTypes[header.payloadType];
    if (payloadType < 0 || !outlet.viewer->mediaReady()) continue;  // not the viewer's codec, or not connected yet
    const int64_t out = outlet.epoch.map(header.ssrc, static_cast<int64_t>(index));
    if (out < 0) continue;
    ForwardRewrite rewrite;
    rewrite.payloadType = static_cast<uint8_t>(payloadType);
    rewrite.ssrc = outlet.track.ssrc;
    rewrite.sequence = static_cast<uint16_t>(out);
    rewrite.midExtensionId = outlet.track.midExtensionId;
    rewrite.mid = &outlet.track.viewerMid;
    size_t headerSize = 0;
    const size_t copy = forwardRtp(packet, size, header, rewrite, scratch_.data(), scratch_.size(), headerSize);
    if (copy > 0) outlet.viewer->sendPlayed(scratch_.data(), copy, scratch_.size(), headerSize, outlet.track.ssrc,
                                           static_cast<uint64_t>(out));
  }
}

}  // namespace echo
