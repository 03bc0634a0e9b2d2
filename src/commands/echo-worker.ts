/**
 * The entry point of a session worker process of `serve --workers N` (forked by
 * echo/worker-pool.ts): holds its own sessions (its own peer connections, sockets and native
 * threads) and answers the offers the primary forwards to it. No options: its configuration
 * comes in its environment. Signals are the primary's business: it leaves when told to, or
 * when the primary is gone.
 */
import { createLogger } from '../log.js';
import { loadEngine } from '../engines/registry.js';
import { SessionRegistry } from '../echo/sessions.js';
import { createEchoMetrics } from '../echo/metrics.js';
import { EchoError } from '../errors/echo-error.js';
import { WORKER_CONFIG_ENV, type FromWorker, type ToWorker, type WorkerConfig } from '../echo/worker-protocol.js';

type Request = ToWorker & { id: number };

const config = JSON.parse(process.env[WORKER_CONFIG_ENV] ?? '{}') as WorkerConfig;
const log = createLogger(config.logLevel).child({ worker: config.index });
const send = (message: FromWorker) => process.send?.(message);

// Ctrl-C reaches the whole process group: the primary decides, and tells us.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});

const engine = await loadEngine(config.engine);
let sessions: SessionRegistry | undefined;
const metrics = createEchoMetrics(() => sessions?.size ?? 0);
sessions = new SessionRegistry(engine, config, log.child({ module: 'echo', engine: engine.name }), metrics);
const registry = sessions;

async function leave(): Promise<void> {
  await registry.closeAll('shutdown');
  // Native stacks may keep threads alive after their peers are closed.
  process.exit(0);
}

/** The offer was checked and parsed by the primary; the slot here only keeps this process's own count. */
async function answer(message: Extract<Request, { type: 'offer' }>): Promise<void> {
  const reservation = registry.reserve(message.client);
  try {
    const session = await reservation.answer(message.offer, message.role);
    send({ type: 'answer', id: message.id, session: { id: session.id, answer: session.answer, etag: session.etag } });
    void session.connected.then(() => send({ type: 'session-connected', sessionId: session.id }));
    void session.closed.then(() => send({ type: 'session-closed', sessionId: session.id }));
  } catch (err) {
    sendError(message.id, err, 'answering an offer');
  } finally {
    reservation.release();
  }
}

/** A WHIP/WHEP PATCH for one of our sessions. */
async function trickle(message: Extract<Request, { type: 'trickle' }>): Promise<void> {
  try {
    await registry.trickle(message.sessionId, message.patch);
    send({ type: 'trickled', id: message.id });
  } catch (err) {
    sendError(message.id, err, 'adding trickled candidates');
  }
}

/** The error of one request, as its code; a bug is logged here, with its stack: the primary only learns its code. */
function sendError(id: number, err: unknown, doing: string): void {
  const error = err instanceof EchoError ? err : EchoError.internal(err);
  if (error.code === 'ECHO_ERR_INTERNAL') log.error({ event: 'internal-error', err: error.cause ?? err, ...error.context }, `unexpected error ${doing}`);
  send({ type: 'error', id, error: { code: error.code, message: error.message, context: error.context } });
}

process.on('message', (message: Request) => {
  switch (message.type) {
    case 'offer':
      void answer(message);
      return;
    case 'end':
      void registry.end(message.sessionId, message.reason).then((found) => send({ type: 'ended', id: message.id, found }));
      return;
    case 'trickle':
      void trickle(message);
      return;
    case 'metrics':
      void metrics.registry.getMetricsAsJSON().then((json) => send({ type: 'metrics', id: message.id, metrics: json }));
      return;
    case 'close':
      // Exit only once `closed` has reached the primary.
      void registry.closeAll('shutdown').then(() => process.send?.({ type: 'closed', id: message.id } satisfies FromWorker, () => process.exit(0)));
      return;
  }
});

// The primary went away (crashed, killed): nobody can reach our sessions any more.
process.on('disconnect', () => void leave());

send({ type: 'ready', engine: engine.name });
