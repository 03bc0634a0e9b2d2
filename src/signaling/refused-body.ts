/**
 * The rest of a refused request's body, read and thrown away so that the client reads the refusal.
 *
 * A reply sent before the body was read (a 413 from the body limit, a 429 from the rate limit)
 * must reach the client. Closing the socket while the body still streams in makes the kernel
 * answer the unread bytes with a RST, and a client still writing loses the reply it has not read
 * yet (seen: 5 of 10 raw-socket clients got EPIPE and no 413; every 40 MiB body when we stopped
 * reading at 4 MiB). Fastify asks for exactly that close (`Connection: close` after a body error),
 * so the connection is kept instead and the body is read to its end and dropped: nginx's lingering
 * close (ngx_http_lingering_close_handler), bounded as nginx bounds it, by time and by silence, and
 * also by bytes:
 *
 * - time: the request timeout (REQUEST_TIMEOUT_MS from the request's first byte, Node's own
 *   connection checker; nginx: lingering_time, 30 s). The checker then reports a client error; for a
 *   socket that lingers it ends here quietly (Fastify's default handler would write a 408 after the
 *   413 the client already has).
 * - silence: LINGER_IDLE_MS without a byte (nginx: lingering_timeout, 5 s).
 * - bytes: LINGER_MAX_BYTES (nginx has no such bound). Throwing bytes away costs CPU per byte
 *   (docs/security.md has the measurement), so a refused request costs at most this much.
 *
 * Past a bound the socket is destroyed, as nginx closes it: the client may then lose the reply.
 * A body that ends within them leaves the connection open, unless the request asked for it to
 * close (`Connection: close`, HTTP/1.0): Node would destroy the socket right after the reply, so
 * for that one reply its destroySoon() only sends our FIN, and the socket is closed once the body
 * is read.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';

/** What a refused body may still send: tens of MiB are read (an upload to the wrong URL), more is cut. */
export const LINGER_MAX_BYTES = 64 * 1024 * 1024;
/** How long a refused body may pause between two reads. */
export const LINGER_IDLE_MS = 5_000;

export type LingerEnd = 'end' | 'bytes' | 'idle' | 'timeout' | 'closed';

interface Linger {
  started: number;
  bytes: number;
  finish(how: LingerEnd): void;
}

/** Sockets whose refused body is being read and dropped (for the request-timeout hand-off). */
const lingering = new WeakMap<Socket, Linger>();

/**
 * Keeps `request`'s connection (through `keepConnection`, which undoes Fastify's
 * `Connection: close`) and reads the rest of its body into nothing, within the bounds above.
 * `log` gets one line when a bound cuts it.
 */
export function lingerOnRefusedBody(request: IncomingMessage, keepConnection: () => void, log: FastifyBaseLogger): void {
  const socket = request.socket;
  if (lingering.has(socket)) return;
  keepConnection();
  // Node closes a connection the request asked to close with destroySoon() after the reply:
  // here that only half-closes it (our FIN), and the end of the body closes it.
  const destroySoon = Object.hasOwn(socket, 'destroySoon') ? socket.destroySoon : undefined;
  let closeAtEnd = false;
  socket.destroySoon = () => {
    closeAtEnd = true;
    socket.end();
  };
  const linger: Linger = {
    started: performance.now(),
    bytes: 0,
    finish: (how) => {
      if (lingering.get(socket) !== linger) return;
      lingering.delete(socket);
      clearTimeout(idle);
      request.off('data', onData);
      request.off('end', onEnd);
      socket.off('close', onClose);
      if (destroySoon) socket.destroySoon = destroySoon;
      else delete (socket as Partial<Socket>).destroySoon;
      if (how === 'closed') return;
      if (how === 'end') {
        if (closeAtEnd) socket.destroy();
        return;
      }
      log.info(
        { event: 'refused-body-cut', reason: how, bytes: linger.bytes, ms: Math.round(performance.now() - linger.started) },
        `closed a connection whose refused body went on past the ${how === 'bytes' ? `${LINGER_MAX_BYTES} bytes` : how === 'idle' ? `${LINGER_IDLE_MS} ms pause` : 'request timeout'}`,
      );
      socket.destroy();
    },
  };
  lingering.set(socket, linger);
  const idle = setTimeout(() => linger.finish('idle'), LINGER_IDLE_MS);
  const onData = (chunk: Buffer) => {
    linger.bytes += chunk.length;
    if (linger.bytes > LINGER_MAX_BYTES) return linger.finish('bytes');
    idle.refresh();
  };
  const onEnd = () => linger.finish('end');
  const onClose = () => linger.finish('closed');
  request.on('data', onData);
  request.once('end', onEnd);
  socket.once('close', onClose);
  request.resume();
}

/**
 * For the server's `clientError`, before Fastify's own handler: a lingering socket whose request
 * timed out is closed here (Fastify's handler then sees it destroyed and writes nothing).
 * Returns whether it was one.
 */
export function endLingerOnClientError(err: NodeJS.ErrnoException, socket: Socket): boolean {
  const linger = lingering.get(socket);
  if (!linger) return false;
  linger.finish(err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'timeout' : 'closed');
  socket.destroy();
  return true;
}
