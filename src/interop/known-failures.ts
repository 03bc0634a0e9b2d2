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
  /** A peer name, or `*` for any. */
  server: string;
  client: string;
  tests: TestType[];
  /** Why it fails, for the reports. */
  why: string;
  link?: string;
  /** True when the cell failed the way this entry describes (and not some other way). */
  matches(cell: FailedCell): boolean;
}

/*
 * libdatachannel ↔ pion 3.1.56 data channels (pion/webrtc#2618) were listed here until the
 * libdatachannel engine turned SCTP zero checksum off (src/engines/libdatachannel/zero-checksum.ts):
 * those cells must pass now.
 */

/** The prefix janus.plugin.echotest puts before every text message it echoes (janus_echotest.c, janus_echotest_incoming_data). */
export const JANUS_ECHOTEST_PREFIX = 'Janus EchoTest here! You wrote: ';

/**
 * The data channel worked both ways and came back as the plugin's prefix + exactly what was
 * sent. Every client words it `sent "x", got "y"` (ours and pion: JSON quotes; the Python
 * peers: Python quotes), so the two strings are read back from the message.
 */
function janusPrefixedEcho(cell: FailedCell): boolean {
  if (cell.reason !== 'echo-mismatch') return false;
  const match = (cell.message ?? '').match(/sent (["'])(.*?)\1, got (?:back )?(["'])(.*)\3\s*$/);
  return match !== null && match[4] === JANUS_ECHOTEST_PREFIX + match[2];
}

export const KNOWN_FAILURES: KnownFailure[] = [
  {
    id: 'janus-echotest-text-prefix',
    server: 'janus',
    client: '*',
    tests: [1],
    why: `Janus's EchoTest plugin answers a text message with "${JANUS_ECHOTEST_PREFIX}" + the message (binary messages come back unchanged): the data channel works both ways, the echo is not identical by the plugin's design`,
    link: 'https://github.com/meetecho/janus-gateway/blob/v1.1.2/src/plugins/janus_echotest.c',
    matches: janusPrefixedEcho,
  },
];

export function knownFailureFor(cell: FailedCell): KnownFailure | undefined {
  return KNOWN_FAILURES.find((k) => appliesTo(k, cell.server, cell.client, cell.test) && k.matches(cell));
}

function appliesTo(k: KnownFailure, server: string, client: string, test: TestType): boolean {
  return (k.server === '*' || k.server === server) && (k.client === '*' || k.client === client) && k.tests.includes(test);
}
