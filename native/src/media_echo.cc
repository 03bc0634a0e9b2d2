#include "media_echo.h"

#include <algorithm>
#include <cstring>

#include "byte_order.h"

namespace echo {

namespace {

constexpr int64_t kIndexLimit = int64_t{1} << 48;

constexpr uint8_t kSenderReport = 200;
constexpr uint8_t kReceiverReport = 201;
constexpr uint8_t kBye = 203;
constexpr uint8_t kTransportFeedback = 205;  // RTPFB
constexpr uint8_t kPayloadFeedback = 206;    // PSFB
constexpr uint8_t kGenericNack = 1;          // RTPFB FMT
constexpr uint8_t kPli = 1;                  // PSFB FMT
constexpr uint8_t kFir = 4;                  // PSFB FMT
constexpr size_t kReportBlockSize = 24;
constexpr size_t kSenderInfoEnd = 28;  // header, SSRC, 20 bytes of sender info

/** A section this session plays on (a WHEP viewer's): no echo, and it takes no RTP. */
bool plays(const EchoSectionConfig& section) { return !section.echo && section.payloadTypes.none(); }

void setHeader(uint8_t* packet, uint8_t count, size_t size) {
  packet[0] = static_cast<uint8_t>(0x80 | (count & 0x1F));
  store16(packet + 2, static_cast<uint16_t>(size / 4 - 1));
}

}  // namespace

MediaEcho::MediaEcho(MediaConfig config, SessionCounters& counters, MediaListener& listener)
    : counters_(counters), listener_(listener) {
  sections_.reserve(config.sections.size());
  for (auto& section : config.sections) {
    const uint8_t id = section.midExtensionId;
    if (id != 0 && std::find(midExtensionIds_.begin(), midExtensionIds_.end(), id) == midExtensionIds_.end()) {
      midExtensionIds_.push_back(id);
    }
    Section state;
    state.config = std::move(section);
    sections_.push_back(std::move(state));
  }
}

bool MediaEcho::setKeys(SrtpProfile profile, const uint8_t* material, size_t size, bool localIsClient) {
  const SrtpProfileInfo* info = srtpProfileInfo(profile);
  if (!info || size != 2 * (info->keySize + info->saltSize)) return false;
  const uint8_t* clientKey = material;
  const uint8_t* serverKey = material + info->keySize;
  const uint8_t* clientSalt = material + 2 * info->keySize;
  const uint8_t* serverSalt = clientSalt + info->saltSize;
  if (localIsClient) return setKeys(profile, serverKey, serverSalt, clientKey, clientSalt);
  return setKeys(profile, clientKey, clientSalt, serverKey, serverSalt);
}

bool MediaEcho::setKeys(SrtpProfile profile, const uint8_t* remoteKey, const uint8_t* remoteSalt,
                        const uint8_t* localKey, const uint8_t* localSalt) {
  ready_ = remote_.init(profile, remoteKey, remoteSalt) && local_.init(profile, localKey, localSalt);
  return ready_;
}

// ---- RTP -----------------------------------------------------------------------------------

MediaEcho::RemoteStream* MediaEcho::findStream(RemoteStream* streams, size_t count, uint32_t ssrc) {
  for (size_t i = 0; i < count; i++) {
    if (streams[i].used && streams[i].ssrc == ssrc) return &streams[i];
  }
  return nullptr;
}

MediaEcho::RemoteStream& MediaEcho::claimStream(RemoteStream* streams, size_t count, uint32_t ssrc) {
  // A free slot, else the least recently used: a client cycling SSRCs costs it, not our memory.
  RemoteStream* victim = &streams[0];
  for (size_t i = 0; i < count; i++) {
    if (!streams[i].used) {
      victim = &streams[i];
      break;
    }
    if (streams[i].lastUse < victim->lastUse) victim = &streams[i];
  }
  *victim = RemoteStream();
  victim->used = true;
  victim->ssrc = ssrc;
  return *victim;
}

int MediaEcho::cachedSection(uint32_t ssrc) const {
  for (const auto& entry : cache_) {
    if (entry.used && entry.ssrc == ssrc) return entry.section;
  }
  return -1;
}

void MediaEcho::cacheSection(uint32_t ssrc, int section) {
  CacheEntry& entry = cache_[cacheNext_];
  cacheNext_ = (cacheNext_ + 1) % kMaxSsrcCache;
  entry.used = true;
  entry.ssrc = ssrc;
  entry.section = static_cast<uint8_t>(section);
}

int MediaEcho::offeredSection(uint32_t ssrc) const {
  for (size_t i = 0; i < sections_.size(); i++) {
    for (uint32_t offered : sections_[i].config.offeredSsrcs) {
      if (offered == ssrc) return static_cast<int>(i);
    }
  }
  return -1;
}

int MediaEcho::sectionForRtp(const uint8_t* packet, const RtpHeader& header) {
  int section = cachedSection(header.ssrc);
  if (section >= 0) return section;
  // The mid: under each id some section gave the extension, a mid of a section with that id.
  for (size_t k = 0; section < 0 && k < midExtensionIds_.size(); k++) {
    const uint8_t id = midExtensionIds_[k];
    const uint8_t* mid = nullptr;
    size_t midSize = 0;
    if (!findHeaderExtension(packet, header, id, &mid, &midSize)) continue;
    for (size_t i = 0; i < sections_.size(); i++) {
      const EchoSectionConfig& config = sections_[i].config;
      if (config.midExtensionId == id && config.mid.size() == midSize && memcmp(config.mid.data(), mid, midSize) == 0) {
        section = static_cast<int>(i);
        break;
      }
    }
  }
  if (section < 0) section = offeredSection(header.ssrc);
  if (section < 0) {
    // Last: the one section that has this payload type, if only one has it.
    for (size_t i = 0; i < sections_.size(); i++) {
      if (!sections_[i].config.payloadTypes.test(header.payloadType)) continue;
      if (section >= 0) return -1;
      section = static_cast<int>(i);
    }
  }
  if (section >= 0) cacheSection(header.ssrc, section);
  return section;
}

size_t MediaEcho::onRtp(uint8_t* packet, size_t size, size_t capacity) {
  RtpHeader header;
  if (!ready_ || !parseRtpHeader(packet, size, header) || sections_.empty()) {
    bump(counters_.rtpDropped);
    return 0;
  }
  RemoteStream* stream = findStream(rtpStreams_, kMaxRemoteStreams, header.ssrc);
  static const ReplayWindow kFresh;
  const ReplayWindow& window = stream ? stream->window : kFresh;
  const uint64_t index = estimateRtpIndex(window, header.sequence);
  if (!window.check(index)) {
    bump(counters_.rtpDropped);
    return 0;
  }
  if (!remote_.unprotectRtp(packet, size, header.headerSize, header.ssrc, index)) {
    bump(counters_.srtpAuthFailures);
    bump(counters_.rtpDropped);
    return 0;
  }
  // Authentic from here on: only now may the packet change any state.
  if (!stream) stream = &claimStream(rtpStreams_, kMaxRemoteStreams, header.ssrc);
  stream->lastUse = ++uses_;
  stream->window.accept(index);

  const int found = sectionForRtp(packet, header);
  if (found < 0 || !sections_[found].config.payloadTypes.test(header.payloadType)) {
    bump(counters_.rtpDropped);
    return 0;
  }
  Section& section = sections_[found];
  listener_.onRtpReceived(static_cast<size_t>(found), packet, size, header, index);
  if (!section.config.echo) {
    // Taken, not echoed: its source is what feedback for the viewers goes to.
    section.hasSource = true;
    section.source = header.ssrc;
    return 0;
  }
  const int64_t in = static_cast<int64_t>(index);
  if (!section.hasSource || section.source != header.ssrc) {
    section.hasSource = true;
    section.source = header.ssrc;
    section.epochStart = section.sentAny ? section.highestOut + 1 : 0;
    section.offset = section.sentAny ? section.epochStart - in : 0;
  }
  const int64_t out = in + section.offset;
  if (out < section.epochStart || out >= kIndexLimit) {
    bump(counters_.rtpDropped);
    return 0;
  }
  section.sentAny = true;
  if (out > section.highestOut) section.highestOut = out;

  const size_t plainSize = size;
  store32(packet + 8, section.config.echoSsrc);
  if (section.offset != 0) store16(packet + 2, static_cast<uint16_t>(out));
  if (!local_.protectRtp(packet, size, capacity, header.headerSize, section.config.echoSsrc,
                         static_cast<uint64_t>(out))) {
    bump(counters_.rtpDropped);
    return 0;
  }
  bump(counters_.rtpEchoed);
  bump(counters_.rtpEchoedBytes, plainSize);
  return size;
}

// ---- RTCP ----------------------------------------------------------------------------------

size_t MediaEcho::onRtcp(uint8_t* packet, size_t size, size_t capacity) {
  uint32_t index = 0;
  if (!ready_ || !remote_.readRtcpIndex(packet, size, index)) return 0;
  const uint32_t ssrc = load32(packet + 4);
  RemoteStream* stream = findStream(rtcpStreams_, kMaxRemoteStreams, ssrc);
  if (stream && !stream->window.check(index)) return 0;
  if (!remote_.unprotectRtcp(packet, size)) {
    bump(counters_.srtpAuthFailures);
    return 0;
  }
  if (!stream) stream = &claimStream(rtcpStreams_, kMaxRemoteStreams, ssrc);
  stream->lastUse = ++uses_;
  stream->window.accept(index);
  bump(counters_.rtcpIn);

  size = relayRtcp(packet, size);
  if (size == 0) return 0;
  rtcpIndex_ = (rtcpIndex_ + 1) & 0x7FFFFFFFu;
  if (!local_.protectRtcp(packet, size, capacity, rtcpIndex_)) return 0;
  return size;
}

MediaEcho::Section* MediaEcho::sectionBySource(uint32_t ssrc) {
  for (auto& section : sections_) {
    if (section.hasSource && section.source == ssrc) return &section;
  }
  return nullptr;
}

MediaEcho::Section* MediaEcho::sectionByEcho(uint32_t ssrc) {
  for (auto& section : sections_) {
    if (section.hasSource && section.config.echo && section.config.echoSsrc == ssrc) return &section;
  }
  return nullptr;
}

size_t MediaEcho::relayRtcp(uint8_t* packet, size_t size) {
  // Each packet of the compound moves down to where the output has got to, then is rewritten
  // (or dropped) there; the output never overtakes the input.
  size_t in = 0;
  size_t out = 0;
  while (size - in >= 4) {
    if ((packet[in] >> 6) != 2) break;
    const size_t length = (static_cast<size_t>(load16(packet + in + 2)) + 1) * 4;
    if (length > size - in) break;
    // Padding only ever ends a compound packet, and nothing we relay needs it: dropped.
    if ((packet[in] & 0x20) == 0) {
      memmove(packet + out, packet + in, length);
      out += relayOne(packet + out, length);
    }
    in += length;
  }
  return out;
}

size_t MediaEcho::relayReportBlocks(uint8_t* blocks, size_t count) {
  // A report about an echo stream is, seen from the client, a report about its own stream
  // after the round trip: it goes back about the client's source, in its sequence numbers.
  size_t kept = 0;
  for (size_t i = 0; i < count; i++) {
    uint8_t* block = blocks + i * kReportBlockSize;
    const Section* section = sectionByEcho(load32(block));
    if (!section) continue;
    uint8_t* target = blocks + kept * kReportBlockSize;
    if (target != block) memmove(target, block, kReportBlockSize);
    store32(target, section->source);
    store32(target + 8, static_cast<uint32_t>(load32(target + 8) - static_cast<uint32_t>(section->offset)));
    kept++;
  }
  return kept;
}

int MediaEcho::sectionByMid(const std::string& mid) const {
  for (size_t i = 0; i < sections_.size(); i++) {
    if (sections_[i].config.mid == mid) return static_cast<int>(i);
  }
  return -1;
}

const MediaEcho::Section* MediaEcho::playedSection(uint32_t ssrc) const {
  for (const auto& section : sections_) {
    if (plays(section.config) && section.config.echoSsrc == ssrc) return &section;
  }
  return nullptr;
}

size_t MediaEcho::reportFeedback(const uint8_t* packet, size_t size) {
  // Feedback about a stream this session plays (a WHEP viewer's): it goes up, for the
  // publisher, and nothing is relayed here. NACK FCIs (RFC 4585 §6.2.1) are expanded.
  const uint8_t count = packet[0] & 0x1F;
  const uint8_t type = packet[1];
  if (type == kPayloadFeedback && count == kPli && size >= 12) {
    const Section* section = playedSection(load32(packet + 8));
    if (section) listener_.onFeedback(section->config.mid, true, nullptr, 0);
    return section ? 1 : 0;
  }
  if (type == kPayloadFeedback && count == kFir) {
    for (size_t fci = 12; fci + 8 <= size; fci += 8) {
      const Section* section = playedSection(load32(packet + fci));
      if (!section) continue;
      listener_.onFeedback(section->config.mid, true, nullptr, 0);
      return 1;
    }
    return 0;
  }
  if (type == kTransportFeedback && count == kGenericNack && size >= 16) {
    const Section* section = playedSection(load32(packet + 8));
    if (!section) return 0;
    uint16_t sequences[17 * 8];
    size_t n = 0;
    for (size_t fci = 12; fci + 4 <= size && n + 17 <= sizeof(sequences) / sizeof(sequences[0]); fci += 4) {
      const uint16_t pid = load16(packet + fci);
      const uint16_t blp = load16(packet + fci + 2);
      sequences[n++] = pid;
      for (int bit = 0; bit < 16; bit++) {
        if (blp & (1u << bit)) sequences[n++] = static_cast<uint16_t>(pid + bit + 1);
      }
    }
    listener_.onFeedback(section->config.mid, false, sequences, n);
    return 1;
  }
  return 0;
}

size_t MediaEcho::protectPlayed(uint8_t* packet, size_t size, size_t capacity, size_t headerSize, uint32_t ssrc,
                                uint64_t index) {
  if (!ready_) return 0;
  const size_t plainSize = size;
  if (!local_.protectRtp(packet, size, capacity, headerSize, ssrc, index)) return 0;
  playedAny_ = true;
  bump(counters_.rtpEchoed);
  bump(counters_.rtpEchoedBytes, plainSize);
  return size;
}

size_t MediaEcho::writeFeedback(const std::string& mid, bool keyframe, const uint16_t* sequences, size_t count,
                                uint8_t* out, size_t capacity) {
  const int index = sectionByMid(mid);
  if (!ready_ || index < 0 || capacity < 128) return 0;
  const Section& section = sections_[static_cast<size_t>(index)];
  if (!section.hasSource) return 0;
  size_t size = 12;
  if (keyframe) {
    out[0] = 0x80 | kPli;
    out[1] = kPayloadFeedback;
  } else {
    // Each FCI: a packet id and a bitmask of the 16 after it (RFC 4585 §6.2.1).
    if (count == 0 || count > 64) return 0;
    out[0] = 0x80 | kGenericNack;
    out[1] = kTransportFeedback;
    size_t i = 0;
    while (i < count && size + 4 <= capacity - 64) {
      const uint16_t pid = sequences[i++];
      uint16_t blp = 0;
      while (i < count) {
        const uint16_t distance = static_cast<uint16_t>(sequences[i] - pid);
        if (distance == 0) {
          i++;
          continue;
        }
        if (distance > 16) break;
        blp = static_cast<uint16_t>(blp | (1u << (distance - 1)));
        i++;
      }
      store16(out + size, pid);
      store16(out + size + 2, blp);
      size += 4;
    }
    bump(counters_.nacksRelayed);
  }
  store16(out + 2, static_cast<uint16_t>(size / 4 - 1));
  store32(out + 4, section.config.echoSsrc);
  store32(out + 8, section.source);
  if (keyframe) bump(counters_.keyframeRequests);
  rtcpIndex_ = (rtcpIndex_ + 1) & 0x7FFFFFFFu;
  if (!local_.protectRtcp(out, size, capacity, rtcpIndex_)) return 0;
  return size;
}

size_t MediaEcho::writePlayedBye(uint8_t* out, size_t capacity) {
  if (!ready_ || !playedAny_ || capacity < 128) return 0;
  size_t count = 0;
  for (const auto& section : sections_) {
    if (!plays(section.config) || count == 16) continue;
    store32(out + 4 + 4 * count++, section.config.echoSsrc);
  }
  if (count == 0) return 0;
  size_t size = 4 + 4 * count;
  setHeader(out, static_cast<uint8_t>(count), size);
  out[1] = kBye;
  rtcpIndex_ = (rtcpIndex_ + 1) & 0x7FFFFFFFu;
  if (!local_.protectRtcp(out, size, capacity, rtcpIndex_)) return 0;
  return size;
}

size_t MediaEcho::relayOne(uint8_t* packet, size_t size) {
  const uint8_t count = packet[0] & 0x1F;
  const uint8_t type = packet[1];
  if (size < 8) return 0;
  if ((type == kPayloadFeedback || type == kTransportFeedback) && reportFeedback(packet, size) > 0) return 0;
  switch (type) {
    case kSenderReport: {
      // The client's SR about its stream becomes the echo's SR about the echo: same NTP and RTP
      // timestamps (the echo keeps them), so round-trip time and lip sync work at the client.
      if (size < kSenderInfoEnd + count * kReportBlockSize) return 0;
      const Section* section = sectionBySource(load32(packet + 4));
      if (!section || !section->config.echo) return 0;
      store32(packet + 4, section->config.echoSsrc);
      const size_t kept = relayReportBlocks(packet + kSenderInfoEnd, count);
      const size_t length = kSenderInfoEnd + kept * kReportBlockSize;
      setHeader(packet, static_cast<uint8_t>(kept), length);
      return length;
    }
    case kReceiverReport: {
      if (size < 8 + count * kReportBlockSize || sections_.empty()) return 0;
      const Section* reporter = sectionBySource(load32(packet + 4));
      const size_t kept = relayReportBlocks(packet + 8, count);
      if (kept == 0) return 0;
      store32(packet + 4, reporter ? reporter->config.echoSsrc : sections_[0].config.echoSsrc);
      const size_t length = 8 + kept * kReportBlockSize;
      setHeader(packet, static_cast<uint8_t>(kept), length);
      return length;
    }
    case kBye: {
      if (size < 4 + count * 4u) return 0;
      size_t kept = 0;
      bool viewerLeft = false;
      for (size_t i = 0; i < count; i++) {
        const uint32_t ssrc = load32(packet + 4 + 4 * i);
        int index = cachedSection(ssrc);
        if (index < 0) index = offeredSection(ssrc);
        Section* section = index >= 0 ? &sections_[index] : sectionBySource(ssrc);
        if (!section) {
          // A source of nobody's section: on a viewer's session, the viewer's own (its
          // receiver's) leaving, reported once per packet for each section it is played on.
          if (!viewerLeft && !playedSection(ssrc)) {
            for (const auto& played : sections_) {
              if (plays(played.config)) {
                listener_.onRtcpBye(played.config.mid, ssrc);
                viewerLeft = true;
              }
            }
          }
          continue;
        }
        listener_.onRtcpBye(section->config.mid, ssrc);
        if (section->hasSource && section->source == ssrc && section->config.echo) {
          // The echo of that source ends too; a later source starts a new epoch.
          store32(packet + 4 + 4 * kept++, section->config.echoSsrc);
          section->hasSource = false;
        }
      }
      if (kept == 0) return 0;
      const size_t length = 4 + 4 * kept;  // the reason, if any, is the client's: left out
      setHeader(packet, static_cast<uint8_t>(kept), length);
      return length;
    }
    case kTransportFeedback: {
      // Generic NACK about the echo stream: the echo keeps no packets, so the client's sender
      // is asked instead; what it sends again is echoed like any packet. (TWCC and the rest
      // are not negotiated for an echo: dropped.)
      if (count != kGenericNack || size < 16) return 0;
      const Section* section = sectionByEcho(load32(packet + 8));
      if (!section) return 0;
      store32(packet + 4, section->config.echoSsrc);
      store32(packet + 8, section->source);
      if (section->offset != 0) {
        for (size_t fci = 12; fci + 4 <= size; fci += 4) {
          store16(packet + fci, static_cast<uint16_t>(load16(packet + fci) - static_cast<uint16_t>(section->offset)));
        }
      }
      bump(counters_.nacksRelayed);
      return size;
    }
    case kPayloadFeedback: {
      if (count == kPli) {
        if (size < 12) return 0;
        const Section* section = sectionByEcho(load32(packet + 8));
        if (!section) return 0;
        store32(packet + 4, section->config.echoSsrc);
        store32(packet + 8, section->source);
        setHeader(packet, kPli, 12);
        bump(counters_.keyframeRequests);
        return 12;
      }
      if (count == kFir) {
        // RFC 5104 §4.3.1: the targets are in 8-byte FCI entries; the media SSRC field is 0.
        size_t kept = 0;
        const Section* first = nullptr;
        for (size_t fci = 12; fci + 8 <= size; fci += 8) {
          const Section* section = sectionByEcho(load32(packet + fci));
          if (!section) continue;
          if (!first) first = section;
          uint8_t* target = packet + 12 + 8 * kept++;
          if (target != packet + fci) memmove(target, packet + fci, 8);
          store32(target, section->source);
        }
        if (!first) return 0;
        store32(packet + 4, first->config.echoSsrc);
        store32(packet + 8, 0);
        const size_t length = 12 + 8 * kept;
        setHeader(packet, kFir, length);
        bump(counters_.keyframeRequests);
        return length;
      }
      return 0;  // REMB and other application feedback: not negotiated for an echo
    }
    default:
      return 0;  // SDES, APP, XR: the client's own business
  }
}

}  // namespace echo
