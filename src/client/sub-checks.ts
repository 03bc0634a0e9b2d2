/**
 * Sub-checks: what a client saw on the wire beside the test's verdict, so a cell says what
 * worked and what broke (the DTLS roles, the SRTP profile, SCTP limits, data channel message
 * kinds, the mid extension, NACK and PLI). Each is `pass`, `fail` or `n/a` (the client could
 * not see it: the stack does not expose it, or the test has no such thing) with a detail in
 * words. They never change a test's verdict; a failed cell names the first failed one.
 *
 * Clients in other languages print one line per sub-check on stderr, the protocol of
 * interop/peers/README.md: `check <name> <pass|fail|n/a> <detail>`.
 */

export type SubCheckStatus = 'pass' | 'fail' | 'n/a';

export interface SubCheck {
  name: SubCheckName;
  status: SubCheckStatus;
  detail: string;
}

/** Every sub-check, in the order they are listed and in which the first failure is named. */
export const SUB_CHECK_NAMES = [
  'dtls-role',
  'srtp-profile',
  'sctp-zero-checksum',
  'max-message-size',
  'dc-binary',
  'dc-empty-string',
  'dc-empty-binary',
  'mid-extension',
  'nack',
  'pli-keyframe',
] as const;
export type SubCheckName = (typeof SUB_CHECK_NAMES)[number];

export const SUB_CHECK_LABELS: Record<SubCheckName, string> = {
  'dtls-role': 'DTLS role each side took (a=setup, and the stack where it tells)',
  'srtp-profile': 'SRTP protection profile DTLS-SRTP chose (RFC 5764 §4.1.2)',
  'sctp-zero-checksum': 'SCTP zero checksum (RFC 9653) in the remote INIT/INIT-ACK',
  'max-message-size': 'a data channel message of the negotiated a=max-message-size echoed (RFC 8841)',
  'dc-binary': 'a binary data channel message echoed as binary',
  'dc-empty-string': 'an empty text message (PPID 56, RFC 8831 §8) echoed',
  'dc-empty-binary': 'an empty binary message (PPID 57, RFC 8831 §8) echoed',
  'mid-extension': 'echoed RTP carries the section\'s mid (urn:ietf:params:rtp-hdrext:sdes:mid)',
  nack: 'a packet lost on the way out comes back after a generic NACK (RFC 4585 §6.2.1)',
  'pli-keyframe': 'a PLI about the echo is answered by a keyframe (RFC 4585 §6.3.1)',
};

const STATUSES: readonly SubCheckStatus[] = ['pass', 'fail', 'n/a'];

export function isSubCheckName(name: string): name is SubCheckName {
  return (SUB_CHECK_NAMES as readonly string[]).includes(name);
}

/** Sub-checks sorted into the canonical order; for a name given twice, the last one counts. */
export function ordered(checks: readonly SubCheck[]): SubCheck[] {
  const byName = new Map<SubCheckName, SubCheck>();
  for (const check of checks) byName.set(check.name, check);
  return SUB_CHECK_NAMES.flatMap((name) => (byName.has(name) ? [byName.get(name)!] : []));
}

/** The first failed sub-check in the canonical order, if any. */
export function firstFailure(checks: readonly SubCheck[] | undefined): SubCheck | undefined {
  return ordered(checks ?? []).find((c) => c.status === 'fail');
}

/** `dtls-role: both sides active: two DTLS clients`, for a cell's reason. */
export function describeCheck(check: SubCheck): string {
  return `${check.name}: ${check.detail}`;
}

/** One line of the stderr protocol: `check <name> <status> <detail>`, the detail on one line. */
export function formatCheckLine(check: SubCheck): string {
  return `check ${check.name} ${check.status} ${check.detail.replace(/\s+/g, ' ').trim()}`;
}

const LINE = /^check ([a-z0-9-]+) (pass|fail|n\/a)(?: (.*))?$/;

/**
 * The sub-checks a client printed (`check <name> <status> <detail>` lines, anywhere in its
 * output, each line on its own). Unknown names and statuses are left out, so a newer client
 * does not break an older matrix; a name printed twice counts once, the last time.
 */
export function parseCheckLines(text: string): SubCheck[] {
  const checks: SubCheck[] = [];
  for (const raw of text.split('\n')) {
    const match = LINE.exec(raw.trim());
    if (!match || !isSubCheckName(match[1]!) || !STATUSES.includes(match[2] as SubCheckStatus)) continue;
    checks.push({ name: match[1], status: match[2] as SubCheckStatus, detail: (match[3] ?? '').trim() });
  }
  return ordered(checks);
}

/** Sub-checks from a client's JSON (`checks: [{name, status, detail}]`), keeping only well-formed ones. */
export function checksFromJson(value: unknown): SubCheck[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const checks = value.flatMap((item): SubCheck[] => {
    const { name, status, detail } = (item ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string' || !isSubCheckName(name) || !STATUSES.includes(status as SubCheckStatus)) return [];
    return [{ name, status: status as SubCheckStatus, detail: typeof detail === 'string' ? detail : '' }];
  });
  return ordered(checks);
}

/** Collects a run's sub-checks as they are decided. */
export class SubChecks {
  readonly #checks: SubCheck[] = [];

  pass(name: SubCheckName, detail: string): void {
    this.add({ name, status: 'pass', detail });
  }

  fail(name: SubCheckName, detail: string): void {
    this.add({ name, status: 'fail', detail });
  }

  notApplicable(name: SubCheckName, detail: string): void {
    this.add({ name, status: 'n/a', detail });
  }

  add(check: SubCheck): void {
    this.#checks.push(check);
  }

  has(name: SubCheckName): boolean {
    return this.#checks.some((c) => c.name === name);
  }

  list(): SubCheck[] {
    return ordered(this.#checks);
  }
}
