/**
 * WHEP on werift: a publishing echo peer's fan-out (kit/fan-out.ts), and a viewer peer's
 * sections, each answered sendonly with a sender SSRC of werift's own; forwarded packets go out through the DTLS transport, past werift's sender (which would
 * rewrite the payload type and the extensions), as the echo's do. From the viewer come PLI,
 * FIR and NACKs about our SSRC, relayed to the publisher, and one keyframe request as the
 * transport comes up.
 */
import { RtcpPacketConverter, RtcpPayloadSpecificFeedback, RtcpTransportLayerFeedback, RtpPacket, type RTCRtpTransceiver, type RtcpPacket } from 'werift';
import type { EchoPeerOptions, Publication, ViewerLink, ViewerTrack } from '../engine.js';
import { RtpFanOut } from '../kit/fan-out.js';
import { buildBye, buildNack, buildPli, genericNacks, keyframeRequestTargets } from '../../rtp/rtcp.js';
import { publishedTracks, type PlaybackPlan } from '../../sdp/playback.js';
import type { ParsedSdp } from '../../sdp/parsed-offer.js';

/** What the publishing peer knows per transceiver: the SSRC its client sends from. */
export function publishFanOut(answer: ParsedSdp, transceivers: () => RTCRtpTransceiver[], clientSsrcs: Map<RTCRtpTransceiver, number>, log: EchoPeerOptions['log']): RtpFanOut {
  const send = (mid: string, packet: (ours: number, theirs: number) => Buffer): boolean => {
    const transceiver = transceivers().find((t) => t.mid === mid);
    const clientSsrc = transceiver && clientSsrcs.get(transceiver);
    if (!transceiver || clientSsrc === undefined) return false;
    transceiver.dtlsTransport.sendRtcp(RtcpPacketConverter.deSerialize(packet(transceiver.sender.ssrc, clientSsrc))).catch((err: unknown) => log.debug({ err }, 'RTCP for a viewer not sent'));
    return true;
  };
  return new RtpFanOut(
    publishedTracks(answer),
    {
      requestKeyframe: (mid) => send(mid, (ours, theirs) => buildPli(ours, theirs)),
      nack: (mid, sequences) => void send(mid, (ours, theirs) => buildNack(ours, theirs, sequences)),
    },
    log,
  );
}

/** After the viewer's offer is applied, before the answer: sections that play send, the others go inactive. */
export function preparePlayback(transceivers: RTCRtpTransceiver[], plan: PlaybackPlan): void {
  for (const transceiver of transceivers) {
    transceiver.setDirection(plan.mappings.some((m) => m.viewerMid === transceiver.mid) ? 'sendonly' : 'inactive');
  }
}

/**
 * Once the answer is made: the viewer attached to the publication, and its RTCP followed.
 * Returns the link and what to unsubscribe.
 */
export function attachViewer(
  transceivers: RTCRtpTransceiver[],
  plan: PlaybackPlan,
  publication: Publication,
  hooks: { counters: { rtpPackets: number; rtpBytes: number; keyframeRequests: number }; closed: () => boolean },
): { link: ViewerLink; unsubscribers: Array<() => void>; sayBye(): void } {
  const byMid = new Map(transceivers.map((t) => [t.mid ?? '', t]));
  const tracks: ViewerTrack[] = plan.mappings.flatMap((mapping) => {
    const transceiver = byMid.get(mapping.viewerMid);
    return transceiver ? [{ ...mapping, ssrc: transceiver.sender.ssrc }] : [];
  });
  const link = publication.addViewer(
    {
      sendRtp(viewerMid, packet) {
        const transport = byMid.get(viewerMid)?.sender.dtlsTransport;
        if (hooks.closed() || transport?.state !== 'connected') return false;
        const rtp = RtpPacket.deSerialize(packet);
        const payload = rtp.header.padding ? withPadding(rtp.payload, rtp.header.paddingSize) : rtp.payload;
        transport.sendRtp(payload, rtp.header).catch(() => undefined);
        hooks.counters.rtpPackets++;
        hooks.counters.rtpBytes += packet.length;
        return true;
      },
    },
    tracks,
  );
  const unsubscribers: Array<() => void> = [];
  const transports = new Set(tracks.map((t) => byMid.get(t.viewerMid)!.dtlsTransport));
  for (const transport of transports) {
    unsubscribers.push(transport.onRtcp.subscribe((packet: RtcpPacket) => relayFeedback(packet, tracks, link, hooks.counters)).unSubscribe);
    // The first moment the viewer can take media: a keyframe, not the publisher's next one.
    const ask = () => {
      for (const track of tracks) if (track.kind === 'video') link.requestKeyframe(track.viewerMid);
    };
    if (transport.state === 'connected') ask();
    unsubscribers.push(transport.onStateChange.subscribe((state) => state === 'connected' && ask()).unSubscribe);
  }
  /** Before closing: an RTCP BYE for every source played (RFC 3550 §6.6), so the viewer learns now that its session ended. */
  const sayBye = () => {
    for (const track of tracks) {
      const transport = byMid.get(track.viewerMid)?.dtlsTransport;
      // werift has no BYE packet type (its converter drops one); sendRtcp only serializes what it gets.
      const bye = { serialize: () => buildBye(track.ssrc) } as unknown as RtcpPacket;
      if (transport?.state === 'connected') transport.sendRtcp([bye]).catch(() => undefined);
    }
  };
  return { link, unsubscribers, sayBye };
}

function relayFeedback(packet: RtcpPacket, tracks: ViewerTrack[], link: ViewerLink, counters: { keyframeRequests: number }): void {
  if (packet.type !== RtcpPayloadSpecificFeedback.type && packet.type !== RtcpTransportLayerFeedback.type) return;
  let bytes: Buffer;
  try {
    bytes = packet.serialize();
  } catch {
    return; // a feedback type werift could not parse
  }
  const targets = keyframeRequestTargets(bytes);
  const nacks = genericNacks(bytes);
  for (const track of tracks) {
    if (targets.includes(track.ssrc)) {
      counters.keyframeRequests++;
      link.requestKeyframe(track.viewerMid);
    }
    const lost = nacks.filter((n) => n.mediaSsrc === track.ssrc).flatMap((n) => n.sequences);
    if (lost.length > 0) link.nack(track.viewerMid, lost);
  }
}

/** werift parses padded packets into payload + paddingSize; the transport sends the payload as is. */
export function withPadding(payload: Buffer, paddingSize: number): Buffer {
  const padded = Buffer.alloc(payload.length + paddingSize);
  payload.copy(padded);
  padded[padded.length - 1] = paddingSize;
  return padded;
}
