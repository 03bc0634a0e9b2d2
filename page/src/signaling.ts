/**
 * The Echo Test's only signaling step: POST the complete offer as JSON to the server's
 * /offer and get the complete answer back (non-trickle ICE: candidates live in the SDP).
 */
import { candidatesOf, isMdnsName } from '../../src/sdp/candidate-line.js';
import { EchoPageError } from './errors.js';

/** Bound on one POST /offer; servers answer in well under a second when they work at all. */
const SIGNALING_TIMEOUT_MS = 10_000;

export async function postOffer(url: string, offer: RTCSessionDescriptionInit): Promise<RTCSessionDescriptionInit> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: offer.type, sdp: offer.sdp }),
      signal: AbortSignal.timeout(SIGNALING_TIMEOUT_MS),
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'TimeoutError') {
      throw EchoPageError.signalingTimeout(url, SIGNALING_TIMEOUT_MS);
    }
    // fetch() rejects with a bare TypeError for refused connections, DNS failures and CORS alike.
    throw EchoPageError.unreachable(url, err);
  }

  const text = await response.text();
  if (!response.ok) throw EchoPageError.http(response.status, response.statusText, errorBody(text));

  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw EchoPageError.badAnswer(`the response is not JSON (starts with ${JSON.stringify(text.slice(0, 40))}).`);
  }
  if (!isAnswer(answer)) throw EchoPageError.badAnswer('the response is not {"type":"answer","sdp":"…"}.');
  return { type: 'answer', sdp: answer.sdp };
}

/** The server's `{ error, message }` JSON when it sent one (Fastify and ours do), else the raw text. */
function errorBody(text: string): { error?: string; message?: string } | string {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null) {
      const { error, message } = body as Record<string, unknown>;
      return {
        ...(typeof error === 'string' ? { error } : {}),
        ...(typeof message === 'string' ? { message } : {}),
      };
    }
  } catch {
    // Not JSON: show the text itself.
  }
  return text;
}

function isAnswer(value: unknown): value is { type: 'answer'; sdp: string } {
  if (typeof value !== 'object' || value === null) return false;
  const { type, sdp } = value as Record<string, unknown>;
  return type === 'answer' && typeof sdp === 'string' && sdp.length > 0;
}

/**
 * Resolves once ICE gathering is complete, or after `timeoutMs` with what was gathered so
 * far: a candidate that never arrives (an unreachable interface) must not stall the test.
 */
export function iceGatheringComplete(pc: RTCPeerConnection, timeoutMs: number): Promise<'complete' | 'timeout'> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve('complete');
  return new Promise((resolve) => {
    const done = (result: 'complete' | 'timeout'): void => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', onChange);
      resolve(result);
    };
    const onChange = (): void => {
      if (pc.iceGatheringState === 'complete') done('complete');
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    pc.addEventListener('icegatheringstatechange', onChange);
  });
}

/** True when every host candidate in the SDP is an mDNS name: a server without mDNS cannot reach us. */
export function onlyMdnsHostCandidates(sdp: string): boolean {
  const hosts = candidatesOf(sdp).filter((candidate) => candidate.type === 'host');
  return hosts.length > 0 && hosts.every((candidate) => isMdnsName(candidate.ip));
}
