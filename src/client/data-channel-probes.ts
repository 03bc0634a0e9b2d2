/**
 * The data channel sub-checks of test 1, after the test's own string echo: a binary message,
 * an empty string and an empty binary message (RFC 8831 §8: PPID 56 and 57, which stacks get
 * wrong), and one binary message of the largest size both sides allow (RFC 8841 §6: the smaller
 * of the two a=max-message-size, 64 KiB where one says nothing), each of which must come back
 * the same, of the same kind. The test's verdict stays the string echo.
 *
 * Plain code, no Node API: our CLI client runs it on an engine's channel, and the browser
 * client's page script on an RTCDataChannel.
 */
import type { TransportFact } from '../engines/engine.js';
import { maxMessageSize } from '../sdp/negotiated.js';
import type { SubCheckName, SubChecks } from './sub-checks.js';

/** The largest message we send, whatever the SDP allows: enough to cross several SCTP chunks and fragments. */
export const MESSAGE_SIZE_CAP = 256 * 1024;
export const DATA_CHANNEL_PROBE_MS = 3_000;

/** Text, or bytes (a Buffer is a Uint8Array). */
export type ProbeMessage = string | Uint8Array;

/** What the probes need of a channel: ClientDataChannel is one, the page wraps an RTCDataChannel. */
export interface ProbeChannel {
  send(message: ProbeMessage): void;
  onMessage(listener: (message: ProbeMessage) => void): void;
}

interface Probe {
  name: SubCheckName;
  message: ProbeMessage;
  describe: string;
}

/**
 * The size to send: min(offer's, answer's, the stack's own limit, MESSAGE_SIZE_CAP), 0 counting
 * as "no limit" (RFC 8841 §6.1), and the words saying where it came from.
 */
export function messageSizeToSend(offerSdp: string, answerSdp: string, stack: TransportFact<number>, stackName = 'our stack'): { size: number; why: string } {
  const limits: Array<[string, number]> = [];
  const offer = maxMessageSize(offerSdp);
  const answer = maxMessageSize(answerSdp);
  if (answer) limits.push([answer.declared ? 'answer' : 'answer (none: 64 KiB)', answer.size]);
  if (offer) limits.push([offer.declared ? 'offer' : 'offer (none: 64 KiB)', offer.size]);
  if (stack.known) limits.push([stackName, stack.value]);
  limits.push(['cap', MESSAGE_SIZE_CAP]);
  const size = Math.min(...limits.map(([, n]) => n).filter((n) => n > 0));
  return { size, why: `the smallest of: ${limits.map(([who, n]) => `${who} ${n === 0 ? 'any' : n}`).join(', ')}` };
}

function same(a: ProbeMessage, b: ProbeMessage): boolean {
  if (typeof a === 'string' || typeof b === 'string') return typeof a === typeof b && a === b;
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function show(message: ProbeMessage): string {
  if (typeof message === 'string') return `text ${JSON.stringify(message.length > 60 ? `${message.slice(0, 60)}…` : message)}`;
  return `binary of ${message.length} bytes`;
}

function sizeOf(message: ProbeMessage): number {
  return typeof message === 'string' ? new TextEncoder().encode(message).length : message.length;
}

/** `alloc(n)` filled with random bytes (getRandomValues takes at most 64 KiB at once). */
function randomMessage(size: number, alloc: (size: number) => Uint8Array): Uint8Array {
  const bytes = alloc(size);
  for (let at = 0; at < size; at += 65_536) crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65_536)));
  return bytes;
}

export interface ProbeOptions {
  /** How long to wait for the echoes. Default DATA_CHANNEL_PROBE_MS. */
  ms?: number;
  /** Who `stackLimit` comes from, in the details. Default 'our stack'. */
  stackName?: string;
  /** Makes the binary messages: Buffer.alloc for a stack that sends Buffers. Default a Uint8Array. */
  alloc?: (size: number) => Uint8Array;
}

/**
 * Sends the probes on an open channel whose string echo already came back, and records a
 * sub-check for each. Bounded by `ms`; never throws.
 */
export async function probeDataChannel(
  channel: ProbeChannel,
  offerSdp: string,
  answerSdp: string,
  stackLimit: TransportFact<number>,
  checks: SubChecks,
  { ms = DATA_CHANNEL_PROBE_MS, stackName, alloc = (size) => new Uint8Array(size) }: ProbeOptions = {},
): Promise<void> {
  const { size, why } = messageSizeToSend(offerSdp, answerSdp, stackLimit, stackName);
  const binary = alloc(256).map((_, i) => i); // every byte value, 0x00 and non-UTF-8 ones too
  const probes: Probe[] = [
    { name: 'dc-binary', message: binary, describe: 'a 256-byte binary message (every byte value)' },
    { name: 'dc-empty-string', message: '', describe: 'an empty string' },
    { name: 'dc-empty-binary', message: alloc(0), describe: 'an empty binary message' },
    { name: 'max-message-size', message: randomMessage(size, alloc), describe: `a ${size}-byte binary message (${why})` },
  ];
  const received: ProbeMessage[] = [];
  let allBack: () => void = () => {};
  const done = new Promise<void>((resolve) => (allBack = resolve));
  channel.onMessage((message) => {
    received.push(message);
    if (received.length >= probes.length) allBack();
  });
  const sentAt = performance.now();
  const unsent = new Map<SubCheckName, string>();
  for (const probe of probes) {
    try {
      channel.send(probe.message);
    } catch (err) {
      unsent.set(probe.name, (err as Error).message);
    }
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
  const elapsed = Math.round(performance.now() - sentAt);

  // Exact matches first; then, for what did not come back as sent, the closest thing that came
  // instead (same size, else same kind), so one odd echo is not blamed on two probes.
  const left = [...received];
  const matched = new Set<SubCheckName>();
  for (const probe of probes) {
    const index = left.findIndex((m) => same(m, probe.message));
    if (index < 0 || unsent.has(probe.name)) continue;
    left.splice(index, 1);
    matched.add(probe.name);
  }
  for (const probe of probes) {
    const error = unsent.get(probe.name);
    if (error !== undefined) {
      checks.fail(probe.name, `${probe.describe} could not be sent: ${error}`);
    } else if (matched.has(probe.name)) {
      checks.pass(probe.name, `${probe.describe} came back the same (the probes took ${elapsed} ms)`);
    } else {
      let index = left.findIndex((m) => sizeOf(m) === sizeOf(probe.message));
      if (index < 0) index = left.findIndex((m) => typeof m === typeof probe.message);
      const instead = index >= 0 ? left.splice(index, 1)[0] : undefined;
      checks.fail(probe.name, instead === undefined ? `${probe.describe} did not come back within ${ms} ms` : `${probe.describe} came back as ${show(instead)}`);
    }
  }
}
