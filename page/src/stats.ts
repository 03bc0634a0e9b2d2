/**
 * Turns two getStats() reports a second apart into the figures an engineer asks for first:
 * the selected pair and its RTT, bitrate each way, loss, decoded frames, and the codec in use.
 * Field names follow https://www.w3.org/TR/webrtc-stats/.
 */

export interface KindFigures {
  /** "VP8 (PT 96)"; when send and receive differ, "VP8 (PT 96) → VP9 (PT 98)". */
  codec: string | null;
  sendKbps: number | null;
  recvKbps: number | null;
  packetsSent: number;
  packetsReceived: number;
  packetsLost: number;
  jitterMs: number | null;
  /** Video only. */
  framesDecoded?: number;
  framesPerSecond?: number | null;
  resolution?: string | null;
  /** Audio only: 0..1 of the echoed audio. */
  audioLevel?: number | null;
}

export interface Figures {
  /** Milliseconds since the run started, when this sample was taken. */
  at: number;
  rttMs: number | null;
  /** "host udp 192.168.1.4:51000 → host udp 192.168.1.4:40012" */
  pair: string | null;
  /** Whole transport, every kind and RTCP and SCTP included. */
  sendKbps: number | null;
  recvKbps: number | null;
  video: KindFigures | null;
  audio: KindFigures | null;
}

type Stat = Record<string, unknown> & { id: string; type: string; timestamp: number };

export class StatsSampler {
  private previous: Map<string, Stat> | null = null;

  async sample(pc: RTCPeerConnection, at: number): Promise<Figures> {
    const report = await pc.getStats();
    const stats = new Map<string, Stat>();
    report.forEach((value: Stat) => stats.set(value.id, value));
    const previous = this.previous;
    this.previous = stats;

    const pair = selectedPair(stats);
    // Bytes of the whole transport (Chromium, Safari). Firefox counts them on the pair only:
    // Firefox 153 has transport stats, but without byte counters.
    const transport = [...stats.values()].find((stat) => stat.type === 'transport' && typeof stat.bytesSent === 'number') ?? pair;
    return {
      at,
      rttMs: pair && typeof pair.currentRoundTripTime === 'number' ? pair.currentRoundTripTime * 1000 : null,
      pair: pair ? `${describeCandidate(stats.get(String(pair.localCandidateId)))} → ${describeCandidate(stats.get(String(pair.remoteCandidateId)))}` : null,
      sendKbps: transport ? rate(transport, previous, 'bytesSent') : null,
      recvKbps: transport ? rate(transport, previous, 'bytesReceived') : null,
      video: kindFigures(stats, previous, 'video'),
      audio: kindFigures(stats, previous, 'audio'),
    };
  }
}

function selectedPair(stats: Map<string, Stat>): Stat | undefined {
  for (const stat of stats.values()) {
    if (stat.type === 'transport' && typeof stat.selectedCandidatePairId === 'string') {
      return stats.get(stat.selectedCandidatePairId);
    }
  }
  // Firefox has no transport stats: the nominated, succeeded pair is the selected one.
  for (const stat of stats.values()) {
    if (stat.type === 'candidate-pair' && stat.nominated === true && stat.state === 'succeeded') return stat;
  }
  return undefined;
}

function describeCandidate(stat: Stat | undefined): string {
  if (!stat) return '?';
  const address = String(stat.address ?? stat.ip ?? '?');
  const host = address.includes(':') ? `[${address}]` : address;
  return `${String(stat.candidateType ?? '?')} ${String(stat.protocol ?? '?')} ${host}:${String(stat.port ?? '?')}`;
}

function kindFigures(stats: Map<string, Stat>, previous: Map<string, Stat> | null, kind: 'audio' | 'video'): KindFigures | null {
  const outbound = [...stats.values()].find((s) => s.type === 'outbound-rtp' && s.kind === kind);
  const inbound = [...stats.values()].find((s) => s.type === 'inbound-rtp' && s.kind === kind);
  if (!outbound && !inbound) return null;

  const figures: KindFigures = {
    codec: codecOf(stats, outbound, inbound),
    sendKbps: outbound ? rate(outbound, previous, 'bytesSent') : null,
    recvKbps: inbound ? rate(inbound, previous, 'bytesReceived') : null,
    packetsSent: num(outbound?.packetsSent),
    packetsReceived: num(inbound?.packetsReceived),
    packetsLost: num(inbound?.packetsLost),
    jitterMs: typeof inbound?.jitter === 'number' ? inbound.jitter * 1000 : null,
  };
  if (kind === 'video') {
    figures.framesDecoded = num(inbound?.framesDecoded);
    figures.framesPerSecond = typeof inbound?.framesPerSecond === 'number' ? inbound.framesPerSecond : null;
    figures.resolution =
      typeof inbound?.frameWidth === 'number' && typeof inbound.frameHeight === 'number'
        ? `${inbound.frameWidth}×${inbound.frameHeight}`
        : null;
  } else {
    figures.audioLevel = typeof inbound?.audioLevel === 'number' ? inbound.audioLevel : null;
  }
  return figures;
}

function codecOf(stats: Map<string, Stat>, outbound: Stat | undefined, inbound: Stat | undefined): string | null {
  const name = (rtp: Stat | undefined): string | null => {
    const codec = rtp && typeof rtp.codecId === 'string' ? stats.get(rtp.codecId) : undefined;
    if (!codec) return null;
    return `${String(codec.mimeType).replace(/^(audio|video)\//, '')} (PT ${String(codec.payloadType)})`;
  };
  const sent = name(outbound);
  const received = name(inbound);
  if (sent && received && sent !== received) return `${sent} → ${received}`;
  return received ?? sent;
}

/** kbit/s of a byte counter between the previous sample and this one. */
function rate(stat: Stat, previous: Map<string, Stat> | null, field: 'bytesSent' | 'bytesReceived'): number | null {
  const before = previous?.get(stat.id);
  if (!before || typeof stat[field] !== 'number' || typeof before[field] !== 'number') return null;
  const seconds = (stat.timestamp - before.timestamp) / 1000;
  if (seconds <= 0) return null;
  return ((stat[field] - before[field]) * 8) / 1000 / seconds;
}

function num(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}
