/**
 * Failures we know to be faults of another stack. A cell listed here that fails *for the
 * recorded reason* is shown as a known failure and does not fail the run; one that fails
 * any other way is an ordinary failure, and one that passes is simply a pass.
 */
import type { TestType } from './peer.js';

/** What a known-failure check sees of a failed cell. */
export interface FailedCell {
  server: string;
  client: string;
  test: TestType;
  reason?: string;
  message?: string;
  /** The client's step timings (ours and Chromium report steps; others only `exited`). */
  timings: Record<string, number>;
  clientLog: string;
  serverLog: string;
}

export interface KnownFailure {
  id: string;
  server: string;
  client: string;
  tests: TestType[];
  /** Why it fails, for the reports. */
  why: string;
  link?: string;
  /** True when the cell failed the way this entry describes (and not some other way). */
  matches(cell: FailedCell): boolean;
}

/**
 * None today. libdatachannel ↔ pion 3.1.56 data channels (pion/webrtc#2618) were listed here
 * until the libdatachannel engine turned SCTP zero checksum off
 * (src/engines/libdatachannel/zero-checksum.ts): those cells must pass now.
 */
export const KNOWN_FAILURES: KnownFailure[] = [];

export function knownFailureFor(cell: FailedCell): KnownFailure | undefined {
  return KNOWN_FAILURES.find((k) => k.server === cell.server && k.client === cell.client && k.tests.includes(cell.test) && k.matches(cell));
}

/** Entries that apply to a pair at all (matched or not), for the reports. */
export function knownFailuresOf(server: string, client: string, test: TestType): KnownFailure[] {
  return KNOWN_FAILURES.filter((k) => k.server === server && k.client === client && k.tests.includes(test));
}
