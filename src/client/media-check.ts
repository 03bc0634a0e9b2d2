import type { ClientPeer, LegMediaStats, RtpLeg } from '../engines/engine.js';
import type { MediaKind } from '../sdp/description.js';
import { loadClip, type MediaClip } from '../media/clips.js';
import { MediaPlayer } from '../media/media-player.js';
import { rtpPayloadType, rtpSequenceNumber, rtpSsrc, rtpTimestamp } from '../rtp/packet.js';
import { genericNacks } from '../rtp/rtcp.js';
import { ClientError } from './client-error.js';

export interface LegEchoReport {
  sent: number;
  echoed: number;
  /** Round trip of packets echoed unchanged (packet-level servers); absent when the server re-encodes. */
  rttMs?: { p50: number; max: number; samples: number };
  /** Packets sent again because a NACK asked for them (not counted in `sent`). */
  resent?: number;
}

export type MediaEchoReport = Partial<Record<MediaKind, LegEchoReport>>;

export interface MediaEchoOptions {
  /**
   * Raw RTP legs only: runs once every leg has had `required` packets back, while the players
   * still play (the sub-check probes: mid, NACK, PLI). It must bound itself and not throw.
   */
  whilePlaying?: (streams: readonly LegStream[]) => Promise<void>;
}

/**
 * Test 0 `--media`: sends media on every leg and resolves once each leg has had `required`
 * packets echoed back. Raw RTP legs play real VP8 and Opus; a packet counts toward a round trip
 * only if its sequence number and timestamp match one we sent (a re-encoding server's never
 * do). Legs the stack feeds itself are counted from its stats.
 * The players stop on every path (the caller closes the peer; we stop the timers).
 */
export async function checkMediaEcho(
  peer: ClientPeer,
  required: number,
  onFirstEcho: () => void,
  signal: AbortSignal,
  options: MediaEchoOptions = {},
): Promise<MediaEchoReport> {
  const media = peer.media;
  if (media.legs.length === 0) throw new ClientError('engine-error', 'no media section was negotiated');
  if (media.mode === 'generated') return checkMediaEchoFromStats(media.stats, required, onFirstEcho, signal);
  const streams = await Promise.all(media.legs.map(async (leg) => new LegStream(leg, await loadClip(leg.kind))));
  try {
    await new Promise<void>((resolve, reject) => {
      signal.addEventListener('abort', () => reject(new ClientError('no-echo', 'stopped waiting for echoed media')), { once: true });
      const check = () => {
        if (streams.every((s) => s.echoed >= required)) resolve();
      };
      for (const stream of streams) stream.listen(onFirstEcho, check);
      for (const stream of streams) stream.player.start();
    });
    await options.whilePlaying?.(streams);
  } finally {
    for (const stream of streams) stream.player.stop();
  }
  return Object.fromEntries(streams.map((s) => [s.leg.kind, s.report()]));
}

/** For engines that send their own encoding: poll their stats until every leg has `required` packets back. */
async function checkMediaEchoFromStats(
  mediaStats: () => Promise<LegMediaStats[]>,
  required: number,
  onFirstEcho: () => void,
  signal: AbortSignal,
): Promise<MediaEchoReport> {
  while (!signal.aborted) {
    const stats = await mediaStats();
    if (stats.some((leg) => leg.packetsReceived > 0)) onFirstEcho();
    if (stats.length > 0 && stats.every((leg) => leg.packetsReceived >= required)) {
      return Object.fromEntries(stats.map((leg) => [leg.kind, { sent: leg.packetsSent, echoed: leg.packetsReceived }]));
    }
    await new Promise((resolve) => setTimeout(resolve, STATS_POLL_MS));
  }
  throw new ClientError('no-echo', 'stopped waiting for echoed media');
}

const STATS_POLL_MS = 100;

/** Echoed packets kept per leg for the sub-checks that read their headers (the mid). */
const SAMPLES_KEPT = 200;

/** One raw RTP leg while it plays: the player, what came back, and the RTCP it answers. */
export class LegStream {
  /** Sequence number → RTP timestamp of what we sent, to recognise our own packets coming back. */
  private readonly sentTimestamps = new Map<number, number>();
  private readonly rtts: number[] = [];
  private readonly echoListeners = new Set<(packet: Buffer) => void>();
  readonly player: MediaPlayer;
  echoed = 0;
  /** The SSRC the echo came on (the last echoed packet's). */
  echoSsrc: number | undefined;
  /** The first echoed packets, as they came. */
  readonly samples: Buffer[] = [];
  /** performance.now() of the first echoed packet. */
  firstEchoAt: number | undefined;
  /** Sequence numbers of our stream that NACKs from the other side asked for. */
  readonly nacked: number[] = [];

  constructor(
    readonly leg: RtpLeg,
    clip: MediaClip,
  ) {
    const mid = leg.midExtension;
    this.player = new MediaPlayer(leg, clip, {
      onSent: (p) => this.sentTimestamps.set(p.sequence, p.timestamp),
      extensions: mid ? [{ id: mid.id, value: Buffer.from(mid.mid, 'utf8') }] : undefined,
    });
    // A sender answers the feedback about its stream: keyframe requests, NACKs (RFC 4585).
    leg.onRtcp((rtcp) => {
      for (const nack of genericNacks(rtcp)) if (nack.mediaSsrc === leg.ssrc >>> 0) this.nacked.push(...nack.sequences);
      this.player.handleRtcp(rtcp);
    });
  }

  /** True once an echoed packet matched one we sent (sequence number and timestamp): the server echoes packets, it does not re-encode. */
  get packetLevel(): boolean {
    return this.rtts.length > 0;
  }

  listen(onFirstEcho: () => void, onEcho: () => void): void {
    this.leg.onRtp((packet) => {
      if (this.echoed++ === 0) {
        this.firstEchoAt = performance.now();
        onFirstEcho();
      }
      // The media stream's SSRC (a server's RTX stream, if it had one, comes on another payload type).
      if (rtpPayloadType(packet) === this.leg.payloadType) this.echoSsrc = rtpSsrc(packet);
      if (this.samples.length < SAMPLES_KEPT) this.samples.push(packet);
      const sequence = rtpSequenceNumber(packet);
      const sentAt = this.player.sendTimeOf(sequence);
      if (sentAt !== undefined && this.sentTimestamps.get(sequence) === rtpTimestamp(packet)) this.rtts.push(performance.now() - sentAt);
      for (const listener of this.echoListeners) listener(packet);
      onEcho();
    });
  }

  /** Calls `listener` with every echoed packet from now on, until the returned function is called. */
  onEcho(listener: (packet: Buffer) => void): () => void {
    this.echoListeners.add(listener);
    return () => this.echoListeners.delete(listener);
  }

  report(): LegEchoReport {
    const report: LegEchoReport = { sent: this.player.stats.packets, echoed: this.echoed };
    if (this.player.stats.retransmissions > 0) report.resent = this.player.stats.retransmissions;
    if (this.rtts.length > 0) {
      const sorted = [...this.rtts].sort((a, b) => a - b);
      report.rttMs = { p50: round2(sorted[Math.floor(sorted.length / 2)]!), max: round2(sorted[sorted.length - 1]!), samples: sorted.length };
    }
    return report;
  }
}

function round2(ms: number): number {
  return Math.round(ms * 100) / 100;
}
