import { request as httpsRequest } from 'node:https';
import type { SessionDescription } from '../sdp/description.js';
import { ClientError } from './client-error.js';

export interface SignalingOptions {
  /**
   * PEM certificates to trust for an https:// offer URL, instead of the system's roots (a
   * self-signed or private CA server). NODE_EXTRA_CA_CERTS adds to the roots without this.
   */
  ca?: string | Buffer;
}

/** The error codes of Node's TLS layer that mean "this server's certificate is not trusted". */
const UNTRUSTED_CERT = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME/;

/**
 * The Echo Test's one signaling operation: POST the offer as JSON, get the answer as JSON.
 * Everything a server can get wrong here becomes a ClientError with a reason.
 */
export async function postOffer(url: string, offer: SessionDescription, signal: AbortSignal, options: SignalingOptions = {}): Promise<SessionDescription> {
  const request = JSON.stringify({ type: offer.type, sdp: offer.sdp });
  let response: { status: number; text: string };
  try {
    response = options.ca && url.startsWith('https:') ? await postTrusting(url, request, options.ca, signal) : await postWithFetch(url, request, signal);
  } catch (err) {
    if (signal.aborted) throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause ?? (err as { code?: string; message?: string });
    const code = cause?.code ?? cause?.message ?? (err as Error).message;
    const hint = UNTRUSTED_CERT.test(code) ? ' (the server certificate is not trusted here: pass --ca FILE or set NODE_EXTRA_CA_CERTS)' : '';
    throw new ClientError('signaling-unreachable', `cannot reach ${url}: ${code}${hint}`);
  }
  const text = response.text;
  if (response.status < 200 || response.status > 299) {
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

async function postWithFetch(url: string, body: string, signal: AbortSignal): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body, signal });
  return { status: response.status, text: await response.text() };
}

/** The same POST over node:https with our own trust roots (Node 20's fetch takes no CA of its own). */
function postTrusting(url: string, body: string, ca: string | Buffer, signal: AbortSignal): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: 'POST', ca, signal, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
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
