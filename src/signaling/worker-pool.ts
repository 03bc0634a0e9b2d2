/**
 * `serve --workers N`: one primary process owns the HTTP listener and forwards every offer to one
 * of N worker processes (the one holding the fewest sessions), which answers it with its own
 * peer connection, its own sockets and candidates, and echoes from then on. The session limit
 * and the per-address cap on unconnected sessions hold across workers (the primary counts; the
 * offer's checks, candidate policy and mDNS step run here before it is forwarded); /healthz and
 * /metrics add theirs up; a drain and closing reach every worker; a worker that dies is
 * reported, its sessions are released, and it is started again.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AggregatorRegistry } from 'prom-client';
import type { Logger } from 'pino';
import type { SessionDescription } from '../sdp/description.js';
import type { CreateOptions, SessionHost } from '../echo/session-host.js';
import { UnconnectedPerClient } from '../echo/unconnected.js';
import type { EchoMetrics } from '../echo/metrics.js';
import { EchoError } from '../errors/echo-error.js';
import { WORKER_CONFIG_ENV, type FromWorker, type ToWorker, type WorkerConfig } from './worker-protocol.js';

export interface WorkerPoolOptions extends Omit<WorkerConfig, 'index'> {
  workers: number;
  log: Logger;
  /** The primary's own metrics (rejected offers); /metrics adds the workers' to them. */
  metrics: EchoMetrics;
}

/** A worker that keeps dying is started again after a growing pause, up to this long. */
const MAX_RESTART_DELAY_MS = 5_000;
const READY_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 10_000;

interface Pending {
  resolve: (message: FromWorker) => void;
  reject: (err: Error) => void;
}

class WorkerSlot {
  child: ChildProcess | undefined;
  ready = false;
  pid = 0;
  restarts = 0;
  /** Offers forwarded and not answered yet. */
  inFlight = 0;
  readonly sessions = new Set<string>();
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly crashes: number[] = [];

  constructor(
    readonly index: number,
    private readonly pool: WorkerSessions,
  ) {}

  get load(): number {
    return this.sessions.size + this.inFlight;
  }

  start(): Promise<void> {
    const self = fileURLToPath(import.meta.url);
    const ext = extname(self);
    const entry = new URL(`./worker-process${ext}`, import.meta.url);
    const config: WorkerConfig = { ...this.pool.config, index: this.index };
    const child = fork(entry, [], {
      execArgv: ext === '.ts' ? ['--import', 'tsx'] : [],
      env: { ...process.env, [WORKER_CONFIG_ENV]: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child = child;
    this.pid = child.pid ?? 0;
    this.ready = false;
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${this.index} did not start within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      child.on('message', (message: FromWorker) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          this.ready = true;
          resolve();
        } else this.onMessage(message);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`worker ${this.index} exited (${signal ?? code}) before it was ready`));
        this.onExit(child, code, signal);
      });
    });
    return ready;
  }

  request(message: ToWorker extends infer M ? (M extends unknown ? Omit<M, 'id'> : never) : never): Promise<FromWorker> {
    const child = this.child;
    if (!child || !this.ready || !child.connected) return Promise.reject(EchoError.internal());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      child.send({ ...message, id } as ToWorker, (err) => {
        if (err && this.pending.delete(id)) reject(err);
      });
    });
  }

  private onMessage(message: FromWorker): void {
    if (message.type === 'session-closed') {
      if (this.sessions.delete(message.sessionId)) this.pool.forget(message.sessionId);
      return;
    }
    if (message.type === 'session-connected') {
      this.pool.connected(message.sessionId);
      return;
    }
    if (!('id' in message)) return;
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    waiter.resolve(message);
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.ready = false;
    this.child = undefined;
    for (const waiter of this.pending.values()) waiter.reject(EchoError.internal());
    this.pending.clear();
    const lost = this.sessions.size;
    for (const id of this.sessions) this.pool.forget(id);
    this.sessions.clear();
    if (this.pool.closing) return;
    // Its sockets and peer connections died with it: the clients' connections fail on their side.
    this.pool.log.error({ event: 'worker-exited', worker: this.index, pid: this.pid, code, signal, sessionsLost: lost }, `worker ${this.index} exited (${signal ?? code}); ${lost} sessions lost; starting it again`);
    const now = Date.now();
    this.crashes.push(now);
    while (this.crashes.length && now - this.crashes[0]! > 60_000) this.crashes.shift();
    const delay = Math.min(MAX_RESTART_DELAY_MS, 100 * 2 ** (this.crashes.length - 1));
    setTimeout(() => {
      if (this.pool.closing) return;
      this.restarts++;
      this.start().catch((err: unknown) => this.pool.log.error({ err, worker: this.index }, 'worker restart failed'));
    }, delay).unref();
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const kill = setTimeout(() => child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
    if (this.ready && child.connected) this.request({ type: 'close' }).catch(() => child.kill('SIGKILL'));
    else child.kill('SIGKILL');
    await exited;
    clearTimeout(kill);
  }
}

