/** libwebrtc's W3C stats (getStats): sums of RTP streams, the only view of media this engine has, and the selected pair. */
import type { CandidatePair } from '../engine.js';
import { candidateInfo } from '../kit/ice.js';

/** The W3C RTCStats fields we read; libwebrtc fills them, others may not. */
interface RtpStreamStats {
  type: string;
  kind?: string;
  packetsSent?: number;
  bytesSent?: number;
  headerBytesSent?: number;
  packetsReceived?: number;
  bytesReceived?: number;
  headerBytesReceived?: number;
  pliCount?: number;
  firCount?: number;
  dtlsState?: string;
}

export interface RtpTotals {
  /** outbound-rtp: packets and whole-packet bytes (header + payload) sent. */
  packetsSent: number;
  bytesSent: number;
  /** inbound-rtp: packets and whole-packet bytes received. */
  packetsReceived: number;
  bytesReceived: number;
  /** inbound-rtp pliCount + firCount: keyframe requests this peer sent to the remote sender. */
  keyframeRequestsSent: number;
  /** Whether a DTLS transport reads `closed`: the remote sent close_notify (RFC 5246 §7.2.1). */
  dtlsClosed: boolean;
}

/** Sums RTP stream stats, over every kind or only `kind`. */
export function sumRtpStats(report: RTCStatsReport, kind?: string): RtpTotals {
  const totals: RtpTotals = {
    packetsSent: 0, bytesSent: 0, packetsReceived: 0, bytesReceived: 0, keyframeRequestsSent: 0, dtlsClosed: false,
  };
  report.forEach((value: RtpStreamStats) => {
    if (value.type === 'transport' && value.dtlsState === 'closed') totals.dtlsClosed = true;
    if (kind !== undefined && value.kind !== kind) return;
    if (value.type === 'outbound-rtp') {
      totals.packetsSent += value.packetsSent ?? 0;
      totals.bytesSent += (value.bytesSent ?? 0) + (value.headerBytesSent ?? 0);
    } else if (value.type === 'inbound-rtp') {
      totals.packetsReceived += value.packetsReceived ?? 0;
      totals.bytesReceived += (value.bytesReceived ?? 0) + (value.headerBytesReceived ?? 0);
      totals.keyframeRequestsSent += (value.pliCount ?? 0) + (value.firCount ?? 0);
    }
  });
  return totals;
}

interface CandidateStats {
  type: string;
  id: string;
  selectedCandidatePairId?: string;
  localCandidateId?: string;
  remoteCandidateId?: string;
  nominated?: boolean;
  state?: string;
  candidateType?: string;
  protocol?: string;
  address?: string;
  ip?: string;
  port?: number;
}

/** The transport's selected pair (RTCTransportStats.selectedCandidatePairId), or a nominated, succeeded one. */
export function selectedPairFromStats(report: RTCStatsReport): CandidatePair | undefined {
  const all = new Map<string, CandidateStats>();
  report.forEach((value: CandidateStats) => all.set(value.id, value));
  const pairs = [...all.values()].filter((v) => v.type === 'candidate-pair');
  const selectedId = [...all.values()].find((v) => v.type === 'transport' && v.selectedCandidatePairId)?.selectedCandidatePairId;
  const pair = (selectedId && all.get(selectedId)) || pairs.find((p) => p.nominated && p.state === 'succeeded');
  if (!pair) return undefined;
  const info = (id: string | undefined) => {
    const c = id === undefined ? undefined : all.get(id);
    return c && candidateInfo(c.candidateType ?? '', c.protocol ?? 'udp', c.address ?? c.ip ?? '', c.port ?? 0);
  };
  const local = info(pair.localCandidateId);
  const remote = info(pair.remoteCandidateId);
  return local && remote ? { local, remote } : undefined;
}

interface CandidatePairCounts {
  type: string;
  requestsReceived?: number;
  responsesReceived?: number;
  packetsReceived?: number;
}

/**
 * What has arrived over ICE, from `candidate-pair` stats: the peer's STUN checks, its answers
 * to ours (libwebrtc checks the selected pair every ~2.5 s), and every other packet. libwebrtc
 * M106 (@roamhq/wrtc 0.10) has no lastPacketReceivedTimestamp, so this is a count.
 */
export function inboundIceActivity(report: RTCStatsReport): number {
  let total = 0;
  report.forEach((value: CandidatePairCounts) => {
    if (value.type !== 'candidate-pair') return;
    total += (value.requestsReceived ?? 0) + (value.responsesReceived ?? 0) + (value.packetsReceived ?? 0);
  });
  return total;
}

/** The DTLS transport's own stats (RTCTransportStats), the first one: every session here is bundled. */
export function transportStats(report: RTCStatsReport): { dtlsRole?: string; srtpCipher?: string; dtlsCipher?: string; dtlsState?: string } | undefined {
  let found: { dtlsRole?: string; srtpCipher?: string; dtlsCipher?: string; dtlsState?: string } | undefined;
  report.forEach((value: { type: string; dtlsRole?: string; srtpCipher?: string; dtlsCipher?: string; dtlsState?: string }) => {
    if (!found && value.type === 'transport') found = { dtlsRole: value.dtlsRole, srtpCipher: value.srtpCipher, dtlsCipher: value.dtlsCipher, dtlsState: value.dtlsState };
  });
  return found;
}
