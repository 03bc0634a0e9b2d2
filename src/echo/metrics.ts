import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of one server, on a registry of its own (several servers may share a process
 * in tests). Without `liveSessions` there is no live-sessions gauge: a primary process whose
 * workers hold the sessions leaves it to them, and /metrics sums theirs.
 */
export function createEchoMetrics(liveSessions?: () => number) {
  const registry = new Registry();
  const metrics = {
    registry,
    created: new Counter({ name: 'echo_sessions_created_total', help: 'Sessions created from an accepted offer', registers: [registry] }),
    closed: new Counter({ name: 'echo_sessions_closed_total', help: 'Sessions released, by reason', labelNames: ['reason'], registers: [registry] }),
    rejected: new Counter({ name: 'echo_offers_rejected_total', help: 'Offers refused, by error code', labelNames: ['reason'], registers: [registry] }),
    candidatesRefused: new Counter({ name: 'echo_candidates_refused_total', help: 'Offer candidates dropped by the candidate policy, by reason', labelNames: ['reason'], registers: [registry] }),
    dataChannelsRefused: new Counter({ name: 'echo_datachannels_refused_total', help: 'Data channels closed at once: over --max-data-channels for their session', registers: [registry] }),
    connectSeconds: new Histogram({
      name: 'echo_session_connect_seconds',
      help: 'Time from offer accepted to peer connection connected',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    createdByRole: new Counter({ name: 'echo_whip_whep_sessions_created_total', help: 'Sessions created by POST /whip (role publisher) and POST /whep/{id} (role viewer); echo_sessions_created_total counts them too', labelNames: ['role'], registers: [registry] }),
    forwardedPackets: new Counter({ name: 'echo_rtp_packets_forwarded_total', help: 'RTP packets closed WHEP viewer sessions were sent from their publisher', registers: [registry] }),
    echoedPackets: new Counter({ name: 'echo_rtp_packets_echoed_total', help: 'RTP packets echoed by closed sessions', registers: [registry] }),
    droppedPackets: new Counter({ name: 'echo_rtp_packets_dropped_total', help: 'RTP packets closed sessions did not echo because the server was behind', registers: [registry] }),
    echoedMessages: new Counter({ name: 'echo_datachannel_messages_echoed_total', help: 'Data channel messages echoed by closed sessions', registers: [registry] }),
  };
  if (liveSessions) new Gauge({ name: 'echo_sessions_live', help: 'Sessions alive now', registers: [registry], collect() { this.set(liveSessions()); } });
  return metrics;
}

export type EchoMetrics = ReturnType<typeof createEchoMetrics>;
