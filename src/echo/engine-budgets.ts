import type { EngineName } from '../engines/engine.js';

/**
 * What one session may hold, per engine, with an offer at the default offer limits (16 media
 * sections, 64 candidates), measured from /proc with test/echo/session-cost.ts (docs/security.md
 * has the table), and the session count that keeps the worst case inside a process: well under
 * 20,000 fds (`ulimit -n` here; Node raises its soft limit to the hard one) and a few thousand
 * threads. libdatachannel runs every session on a shared thread pool with one UDP socket each;
 * werift opens one socket per ICE transport (an unbundled offer: one per section); libwebrtc
 * gives every media section its own threads and sockets.
 *
 * An engine folder may take its line over; the registry only needs the number.
 */
export interface EngineBudget {
  /** The default of --max-sessions for this engine. */
  maxSessions: number;
  /** Worst case per session at the default offer limits, measured. */
  fdsPerSession: number;
  threadsPerSession: number;
}

export const ENGINE_BUDGETS: Record<EngineName, EngineBudget> = {
  libdatachannel: { maxSessions: 1000, fdsPerSession: 1, threadsPerSession: 0 },
  werift: { maxSessions: 500, fdsPerSession: 15, threadsPerSession: 0 },
  libwebrtc: { maxSessions: 50, fdsPerSession: 271, threadsPerSession: 31 },
};
