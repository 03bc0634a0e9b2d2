/**
 * One HTTP request of a client run, with its body read: fetch, or node:https with our own trust
 * roots for a server whose certificate the system does not trust (Node 20's fetch takes no CA of
 * its own). Headers come back in lower case; a header sent several times is joined with ", ",
 * as fetch joins it. Redirects are followed by fetch only (RFC 9725 asks WHIP clients to follow
 * 307; a private-CA server is not expected to redirect).
 */
import { request as httpsRequest } from 'node:https';

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** The URL that answered (after redirects). */
  url: string;
  redirected: boolean;
}

export interface HttpRequest {
  method: string;
  headers?: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  ca?: string | Buffer;
}

export async function httpRequest(url: string, init: HttpRequest): Promise<HttpResponse> {
  if (init.ca && url.startsWith('https:')) return requestTrusting(url, init, init.ca);
  const response = await fetch(url, { method: init.method, headers: init.headers, body: init.body, signal: init.signal });
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  return { status: response.status, headers, text: await response.text(), url: response.url || url, redirected: response.redirected };
}

function requestTrusting(url: string, init: HttpRequest, ca: string | Buffer): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const headers = { ...init.headers, ...(init.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(init.body)) } : {}) };
    const req = httpsRequest(url, { method: init.method, ca, signal: init.signal, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const joined: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) joined[name] = Array.isArray(value) ? value.join(', ') : value;
        resolve({ status: res.statusCode ?? 0, headers: joined, text: Buffer.concat(chunks).toString('utf8'), url, redirected: false });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}
