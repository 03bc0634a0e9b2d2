/**
 * Who may have a session, decided in one place for the sessions of one process
 * (SessionRegistry) and for those of `serve --workers` (WorkerSessions) alike: the session
 * limit, the per-client cap on sessions not connected yet, the offers being answered (they
 * count before they exist), draining and shutdown, and the moment nothing is left.
 *
 * An offer takes a slot first (reserve), before any work is done on it; the slot becomes a
 * live session (admit) or is given back (release). Nothing else counts sessions.
 */
import { EchoError } from '../errors/echo-error.js';
import { UnconnectedPerClient } from './unconnected.js';

export interface AdmissionLimits {
  /** Live sessions and offers being answered, together, at most. */
  maxSessions: number;
  /** Per client (clientKey): sessions not connected yet and offers being answered. */
  maxUnconnectedPerAddress: number;
  /** How long an unconnected session may live: what Retry-After counts down to. */
  connectTimeoutMs: number;
}

export class Admission {
  /** Offers holding a slot, not yet a session or given back. */
  #pending = 0;
  /** Live sessions: id → client. */
  readonly #live = new Map<string, string>();
  readonly #unconnected: UnconnectedPerClient;
  #draining = false;
  #shuttingDown = false;
  readonly #emptyWaiters = new Set<() => void>();

  constructor(private readonly limits: AdmissionLimits) {
    this.#unconnected = new UnconnectedPerClient(limits.maxUnconnectedPerAddress, limits.connectTimeoutMs);
  }

  /** Live sessions. */
  get size(): number {
    return this.#live.size;
  }

  get isDraining(): boolean {
    return this.#draining;
  }

  get isShuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * A slot for one client's offer, or the EchoError that says why not, in this order: shutting
   * down, draining, the session limit, the client's unconnected cap.
   */
  reserve(client: string): OfferSlot {
    if (this.#shuttingDown) throw EchoError.shuttingDown();
    if (this.#draining) throw EchoError.draining();
    if (this.#live.size + this.#pending >= this.limits.maxSessions) throw EchoError.tooManySessions(this.limits.maxSessions);
    this.#unconnected.reserve(client);
    this.#pending++;
    return new OfferSlot(this, client);
  }

  /**
   * No new offers (ECHO_ERR_DRAINING); live sessions, and offers that hold a slot already, go
   * on: their clients were accepted before the drain began.
   */
  startDraining(): void {
    this.#draining = true;
  }

  /** No new offers, and no slot becomes a session any more (ECHO_ERR_SHUTTING_DOWN). */
  shutDown(): void {
    this.#shuttingDown = true;
  }

  /** A session connected: it no longer counts against its client's unconnected cap. */
  connected(sessionId: string): void {
    const client = this.#live.get(sessionId);
    if (client !== undefined) this.#unconnected.untrack(client, sessionId);
  }

  /** A session ended (any reason); unknown ids are ignored. */
  closed(sessionId: string): void {
    const client = this.#live.get(sessionId);
    if (client === undefined) return;
    this.#live.delete(sessionId);
    this.#unconnected.untrack(client, sessionId);
    this.#notifyIfEmpty();
  }

  /** Resolves once no session is alive and no offer holds a slot. */
  whenEmpty(): Promise<void> {
    if (this.#live.size === 0 && this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#emptyWaiters.add(resolve));
  }

  /** @internal OfferSlot's side: the slot became a session. */
  admit(client: string, sessionId: string, connected: boolean): void {
    this.#pending--;
    this.#unconnected.release(client);
    // Counted as pending until here, and live from here, in one step: whenEmpty() sees no gap.
    this.#live.set(sessionId, client);
    if (!connected) this.#unconnected.track(client, sessionId);
  }

  /** @internal OfferSlot's side: the slot goes back unanswered. */
  giveBack(client: string): void {
    this.#pending--;
    this.#unconnected.release(client);
    this.#notifyIfEmpty();
  }

  #notifyIfEmpty(): void {
    if (this.#live.size > 0 || this.#pending > 0) return;
    for (const resolve of this.#emptyWaiters) resolve();
    this.#emptyWaiters.clear();
  }
}

/** One offer's place, from reserve() until it is a session or given back; each happens once. */
export class OfferSlot {
  #done = false;

  constructor(
    private readonly admission: Admission,
    readonly client: string,
  ) {}

  /** Throws ECHO_ERR_SHUTTING_DOWN once shutdown has begun: no more work for this offer. */
  checkOpen(): void {
    if (this.admission.isShuttingDown) throw EchoError.shuttingDown();
  }

  /**
   * The offer is answered by session `sessionId`: it is live from now on. When shutdown began
   * meanwhile, `discard` closes it instead and this throws ECHO_ERR_SHUTTING_DOWN.
   */
  admit(sessionId: string, { connected, discard }: { connected: boolean; discard: () => void }): void {
    if (this.#done) throw new Error('this offer slot was already used');
    if (this.admission.isShuttingDown) {
      discard();
      this.release();
      throw EchoError.shuttingDown();
    }
    this.#done = true;
    this.admission.admit(this.client, sessionId, connected);
  }

  /** Gives the slot back without a session. Idempotent; a no-op once admitted. */
  release(): void {
    if (this.#done) return;
    this.#done = true;
    this.admission.giveBack(this.client);
  }
}
