/**
 * STUN and TURN servers (RFC 7064, RFC 7065): the RTCIceServer form every stack takes, and the
 * URLs a command line or a form field gives. Plain code, no Node API: the browser page uses it too.
 */

/** A STUN or TURN server, as RTCIceServer describes it (`stun:host:port`, `turn:host:port?transport=tcp`). */
export interface IceServer {
  urls: string;
  username?: string;
  credential?: string;
}

export interface IceUrl {
  scheme: 'stun' | 'stuns' | 'turn' | 'turns';
  host: string;
  port: number;
  transport: 'udp' | 'tcp';
}

const DEFAULT_PORTS = { stun: 3478, stuns: 5349, turn: 3478, turns: 5349 } as const;

/** `stun:host[:port]`, `turn:host[:port][?transport=udp|tcp]`; an IPv6 host in brackets. */
export function parseIceUrl(url: string): IceUrl {
  const match = /^(stuns?|turns?):(\[[0-9a-f:.]+\]|[^:?\s[\]]+)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/i.exec(url.trim());
  if (!match) throw new Error(`not a STUN or TURN URL (stun:host:port, turn:host:port?transport=udp|tcp): ${url}`);
  const scheme = match[1]!.toLowerCase() as IceUrl['scheme'];
  const port = match[3] === undefined ? DEFAULT_PORTS[scheme] : Number(match[3]);
  if (port < 1 || port > 65535) throw new Error(`port out of range in ${url}`);
  const transport = (match[4]?.toLowerCase() as 'udp' | 'tcp' | undefined) ?? (scheme === 'turns' || scheme === 'stuns' ? 'tcp' : 'udp');
  return { scheme, host: match[2]!.replace(/^\[|\]$/g, ''), port, transport };
}

/**
 * What a command line or a form field gives: `stun:HOST:PORT`, `turn:HOST:PORT` without
 * credentials, or `turn://USER:PASS@HOST:PORT?transport=udp|tcp` with them in the URL (one
 * option can carry them). `turns:` for TLS. Throws with a message a person can act on.
 */
export function iceServerFromUrl(value: string): IceServer {
  const withCredentials = /^(turns?):\/\//i.exec(value.trim());
  let server: IceServer = { urls: value.trim() };
  if (withCredentials) {
    let url: URL;
    try {
      url = new URL(value.trim());
    } catch {
      throw new Error(`not a URL: ${value}`);
    }
    const transport = url.searchParams.get('transport');
    const hostPort = `${url.hostname}${url.port ? `:${url.port}` : ''}`;
    server = {
      urls: `${withCredentials[1]!.toLowerCase()}:${hostPort}${transport ? `?transport=${transport}` : ''}`,
      username: decodeURIComponent(url.username) || undefined,
      credential: decodeURIComponent(url.password) || undefined,
    };
  }
  parseIceUrl(server.urls);
  return server;
}
