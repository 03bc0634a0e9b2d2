import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ROOT } from './cli.js';

/** The real offers captured by test/fuzz/capture-offers.ts, by file name (chromium-media, pion-datachannel…). */
export function realOffer(name: string): { type: 'offer'; sdp: string } {
  return JSON.parse(readFileSync(`${ROOT}testdata/offers/${name}.json`, 'utf8')) as { type: 'offer'; sdp: string };
}

export interface OfferShape {
  audio?: number;
  video?: number;
  /** One m=application section (a data channel). */
  data?: boolean;
  /** One BUNDLE group over every section (the default), or one ICE transport per section. */
  bundle?: boolean;
  /** Host candidates in each section, on 127.0.0.1 and ports nobody listens on. Default 1. */
  candidatesPerSection?: number;
  /** Candidate address; default 127.0.0.1. */
  candidateAddress?: string;
}

/**
 * A syntactically real offer of any shape, for limit tests and measurements: the sections are
 * what libdatachannel offers (Opus, VP8, SCTP), the credentials fresh, the fingerprint that of
 * a real certificate. Nobody answers its candidates.
 */
export function shapedOffer(shape: OfferShape): { type: 'offer'; sdp: string } {
  const { audio = 0, video = 0, data = false, bundle = true, candidatesPerSection = 1, candidateAddress = '127.0.0.1' } = shape;
  const kinds = [...Array<'audio'>(audio).fill('audio'), ...Array<'video'>(video).fill('video'), ...(data ? (['application'] as const) : [])];
  const fingerprint = /^a=fingerprint:.*$/m.exec(realOffer('libdatachannel-media').sdp)![0];
  const credentials = () => [`a=ice-ufrag:${randomBytes(3).toString('hex')}`, `a=ice-pwd:${randomBytes(12).toString('hex')}`];
  const shared = credentials();
  let port = 40_000;
  const lines = ['v=0', `o=- ${Date.now()} 0 IN IP4 127.0.0.1`, 's=-', 't=0 0'];
  if (bundle) lines.push(`a=group:BUNDLE ${kinds.map((_, mid) => mid).join(' ')}`);
  lines.push('a=msid-semantic:WMS *', fingerprint);
  kinds.forEach((kind, mid) => {
    const ice = bundle ? shared : credentials();
    const candidates = Array.from({ length: candidatesPerSection }, (_, i) => `a=candidate:${i + 1} 1 UDP ${2_114_977_791 - i} ${candidateAddress} ${port++} typ host`);
    if (kind === 'application') {
      lines.push('m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', `a=mid:${mid}`, 'a=sendrecv', 'a=sctp-port:5000', 'a=max-message-size:262144');
    } else {
      const [pt, rtpmap] = kind === 'audio' ? [111, 'opus/48000/2'] : [96, 'VP8/90000'];
      const ssrc = randomBytes(4).readUInt32BE() || 1;
      lines.push(
        `m=${kind} 9 UDP/TLS/RTP/SAVPF ${pt}`, 'c=IN IP4 0.0.0.0', `a=mid:${mid}`, 'a=sendrecv',
        `a=ssrc:${ssrc} cname:shaped`, `a=msid:shaped ${kind}-${mid}`, 'a=rtcp-mux', `a=rtpmap:${pt} ${rtpmap}`,
      );
    }
    lines.push('a=setup:actpass', ...ice, ...candidates);
  });
  return { type: 'offer', sdp: `${lines.join('\r\n')}\r\n` };
}
