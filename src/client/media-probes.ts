/**
 * The media sub-checks of test 0, run on raw RTP legs while the clip plays:
 *
 * - `mid-extension`: where the answer negotiated urn:ietf:params:rtp-hdrext:sdes:mid for a
 *   section, the echoed packets we looked at carry that section's mid under the negotiated id
 *   (some at least, none another mid: a sender may stop writing it once the SSRC is known).
 * - `pli-keyframe`: a PLI about the echo stream (RFC 4585 §6.3.1) brings a VP8 keyframe
 *   (RFC 7741 §4.3, P=0) within PLI_BOUND_MS (REENCODED_PLI_BOUND_MS from a re-encoding server). Sent 400 ms after an echoed keyframe, so the
 *   clip's own keyframes (one a second) cannot pass for the answer.
 * - `nack`: our sender holds one packet back, as if the uplink lost it; once a later packet is
 *   echoed (the gap shows) we send a generic NACK about the echo stream (RFC 4585 §6.2.1) and
 *   the held packet must come back within NACK_BOUND_MS. Only against a server that echoes our
 *   packets (same sequence numbers), where the NACK has to reach our sender. Why not drop an
 *   echoed packet instead: it did arrive, so its retransmission would be an SRTP replay that
 *   our own receiver (and the server's, for our resent original) rejects (RFC 3711 §3.3.2).
 */
import type { RtpLeg } from '../engines/engine.js';
import { isVp8KeyframeStart } from '../media/vp8-payload-descriptor.js';
import { MID_EXTENSION_URI, rtpHeaderExtension, rtpHeaderExtensions, rtpPayloadOf } from '../rtp/header-extensions.js';
import { rtpPayloadType, rtpSequenceNumber } from '../rtp/packet.js';
import { buildNack, buildPli } from '../rtp/rtcp.js';
import { extensionId, mediaSection, negotiatesFeedback } from '../sdp/negotiated.js';
import type { LegStream } from './media-check.js';
import type { SubChecks } from './sub-checks.js';

export const PLI_BOUND_MS = 500;
/**
 * A re-encoding server answers with its own encoder, and libwebrtc's (our libwebrtc engine)
 * usually does so in 5-40 ms, but on a loaded machine now and then only after 1.6-3 s (1 cell in
 * 6 full CI runs; 0 of 30 on an idle machine; cause not found, an encoder that drops frames is
 * the suspect). The check asks whether the PLI is answered at all, so those get longer; the
 * detail still says how long it took.
 */
export const REENCODED_PLI_BOUND_MS = 4_000;
export const NACK_BOUND_MS = 1_000;
/** How long the PLI probe waits for an echoed keyframe to start right after. */
const KEYFRAME_WAIT_MS = 1_200;
/**
 * libwebrtc's encoder ignores a keyframe request within 300 ms of the one before, its start
 * included (video/encoder_rtcp_feedback.cc, kMinKeyframeSendIntervalMs): the PLI goes this
 * long after an echoed keyframe, still well before the clip's next one (a second later).
 */
const AFTER_KEYFRAME_MS = 400;
/**
 * A re-encoding server's first second or so is its encoder starting: libwebrtc's echo sent
 * keyframes on its own then and left a PLI unanswered (seen with the pion client, which probes
 * at the first echo; a second later libwebrtc answers in ~30 ms). The PLI waits until the echo
 * has flowed this long; a packet-level echo has no encoder, so it does not wait.
 */
const SETTLE_MS = 1_500;
/** How long the NACK probe waits for a later packet to come back, so the gap shows. */
const GAP_WAIT_MS = 1_000;

/** Runs the three media sub-checks on the legs (the players keep playing meanwhile). Never throws. */
export async function probeMedia(streams: readonly LegStream[], answerSdp: string, checks: SubChecks): Promise<void> {
  const video = streams.find((s) => s.leg.kind === 'video');
  if (video) {
    const section = mediaSection(answerSdp, 'video');
    await probePli(video, section, checks).catch((err: Error) => checks.fail('pli-keyframe', `probe failed: ${err.message}`));
    await probeNack(video, section, checks).catch((err: Error) => checks.fail('nack', `probe failed: ${err.message}`));
  } else {
    checks.notApplicable('pli-keyframe', 'no video section');
    checks.notApplicable('nack', 'no video section');
  }
  // Last, over every packet kept meanwhile.
  checkMid(streams, answerSdp, checks);
}

