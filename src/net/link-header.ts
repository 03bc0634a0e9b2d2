/**
 * STUN and TURN servers in HTTP Link headers (RFC 8288), as WHIP announces them (RFC 9725,
 * STUN/TURN server configuration): `<turn:host:3478?transport=udp>; rel="ice-server";
 * username="u"; credential="p"; credential-type="password"`, one link per server. Written by
 * the server, read by our WHIP client and the page. Plain code, no Node API.
 */
import type { IceServer } from './ice-server.js';

/** One Link header value per server. */
export function iceServerLinks(servers: readonly IceServer[]): string[] {
  return servers.map((server) => {
    const params = ['rel="ice-server"'];
    if (server.username !== undefined) params.push(`username=${quoted(server.username)}`);
    if (server.credential !== undefined) params.push(`credential=${quoted(server.credential)}`, 'credential-type="password"');
    return `<${server.urls}>; ${params.join('; ')}`;
  });
}

export interface LinkValue {
  target: string;
  /** Parameter names in lower case; values unquoted. */
  params: Record<string, string>;
}

/** Every link of one or more Link header values (joined with ", " as fetch() joins them). Lenient: what does not parse is skipped. */
export function parseLinks(header: string | null | undefined): LinkValue[] {
  const links: LinkValue[] = [];
  if (!header) return links;
  const value = /<([^>]*)>((?:\s*;\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^\s;,]*))?)*)/g;
  for (const match of header.matchAll(value)) {
    const params: Record<string, string> = {};
    for (const p of match[2]!.matchAll(/;\s*([^\s=;,]+)(?:\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;,]*))?/g)) {
      const raw = p[2] ?? '';
      params[p[1]!.toLowerCase()] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    }
    links.push({ target: match[1]!, params });
  }
  return links;
}

/** The ICE servers among the links (rel="ice-server", RFC 9725). */
export function iceServersFromLinks(header: string | null | undefined): IceServer[] {
  return parseLinks(header)
    .filter((link) => link.params.rel?.split(/\s+/).includes('ice-server'))
    .map((link) => ({
      urls: link.target,
      ...(link.params.username !== undefined ? { username: link.params.username } : {}),
      ...(link.params.credential !== undefined ? { credential: link.params.credential } : {}),
    }));
}

function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
