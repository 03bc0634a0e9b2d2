/**
 * A session worker process of `serve --workers N`: holds its own sessions (its own peer
 * connections, sockets and native threads) and answers the offers the primary forwards to it.
 * Signals are the primary's business: this process leaves when told to, or when the primary is gone.
 */
import { createLogger } from '../log.js';
import { loadEngine } from '../engines/registry.js';
import { SessionRegistry } from '../echo/sessions.js';
import { createEchoMetrics } from '../echo/metrics.js';
import { EchoError } from '../errors/echo-error.js';
import { WORKER_CONFIG_ENV, type FromWorker, type ToWorker, type WorkerConfig } from './worker-protocol.js';

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

process.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'offer':
      registry.create(message.offer, { client: message.client }).then(
        (session) => {
          send({ type: 'answer', id: message.id, session: { id: session.id, answer: session.answer } });
          void session.connected.then(() => send({ type: 'session-connected', sessionId: session.id }));
          void session.closed.then(() => send({ type: 'session-closed', sessionId: session.id }));
        },
        (err: unknown) => {
          const error = err instanceof EchoError ? err : EchoError.internal();
          if (!(err instanceof EchoError)) log.error({ err }, 'unexpected error answering an offer');
          send({ type: 'error', id: message.id, error: { code: error.code, message: error.message, context: error.context } });
        },
      );
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