/** mid-extension over the echoed packets kept of each leg. */
export function checkMid(streams: readonly LegStream[], answerSdp: string, checks: SubChecks): void {
  const results: string[] = [];
  const failures: string[] = [];
  for (const stream of streams) {
    const kind = stream.leg.kind;
    const section = mediaSection(answerSdp, kind);
    const id = extensionId(section, MID_EXTENSION_URI);
    if (id === undefined) {
      results.push(`${kind}: not negotiated`);
      continue;
    }
    const mid = String(section?.mid ?? '');
    const packets = stream.samples;
    if (packets.length === 0) {
      failures.push(`${kind}: no packet echoed to look at`);
      continue;
    }
    const values = new Map<string, number>();
    /** What packets without the negotiated id carry instead: `id=value` of their extensions. */
    const instead = new Set<string>();
    for (const packet of packets) {
      const value = rtpHeaderExtension(packet, id)?.toString('utf8') ?? '(none)';
      values.set(value, (values.get(value) ?? 0) + 1);
      if (value === '(none)' && instead.size < 4) {
        for (const e of rtpHeaderExtensions(packet)) instead.add(`id ${e.id} = ${/^[\x20-\x7e]{1,16}$/.test(e.value.toString('latin1')) ? JSON.stringify(e.value.toString('latin1')) : `0x${e.value.toString('hex')}`}`);
      }
    }
    const carrying = values.get(mid) ?? 0;
    const without = values.get('(none)') ?? 0;
    const wrong = [...values].filter(([value]) => value !== mid && value !== '(none)').map(([value, n]) => `${n} with mid "${value}"`);
    // What the packets carry instead is worth saying only when none carries the mid (another id for it?).
    const withoutNote = without === 0 ? '' : `, ${without} without it${carrying === 0 && instead.size ? ` (they carry ${[...instead].join(', ')})` : ''}`;
    // A sender may stop writing the mid once the receiver knows the SSRC (libwebrtc's MidOracle
    // does after an RTCP report acknowledges it): packets without it are fine, a wrong one is not.
    if (carrying > 0 && wrong.length === 0) {
      results.push(`${kind}: ${carrying === packets.length ? 'all' : `${carrying} of`} ${packets.length} echoed packets carry mid "${mid}" (id ${id})${withoutNote}`);
    } else {
      failures.push(`${kind}: ${carrying} of ${packets.length} echoed packets carry mid "${mid}" (id ${id})${[...wrong.map((w) => `, ${w}`)].join('')}${withoutNote}`);
    }
  }
  if (failures.length > 0) checks.fail('mid-extension', [...failures, ...results].join('; '));
  else if (results.every((r) => r.endsWith('not negotiated'))) checks.notApplicable('mid-extension', `the answer negotiates no ${MID_EXTENSION_URI}`);
  else checks.pass('mid-extension', results.join('; '));
}

function codecName(leg: RtpLeg): string {
  return leg.kind === 'video' ? 'VP8' : 'opus';
}

function isKeyframeStart(packet: Buffer, payloadType: number): boolean {
  return rtpPayloadType(packet) === payloadType && isVp8KeyframeStart(rtpPayloadOf(packet));
}

/** Resolves with the first echoed packet that `matches`, or undefined after `ms`. */
function nextEcho(stream: LegStream, ms: number, matches: (packet: Buffer) => boolean): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const stop = stream.onEcho((packet) => {
      if (!matches(packet)) return;
      finish(packet);
    });
    const timer = setTimeout(() => finish(undefined), ms);
    const finish = (packet: Buffer | undefined) => {
      clearTimeout(timer);
      stop();
      resolve(packet);
    };
  });
}

