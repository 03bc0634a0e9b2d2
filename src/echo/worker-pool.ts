/**
 * `serve --workers N`: one primary process owns the HTTP listener and forwards every offer to one
 * of N worker processes (the one holding the fewest sessions), which answers it with its own
 * peer connection, its own sockets and candidates, and echoes from then on. The primary admits
 * (Admission, as one process does: the session limit and the per-address cap on unconnected
 * sessions hold across workers); the offer is checked, parsed and prepared before it is
 * forwarded, and the worker does not parse it again. /healthz and /metrics add the workers up;
 * a drain and closing reach every worker; a worker that dies is reported, its sessions are
 * released, and it is started again. Every request to a worker has a deadline (ipc/rpc.ts): a
 * worker that stopped answering costs an offer a 500 and /metrics its share, never a hang.
 */
import type { ChildProcess } from 'node:child_process';
import { AggregatorRegistry } from 'prom-client';
import type { Logger } from 'pino';
import { forkModule } from '../ipc/fork.js';
import { ipcLink, RpcChannel, RpcTimeout } from '../ipc/rpc.js';
import type { ParsedOffer } from '../sdp/parsed-offer.js';
import { EchoError } from '../errors/echo-error.js';
import { Admission } from './admission.js';
import type { EchoMetrics } from './metrics.js';
import type { EngineCapabilities } from '../engines/engine.js';
import { ECHO_ROLE, type AnsweredSession, type OfferReservation, type SessionHost, type SessionRole, type TricklePatch } from './session-host.js';
import type { CloseReason } from './session.js';
import { WORKER_CONFIG_ENV, type ToWorker, type WorkerConfig, type WorkerEvent, type WorkerReply } from './worker-protocol.js';

export interface WorkerPoolOptions extends Omit<WorkerConfig, 'index'> {
  workers: number;
  log: Logger;
  /** The primary's own metrics (rejected offers); /metrics adds the workers' to them. */
  metrics: EchoMetrics;
  /** The engine's, as the primary loaded it. */
  capabilities: EngineCapabilities;
}

/** The worker's entry point (commands/echo-worker.ts), without extension (forkModule adds it). */
const WORKER_MODULE = new URL('../commands/echo-worker', import.meta.url);

/** A worker that keeps dying is started again after a growing pause, up to this long. */
const MAX_RESTART_DELAY_MS = 5_000;
const READY_TIMEOUT_MS = 30_000;
/** A worker told to close that has not exited by then is killed. */
const CLOSE_TIMEOUT_MS = 10_000;
/** Its share of /metrics: a scrape waits this long for a worker, then goes on without it. */
export const METRICS_TIMEOUT_MS = 3_000;
/** An offer may take the worker its gathering time (--gather-timeout) and this much more. */
const OFFER_MARGIN_MS = 10_000;
/** A DELETE or PATCH: closing a session or adding candidates takes the worker a few milliseconds. */
const RESOURCE_TIMEOUT_MS = 5_000;

class WorkerSlot {
  child: ChildProcess | undefined;
  rpc: RpcChannel<WorkerEvent> | undefined;
  ready = false;
  pid = 0;
  restarts = 0;
  /** Offers forwarded and not answered yet. */
  inFlight = 0;
  /** Its live sessions, and what each is for (a WHEP viewer goes to its publisher's worker). */
  readonly sessions = new Map<string, SessionRole>();
  private readonly crashes: number[] = [];

  constructor(
    readonly index: number,
    private readonly pool: WorkerSessions,
  ) {}

  get load(): number {
    return this.sessions.size + this.inFlight;
  }

  /** With --udp-mux PORT, this worker's own port: PORT + its index (a mux socket is one process's). */
  get udpMux(): number | undefined {
    const base = this.pool.config.network.udpMux;
    return base === undefined ? undefined : base + this.index;
  }

