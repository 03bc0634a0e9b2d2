/**
 * A recording HTTP proxy in front of a cell's server: every request (the POST of the offer,
 * a CORS preflight, and whatever else a client sends) is forwarded unchanged and kept with
 * its body, the answer's body and both times. It sees the offer and the answer of every
 * client, ours or foreign, without changing any of them: a foreign client behind
 * `--add-client` prints no SDP, and only the HTTP exchange shows what it offered.
 *
 * It runs as a process of its own (proxy-main.ts) so it can sit in the server's network
 * namespace when a cell runs in one; the matrix reads its records as JSON lines.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** Bodies are kept up to this size (an offer is a few KiB); the rest is forwarded, not kept. */
const MAX_KEPT_BODY = 1024 * 1024;

export interface Exchange {
  method: string;
  /** Path and query as the client sent them. */
  path: string;
  /** The server's status, or null when the server could not be reached (the client's connection is then dropped). */
  status: number | null;
  /** ms since the epoch (fractional) when the request arrived and when the last byte of the response left. */
  startedAt: number;
  endedAt: number;
  request: { contentType?: string; body: string };
  response: { contentType?: string; body: string; location?: string };
  error?: string;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) are the proxy's own business on each side. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));
}

/** Forwards every request to `target` (http only: its origin; the path is the client's). */
export function createSignalingProxy(target: URL, onExchange: (exchange: Exchange) => void): Server {
  if (target.protocol !== 'http:') throw new Error(`the signaling proxy forwards to http only, not ${target.protocol}`);
  return createServer((incoming, outgoing) => void forward(target, incoming, outgoing, onExchange));
}

async function forward(target: URL, incoming: IncomingMessage, outgoing: ServerResponse, onExchange: (exchange: Exchange) => void): Promise<void> {
  const startedAt = now();
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
  } catch {
    return; // the client went away mid-request: nothing to forward or keep
  }
  const body = Buffer.concat(chunks);
  const exchange: Exchange = {
    method: incoming.method ?? 'GET',
    path: incoming.url ?? '/',
    status: null,
    startedAt,
    endedAt: startedAt,
    request: { contentType: incoming.headers['content-type'], body: kept(body) },
    response: { body: '' },
  };
  const upstream = httpRequest({
    host: target.hostname,
    port: target.port || 80,
    method: exchange.method,
    path: exchange.path,
    // Host stays the client's: a server that builds URLs from it (WHIP's Location) builds them as the client sees it.
    headers: { ...endToEnd(incoming.headers), 'content-length': String(body.length) },
  });
  upstream.on('response', (response) => {
    exchange.status = response.statusCode ?? null;
    exchange.response.contentType = response.headers['content-type'];
    if (typeof response.headers.location === 'string') exchange.response.location = response.headers.location;
    outgoing.writeHead(response.statusCode ?? 502, response.statusMessage, endToEnd(response.headers));
    const answer: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      if (size < MAX_KEPT_BODY) answer.push(chunk);
      size += chunk.length;
      outgoing.write(chunk);
    });
    response.on('end', () => {
      outgoing.end(() => {
        exchange.endedAt = now();
        exchange.response.body = kept(Buffer.concat(answer));
        onExchange(exchange);
      });
    });
    response.on('error', (err) => {
      exchange.error = `the server's response broke off: ${err.message}`;
      exchange.endedAt = now();
      onExchange(exchange);
      outgoing.destroy();
    });
  });
  upstream.on('error', (err) => {
    // The client sees what it would have seen without us: a connection that fails, not a 502.
    exchange.error = `could not reach the server: ${err.message}`;
    exchange.endedAt = now();
    onExchange(exchange);
    incoming.socket.destroy();
  });
  upstream.end(body);
}

function kept(body: Buffer): string {
  return body.subarray(0, MAX_KEPT_BODY).toString('utf8');
}

function now(): number {
  return performance.timeOrigin + performance.now();
}
