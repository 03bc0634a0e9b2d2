import { parse } from 'sdp-transform';
import { EchoError } from '../errors/echo-error.js';
import type { SessionDescription } from '../engines/engine.js';

/**
 * Checks that a request body is a usable offer before any WebRTC stack sees it: stacks
 * disagree on what they accept, and some crash or hang on garbage, so we refuse it first.
 */
export function parseOfferBody(body: unknown): SessionDescription {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw EchoError.invalidBody('expected a JSON object');
  }
  const { type, sdp } = body as Record<string, unknown>;
  if (type !== 'offer') throw EchoError.notAnOffer(type);
  if (sdp === undefined || sdp === null || sdp === '') throw EchoError.missingSdp();
  if (typeof sdp !== 'string') throw EchoError.invalidBody('"sdp" must be a string');
  checkOfferSdp(sdp);
  return { type: 'offer', sdp };
}

/**
 * What an offer needs for a non-trickle ICE + DTLS session (RFC 8829 §5.2, RFC 8839 §5).
 * Engines whose stack applies any SDP without complaint (werift) call it too.
 */
export function checkOfferSdp(sdp: string): void {
  if (!/^v=0\r?\n/.test(sdp)) throw EchoError.unparsableSdp('it does not start with "v=0"');
  const session = parse(sdp);
  const media = session.media ?? [];
  if (media.length === 0) throw EchoError.unparsableSdp('it has no media section (m=)');
  const usable = media.filter((m) => m.port !== 0);
  if (usable.length === 0) throw EchoError.unparsableSdp('every media section is rejected (port 0)');
  for (const m of usable) {
    if (!['audio', 'video', 'application'].includes(m.type)) {
      throw EchoError.unparsableSdp(`media type "${m.type}" is not audio, video or application`);
    }
    if (!(m.iceUfrag ?? session.iceUfrag) || !(m.icePwd ?? session.icePwd)) {
      throw EchoError.unparsableSdp(`media section ${m.mid ?? m.type} has no ICE credentials (a=ice-ufrag/a=ice-pwd)`);
    }
    if (!(m.fingerprint ?? session.fingerprint)) {
      throw EchoError.unparsableSdp(`media section ${m.mid ?? m.type} has no DTLS fingerprint (a=fingerprint)`);
    }
  }
}