  start(): Promise<void> {
    const network = { ...this.pool.config.network, udpMux: this.udpMux };
    const config: WorkerConfig = { ...this.pool.config, network, index: this.index };
    const child = forkModule(WORKER_MODULE, { env: { ...process.env, [WORKER_CONFIG_ENV]: JSON.stringify(config) } });
    const rpc = new RpcChannel<WorkerEvent>(`worker ${this.index} (pid ${child.pid})`, ipcLink(child));
    this.child = child;
    this.rpc = rpc;
    this.pid = child.pid ?? 0;
    this.ready = false;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${this.index} did not start within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      rpc.onEvent((event) => {
        if (event.type === 'ready') {
          clearTimeout(timer);
          this.ready = true;
          resolve();
        } else this.onEvent(event);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        rpc.close(`exited (${signal ?? code})`);
        reject(new Error(`worker ${this.index} exited (${signal ?? code}) before it was ready`));
        this.onExit(child, code, signal);
      });
    });
  }

  /** One request with its deadline; a worker that is not up rejects at once. */
  request<Reply extends WorkerReply>(message: ToWorker, timeoutMs: number): Promise<Reply> {
    if (!this.rpc || !this.ready || !this.child?.connected) return Promise.reject(new Error(`worker ${this.index} is not up`));
    return this.rpc.request<Reply>(message, { timeoutMs });
  }

  private onEvent(event: WorkerEvent): void {
    if (event.type === 'session-closed') {
      if (this.sessions.delete(event.sessionId)) this.pool.admission.closed(event.sessionId);
    } else if (event.type === 'session-connected') {
      this.pool.admission.connected(event.sessionId);
    }
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.ready = false;
    this.child = undefined;
    const lost = this.sessions.size;
    for (const id of this.sessions.keys()) this.pool.admission.closed(id);
    this.sessions.clear();
    if (this.pool.admission.isShuttingDown) return;
    // Its sockets and peer connections died with it: the clients' connections fail on their side.
    this.pool.log.error({ event: 'worker-exited', worker: this.index, pid: this.pid, code, signal, sessionsLost: lost }, `worker ${this.index} exited (${signal ?? code}); ${lost} sessions lost; starting it again`);
    const now = Date.now();
    this.crashes.push(now);
    while (this.crashes.length && now - this.crashes[0]! > 60_000) this.crashes.shift();
    const delay = Math.min(MAX_RESTART_DELAY_MS, 100 * 2 ** (this.crashes.length - 1));
    setTimeout(() => {
      if (this.pool.admission.isShuttingDown) return;
      this.restarts++;
      this.start().catch((err: unknown) => this.pool.log.error({ err, worker: this.index }, 'worker restart failed'));
    }, delay).unref();
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Told to close, it answers and exits; one that does neither in time is killed.
    const kill = setTimeout(() => child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
    if (this.ready && child.connected) this.request({ type: 'close' }, CLOSE_TIMEOUT_MS).catch(() => child.kill('SIGKILL'));
    else child.kill('SIGKILL');
    await exited;
    clearTimeout(kill);
  }
}

export class WorkerSessions implements SessionHost {
  readonly config: Omit<WorkerConfig, 'index'>;
  readonly log: Logger;
  readonly admission: Admission;
  private readonly slots: WorkerSlot[];
  private closed: Promise<void> | undefined;

  private constructor(private readonly options: WorkerPoolOptions) {
    const { workers: _workers, log, metrics: _metrics, capabilities: _capabilities, ...config } = options;
    this.config = config;
    this.log = log;
    this.admission = new Admission(config);
    this.slots = Array.from({ length: options.workers }, (_, i) => new WorkerSlot(i, this));
  }

  /** Starts every worker and resolves once all of them can take offers. */
  static async start(options: WorkerPoolOptions): Promise<WorkerSessions> {
    const pool = new WorkerSessions(options);
    try {
      await Promise.all(pool.slots.map((slot) => slot.start()));
    } catch (err) {
      await pool.closeAll();
      throw err;
    }
    return pool;
  }

  get engineName(): string {
    return this.config.engine;
  }

  get size(): number {
    return this.admission.size;
  }

  get capabilities(): EngineCapabilities {
    return this.options.capabilities;
  }

  roleOf(id: string): SessionRole | undefined {
    return this.slotOf(id)?.sessions.get(id);
  }

  async end(id: string, reason: CloseReason): Promise<boolean> {
    const worker = this.slotOf(id);
    if (!worker) return false;
    const reply = await this.ask(worker, { type: 'end', sessionId: id, reason }, 'end');
    return reply.type === 'ended' && reply.found;
  }

  async trickle(id: string, patch: TricklePatch): Promise<void> {
    const worker = this.slotOf(id);
    if (!worker) throw EchoError.noSuchResource(`session ${id}`);
    await this.ask(worker, { type: 'trickle', sessionId: id, patch }, 'trickle');
  }

  private slotOf(id: string): WorkerSlot | undefined {
    return this.slots.find((s) => s.sessions.has(id));
  }

