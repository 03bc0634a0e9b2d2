/** A run's signaling, as the proxy saw it: every exchange, and the offer and answer of its POST. */
import type { Exchange } from './signaling-proxy.js';

export interface SignalingEvidence {
  /** Every request the client sent, in order (CORS preflights included). */
  exchanges: Exchange[];
  /** The SDP of the POSTed offer and of the answer, where the bodies hold one. */
  offer?: string;
  answer?: string;
  /** Why something is missing (no proxy for an https server, no POST, a body that is not an offer). */
  note?: string;
}

export function signalingOf(exchanges: Exchange[]): SignalingEvidence {
  const post = exchanges.find((e) => e.method === 'POST');
  if (!post) return { exchanges, note: 'the client sent no POST' };
  const offer = sdpOf(post.request.body, post.request.contentType);
  const answer = sdpOf(post.response.body, post.response.contentType);
  const notes = [
    offer === undefined && 'the POST body held no SDP offer',
    post.status === null ? post.error : answer === undefined && `the response (${post.status}) held no SDP answer`,
  ].filter(Boolean);
  return { exchanges, offer, answer, ...(notes.length ? { note: notes.join('; ') } : {}) };
}

/** An SDP from a body: JSON `{type, sdp}` (the Echo Test's) or a bare `application/sdp` one (WHIP's). */
function sdpOf(body: string, contentType: string | undefined): string | undefined {
  if (/application\/sdp/i.test(contentType ?? '') || body.startsWith('v=0')) return body || undefined;
  try {
    const parsed = JSON.parse(body) as { sdp?: unknown };
    return typeof parsed.sdp === 'string' ? parsed.sdp : undefined;
  } catch {
    return undefined;
  }
}
