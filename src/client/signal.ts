import type { SessionDescription } from '../engines/engine.js';
import { ClientError } from './client-error.js';

/**
 * The Echo Test's one signaling operation: POST the offer as JSON, get the answer as JSON.
 * Everything a server can get wrong here becomes a ClientError with a reason.
 */
export async function postOffer(url: string, offer: SessionDescription, signal: AbortSignal): Promise<SessionDescription> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: offer.type, sdp: offer.sdp }),
      signal,
    });
  } catch (err) {
    if (signal.aborted) throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new ClientError('signaling-unreachable', `cannot reach ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  const text = await response.text();
  if (!response.ok) {
    throw new ClientError('signaling-http-error', `server answered HTTP ${response.status}${describeErrorBody(text)}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ClientError('signaling-bad-answer', `server's response is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
  const { type, sdp } = (body ?? {}) as Record<string, unknown>;
  if (type !== 'answer') {
    throw new ClientError('signaling-bad-answer', `server's response is not an answer (type ${JSON.stringify(type) ?? 'missing'})`);
  }
  if (typeof sdp !== 'string' || !sdp.startsWith('v=0')) {
    throw new ClientError('signaling-bad-answer', "server's answer has no usable SDP");
  }
  return { type: 'answer', sdp };
}

function describeErrorBody(text: string): string {
  try {
    const { error, message } = JSON.parse(text) as { error?: string; message?: string };
    if (error || message) return `: ${[error, message].filter(Boolean).join(': ')}`;
  } catch {
    /* not our JSON error shape */
  }
  return text ? `: ${text.slice(0, 80).replace(/\s+/g, ' ')}` : '';
}
