/**
 * Builds a libdatachannel media description with exactly the codec lines we choose.
 *
 * node-datachannel offers two ways in, neither enough alone: parseSdpLine() records rtpmap,
 * fmtp and rtcp-fb lines but leaves the payload type out of the m-line, and addVideoCodec()
 * lists it in the m-line but also adds its own feedback (nack, nack pli, goog-remb). So we
 * parse our lines first and then add each codec: libdatachannel's addRtpMap() keeps an rtpmap
 * already present (std::map::emplace) and only appends the payload type to the m-line
 * (libdatachannel 0.24 description.cpp, Media::addRtpMap).
 */
import { Audio, Video, type Direction } from 'node-datachannel';
import type { MediaKind } from '../../sdp/description.js';

export interface MediaSpec {
  kind: MediaKind;
  mid: string;
  direction: Direction;
  /** `codec/rate[/channels]` per payload type, in order of preference. */
  codecs: ReadonlyArray<{ payloadType: number; codec: string }>;
  /** `a=rtpmap`, `a=fmtp` and `a=rtcp-fb` lines for those payload types, and any `a=extmap` lines. */
  codecLines: readonly string[];
  ssrc: { ssrc: number; cname: string; streamId: string; trackId: string };
}

export function buildMedia(spec: MediaSpec): Audio | Video {
  let media: Audio | Video;
  if (spec.kind === 'video') {
    const video = new Video(spec.mid, spec.direction);
    for (const line of spec.codecLines) video.parseSdpLine(line);
    for (const { payloadType, codec } of spec.codecs) video.addVideoCodec(payloadType, codec);
    media = video;
  } else {
    const audio = new Audio(spec.mid, spec.direction);
    for (const line of spec.codecLines) audio.parseSdpLine(line);
    for (const { payloadType, codec } of spec.codecs) audio.addAudioCodec(payloadType, codec);
    media = audio;
  }
  const { ssrc, cname, streamId, trackId } = spec.ssrc;
  media.addSSRC(ssrc, cname, streamId, trackId);
  return media;
}