export class WorkerSessions implements SessionHost {
  readonly config: Omit<WorkerConfig, 'index'>;
  readonly log: Logger;
  closing = false;
  private draining = false;
  private readonly slots: WorkerSlot[];
  private readonly owner = new Map<string, WorkerSlot>();
  /** Session id → its client, for the unconnected cap. */
  private readonly clientOf = new Map<string, string>();
  private readonly unconnected: UnconnectedPerClient;
  private readonly emptyWaiters = new Set<() => void>();
  private pendingOffers = 0;
  private closed: Promise<void> | undefined;

  private constructor(private readonly options: WorkerPoolOptions) {
    const { workers: _workers, log, metrics: _metrics, ...config } = options;
    this.config = config;
    this.log = log;
    this.slots = Array.from({ length: options.workers }, (_, i) => new WorkerSlot(i, this));
    this.unconnected = new UnconnectedPerClient(config.maxUnconnectedPerAddress, config.connectTimeoutMs);
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
    return this.owner.size;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  async create(offer: SessionDescription, { client, prepare }: CreateOptions): Promise<{ id: string; answer: SessionDescription }> {
    if (this.closing) throw EchoError.shuttingDown();
    if (this.draining) throw EchoError.draining();
    if (this.owner.size + this.pendingOffers >= this.config.maxSessions) throw EchoError.tooManySessions(this.config.maxSessions);
    this.unconnected.reserve(client);
    this.pendingOffers++;
    let slot: WorkerSlot | undefined;
    try {
      const prepared = prepare ? await prepare(offer) : offer;
      if (this.closing) throw EchoError.shuttingDown();
      slot = this.slots.filter((s) => s.ready).sort((a, b) => a.load - b.load)[0];
      if (!slot) throw EchoError.internal();
      slot.inFlight++;
      const reply = await slot.request({ type: 'offer', offer: prepared, client });
      if (reply.type === 'error') throw EchoError.from(reply.error);
      if (reply.type !== 'answer') throw EchoError.internal();
      slot.sessions.add(reply.session.id);
      this.owner.set(reply.session.id, slot);
      this.clientOf.set(reply.session.id, client);
      this.unconnected.track(client, reply.session.id);
      return reply.session;
    } finally {
      this.pendingOffers--;
      if (slot) slot.inFlight--;
      this.unconnected.release(client);
      this.notifyIfEmpty();
    }
  }

  /** A worker's session connected: its client may open another. */
  connected(sessionId: string): void {
    const client = this.clientOf.get(sessionId);
    if (client !== undefined) this.unconnected.untrack(client, sessionId);
  }

  forget(sessionId: string): void {
    this.owner.delete(sessionId);
    const client = this.clientOf.get(sessionId);
    this.clientOf.delete(sessionId);
    if (client !== undefined) this.unconnected.untrack(client, sessionId);
    this.notifyIfEmpty();
  }

  startDraining(): void {
    this.draining = true;
  }

  whenEmpty(): Promise<void> {
    if (this.owner.size === 0 && this.pendingOffers === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptyWaiters.add(resolve));
  }

  private notifyIfEmpty(): void {
    if (this.owner.size > 0 || this.pendingOffers > 0) return;
    for (const resolve of this.emptyWaiters) resolve();
    this.emptyWaiters.clear();
  }

  health(): Record<string, unknown> {
    return {
      workers: this.slots.map((s) => ({ worker: s.index, pid: s.child ? s.pid : null, up: s.ready, sessions: s.sessions.size, restarts: s.restarts })),
    };
  }

  /** The primary's metrics plus every worker's, summed (prom-client's cluster aggregation). */
  async metricsText(): Promise<string> {
    const parts = await Promise.all(
      this.slots.map((s) =>
        s.request({ type: 'metrics' }).then(
          (reply) => (reply.type === 'metrics' ? reply.metrics : []),
          () => [],
        ),
      ),
    );
    const own = await this.options.metrics.registry.getMetricsAsJSON();
    return AggregatorRegistry.aggregate([own, ...parts]).metrics();
  }

  closeAll(): Promise<void> {
    this.closing = true;
    return (this.closed ??= Promise.all(this.slots.map((s) => s.close())).then(() => {
      this.owner.clear();
      this.clientOf.clear();
      this.notifyIfEmpty();
    }));
  }
}
