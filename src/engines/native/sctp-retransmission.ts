/**
 * When our SCTP associations retransmit (RFC 9260 §6.3), in place of werift 0.24's bounds and its
 * T3-rtx expiry. Under 5% loss a 256 KiB echo took 0.25-3 s and over 3 s in 4 of 20 runs against
 * libdatachannel's 10-1,220 ms (docs/performance.md, "Data channels under loss"); werift's timer
 * was most of it:
 * - **RTO.Min 1 s** (with RTO.Initial 3 s and RTO.Max 60 s, module constants): every chunk fast
 *   retransmit cannot recover (a message's last ones, a retransmission lost again) waited a second
 *   on a path of a few milliseconds. libdatachannel sets usrsctp to RTO.Min 200 ms (Linux TCP's
 *   minimum), RTO.Initial 1 s and RTO.Max 10 s; we take the same.
 * - **T3 expiry resent every chunk of the queue**, those the peer had already reported in gap
 *   blocks too, one MTU at a time from a congestion window of one MTU. RFC 9260 §6.3.3 E3
 *   retransmits what is outstanding; a chunk a gap block acknowledged is not (unless the peer
 *   reneges, which no WebRTC stack does: they take no data back once reported).
 * - **No back-off**: RFC 9260 §6.3.3 E2 doubles the RTO at each expiry (up to RTO.Max), so a path
 *   slower than the estimate is not flooded.
 * The RTT estimate itself (SRTT, RTTVAR, RFC 9260 §6.3.1, Karn's rule) stays werift's.
 */

/** libdatachannel's usrsctp settings (sctptransport.cpp), in werift's unit: seconds. */
export const RTO_BOUNDS = { minSeconds: 0.2, initialSeconds: 1, maxSeconds: 10 } as const;

/** werift's USERDATA_MAX_LENGTH: the congestion window's unit (its MTU's worth of user data). */
const MTU_DATA = 1_200;

/** A DATA chunk werift has sent and not yet seen acknowledged cumulatively. */
interface SentChunk {
  /** Reported in a gap block of a SACK. */
  acked: boolean;
  retransmit: boolean;
}

/** The parts of werift 0.24's SCTP association (lib/sctp/src/sctp.js) this replaces or reads. */
export interface RetransmissionState {
  rto: number;
  srtt?: number;
  rttvar?: number;
  cwnd: number;
  ssthresh: number;
  flightSize: number;
  partialBytesAcked: number;
  fastRecoveryExit: number | undefined;
  timer3Handle: ReturnType<typeof setTimeout> | undefined;
  sentQueue: SentChunk[];
  readonly isStopped: boolean;
  updateRto(roundTripSeconds: number): void;
  timer3Expired(): void;
  maybeAbandon(chunk: SentChunk): boolean;
  updateAdvancedPeerAckPoint(): void;
  transmit(): Promise<void>;
}

/** Call on a new association, before it sends anything. */
export function replaceRetransmissionTimer(association: RetransmissionState, bounds: typeof RTO_BOUNDS = RTO_BOUNDS): void {
  association.rto = bounds.initialSeconds;
  // werift's own estimate (SRTT and RTTVAR), then the RTO from it within our bounds, not its 1-60 s.
  const estimate = association.updateRto.bind(association);
  association.updateRto = (r) => {
    estimate(r);
    association.rto = Math.max(bounds.minSeconds, Math.min(association.srtt! + 4 * association.rttvar!, bounds.maxSeconds));
  };
  // werift arms the timer with `this.timer3Expired` as it is when armed: an own property replaces it.
  association.timer3Expired = () => {
    if (association.isStopped) return;
    association.timer3Handle = undefined;
    for (const chunk of association.sentQueue) {
      if (!chunk.acked && !association.maybeAbandon(chunk)) chunk.retransmit = true;
    }
    association.updateAdvancedPeerAckPoint();
    association.fastRecoveryExit = undefined;
    association.flightSize = 0;
    association.partialBytesAcked = 0;
    association.ssthresh = Math.max(Math.floor(association.cwnd / 2), 4 * MTU_DATA);
    association.cwnd = MTU_DATA;
    association.rto = Math.min(association.rto * 2, bounds.maxSeconds);
    association.transmit().catch(() => undefined);
  };
}
