import type { ClientPeer, LegMediaStats, MediaKind, RtpLeg } from '../engines/engine.js';
import { loadClip, type MediaClip } from '../media/clips.js';
import { MediaPlayer } from '../media/media-player.js';
import { rtpSequenceNumber, rtpTimestamp } from '../rtp/packet.js';
import { ClientError } from './client-error.js';

export interface LegEchoReport {
  sent: number;
  echoed: number;
  /** Round trip of packets echoed unchanged (packet-level servers); absent when the server re-encodes. */
  rttMs?: { p50: number; max: number; samples: number };
}

export type MediaEchoReport = Partial<Record<MediaKind, LegEchoReport>>;

/**
 * Test 0 `--media`: sends media on every leg and resolves once each leg has had `required`
 * packets echoed back. Raw RTP legs play real VP8 and Opus; a packet counts toward a round trip
 * only if its sequence number and timestamp match one we sent (a re-encoding server's never
 * do). Legs the stack feeds itself are counted from its stats.
 * The players stop on every path (the caller closes the peer; we stop the timers).
 */
export async function checkMediaEcho(peer: ClientPeer, required: number, onFirstEcho: () => void, signal: AbortSignal): Promise<MediaEchoReport> {
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

class LegStream {
  /** Sequence number → RTP timestamp of what we sent, to recognise our own packets coming back. */
  private readonly sentTimestamps = new Map<number, number>();
  private readonly rtts: number[] = [];
  readonly player: MediaPlayer;
  echoed = 0;

  constructor(
    readonly leg: RtpLeg,
    clip: MediaClip,
  ) {
    this.player = new MediaPlayer(leg, clip, { onSent: (p) => this.sentTimestamps.set(p.sequence, p.timestamp) });
  }

  listen(onFirstEcho: () => void, onEcho: () => void): void {
    this.leg.onRtp((packet) => {
      if (this.echoed++ === 0) onFirstEcho();
      const sequence = rtpSequenceNumber(packet);
      const sentAt = this.player.sendTimeOf(sequence);
      if (sentAt !== undefined && this.sentTimestamps.get(sequence) === rtpTimestamp(packet)) this.rtts.push(performance.now() - sentAt);
      onEcho();
    });
  }

  report(): LegEchoReport {
    const report: LegEchoReport = { sent: this.player.stats.packets, echoed: this.echoed };
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