async function probePli(video: LegStream, section: ReturnType<typeof mediaSection>, checks: SubChecks): Promise<void> {
  const leg = video.leg;
  if (!negotiatesFeedback(section, codecName(leg), 'nack', 'pli')) {
    checks.notApplicable('pli-keyframe', 'the answer does not negotiate a=rtcp-fb nack pli for VP8');
    return;
  }
  if (!video.packetLevel && video.firstEchoAt !== undefined) {
    const wait = SETTLE_MS - (performance.now() - video.firstEchoAt);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  // An echoed keyframe first, so the next of the clip's own is about a second away.
  const natural = await nextEcho(video, KEYFRAME_WAIT_MS, (p) => isKeyframeStart(p, leg.payloadType));
  if (natural) await new Promise((resolve) => setTimeout(resolve, AFTER_KEYFRAME_MS));
  const echoSsrc = video.echoSsrc;
  if (echoSsrc === undefined) {
    checks.fail('pli-keyframe', 'no echoed video to ask a keyframe of');
    return;
  }
  const requestsBefore = video.player.stats.keyframeRequests;
  const bound = video.packetLevel ? PLI_BOUND_MS : REENCODED_PLI_BOUND_MS;
  const keyframe = nextEcho(video, bound, (p) => isKeyframeStart(p, leg.payloadType));
  const sentAt = performance.now();
  leg.sendRtcp(buildPli(leg.ssrc, echoSsrc));
  const answered = await keyframe;
  const ms = Math.round(performance.now() - sentAt);
  const relayed = video.player.stats.keyframeRequests > requestsBefore;
  const context = `${natural ? `sent ${AFTER_KEYFRAME_MS} ms after an echoed keyframe` : `no echoed keyframe within ${KEYFRAME_WAIT_MS} ms before it`}; ${
    relayed ? 'a keyframe request reached our sender (relayed)' : 'no keyframe request reached our sender'
  }`;
  if (answered) checks.pass('pli-keyframe', `a keyframe came back ${ms} ms after the PLI about SSRC ${echoSsrc} (${context})`);
  else checks.fail('pli-keyframe', `no keyframe within ${bound} ms of a PLI about SSRC ${echoSsrc} (${context})`);
}

async function probeNack(video: LegStream, section: ReturnType<typeof mediaSection>, checks: SubChecks): Promise<void> {
  const leg = video.leg;
  if (!negotiatesFeedback(section, codecName(leg), 'nack')) {
    checks.notApplicable('nack', 'the answer does not negotiate a=rtcp-fb nack for VP8');
    return;
  }
  if (!video.packetLevel) {
    checks.notApplicable('nack', 'the server re-encodes (no echoed packet is one of ours): a packet held back never shows as a gap in its stream');
    return;
  }
  const held = await withTimeout(video.player.holdBackNext(), GAP_WAIT_MS);
  if (held === undefined) {
    checks.fail('nack', `the player sent nothing to hold back within ${GAP_WAIT_MS} ms`);
    return;
  }
  let backAt: number | undefined;
  const stopWatching = video.onEcho((p) => {
    if (backAt === undefined && rtpPayloadType(p) === leg.payloadType && rtpSequenceNumber(p) === held) backAt = performance.now();
  });
  try {
    // The gap shows once a later packet comes back (a server that NACKs us itself may fill it first).
    const later = await nextEcho(video, GAP_WAIT_MS, (p) => {
      const ahead = (rtpSequenceNumber(p) - held) & 0xffff;
      return rtpPayloadType(p) === leg.payloadType && ahead < 0x8000; // the held one itself, or one after it
    });
    const echoSsrc = video.echoSsrc;
    if (!later || echoSsrc === undefined) {
      checks.fail('nack', `no echoed packet after the held-back ${held} within ${GAP_WAIT_MS} ms`);
      return;
    }
    const askedBefore = video.nacked.includes(held);
    const sentAt = performance.now();
    if (backAt === undefined) leg.sendRtcp(buildNack(leg.ssrc, echoSsrc, [held]));
    await until(() => backAt !== undefined, NACK_BOUND_MS);
    const askedUs = video.nacked.includes(held);
    const how = askedBefore
      ? 'the server NACKed it itself before we did'
      : askedUs
        ? 'our NACK reached our sender (relayed)'
        : 'no NACK for it reached our sender';
    if (backAt !== undefined) {
      const ms = Math.max(0, Math.round(backAt - sentAt));
      checks.pass('nack', `packet ${held}, held back, came back ${ms} ms after the NACK about SSRC ${echoSsrc} (${how})`);
    } else {
      checks.fail('nack', `packet ${held} not resent within ${NACK_BOUND_MS} ms of a NACK about SSRC ${echoSsrc} (${how})`);
    }
  } finally {
    stopWatching();
  }
}

/** Resolves once `done()` holds (checked every few ms) or after `ms`. */
async function until(done: () => boolean, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!done() && performance.now() < end) await new Promise((resolve) => setTimeout(resolve, 5));
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