  /** One resource request to a worker; its EchoError, or a 500 when it does not answer in time. */
  private async ask(worker: WorkerSlot, message: ToWorker, what: string): Promise<WorkerReply> {
    let reply: WorkerReply;
    try {
      reply = await worker.request(message, RESOURCE_TIMEOUT_MS);
    } catch (err) {
      if (err instanceof RpcTimeout) this.log.error({ event: 'worker-timeout', worker: worker.index, pid: worker.pid, request: what, ms: err.ms }, err.message);
      throw EchoError.internal(err, { worker: worker.index });
    }
    if (reply.type === 'error') throw EchoError.from(reply.error);
    return reply;
  }

  get isDraining(): boolean {
    return this.admission.isDraining;
  }

  reserve(client: string): OfferReservation {
    const slot = this.admission.reserve(client);
    return {
      answer: async (offer, role = ECHO_ROLE) => {
        try {
          slot.checkOpen();
          const { worker, session } = await this.forward(offer, client, role);
          // When shutdown began meanwhile, closing the pool closes that worker's sessions too.
          slot.admit(session.id, { connected: false, discard: () => {} });
          worker.sessions.set(session.id, role);
          return session;
        } finally {
          slot.release();
        }
      },
      release: () => slot.release(),
    };
  }

  /**
   * The offer to the least-loaded worker that is up, and its answer (or its EchoError). A WHEP
   * viewer's goes to the worker that holds its publisher: playback is in one process, packet by
   * packet (404 when no worker holds it).
   */
  private async forward(offer: ParsedOffer, client: string, role: SessionRole): Promise<{ worker: WorkerSlot; session: AnsweredSession }> {
    const worker = role.kind === 'viewer' ? this.slotOf(role.publisher) : this.slots.filter((s) => s.ready).sort((a, b) => a.load - b.load)[0];
    if (!worker && role.kind === 'viewer') throw EchoError.noSuchResource(`WHIP session ${role.publisher}`);
    if (!worker) throw EchoError.internal(new Error('no worker is up'));
    worker.inFlight++;
    let reply: WorkerReply;
    try {
      reply = await worker.request({ type: 'offer', offer, client, role }, this.config.gatherTimeoutMs + OFFER_MARGIN_MS);
    } catch (err) {
      if (err instanceof RpcTimeout) this.log.error({ event: 'worker-timeout', worker: worker.index, pid: worker.pid, request: 'offer', ms: err.ms }, err.message);
      throw EchoError.internal(err, { worker: worker.index });
    } finally {
      worker.inFlight--;
    }
    if (reply.type === 'error') throw EchoError.from(reply.error);
    if (reply.type !== 'answer') throw EchoError.internal(new Error(`worker ${worker.index} answered an offer with ${reply.type}`));
    return { worker, session: reply.session };
  }

  startDraining(): void {
    this.admission.startDraining();
  }

  whenEmpty(): Promise<void> {
    return this.admission.whenEmpty();
  }

  health(): Record<string, unknown> {
    return {
      workers: this.slots.map((s) => ({ worker: s.index, pid: s.child ? s.pid : null, up: s.ready, sessions: s.sessions.size, restarts: s.restarts, ...(s.udpMux === undefined ? {} : { udpMux: s.udpMux }) })),
    };
  }

  /**
   * The primary's metrics plus every worker's, summed (prom-client's cluster aggregation). A
   * worker that does not answer within METRICS_TIMEOUT_MS is left out, and logged.
   */
  async metricsText(): Promise<string> {
    const parts = await Promise.all(
      this.slots.map((s) =>
        s.request({ type: 'metrics' }, METRICS_TIMEOUT_MS).then(
          (reply) => (reply.type === 'metrics' ? reply.metrics : []),
          (err: unknown) => {
            if (err instanceof RpcTimeout) this.log.warn({ event: 'worker-timeout', worker: s.index, pid: s.pid, request: 'metrics', ms: err.ms }, `${err.message}: /metrics goes without its share`);
            return [];
          },
        ),
      ),
    );
    const own = await this.options.metrics.registry.getMetricsAsJSON();
    return AggregatorRegistry.aggregate([own, ...parts]).metrics();
  }

  closeAll(): Promise<void> {
    this.admission.shutDown();
    return (this.closed ??= Promise.all(this.slots.map((s) => s.close())).then(() => {
      for (const slot of this.slots) {
        for (const id of slot.sessions.keys()) this.admission.closed(id);
        slot.sessions.clear();
      }
    }));
  }
}
