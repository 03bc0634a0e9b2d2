/**
 * Per client (an IPv4 address, an IPv6 /64): offers being answered and sessions not connected
 * yet, against a cap, so that one address cannot hold every slot with offers that never connect.
 * Admission (admission.ts) keeps one, for the sessions of one process and for those of
 * `serve --workers` alike, where they live in several processes but the cap must hold across them.
 */
import { EchoError } from '../errors/echo-error.js';

interface ClientSlots {
  pending: number;
  /** Session id → when it was created (performance.now()). */
  sessions: Map<string, number>;
}

export class UnconnectedPerClient {
  readonly #clients = new Map<string, ClientSlots>();

  constructor(
    private readonly max: number,
    /** How long an unconnected session may live: what Retry-After counts down to. */
    private readonly connectTimeoutMs: number,
  ) {}

  /** Takes a slot for an offer about to be answered, or throws ECHO_ERR_TOO_MANY_UNCONNECTED. */
  reserve(client: string): void {
    const slots = this.#clients.get(client) ?? { pending: 0, sessions: new Map<string, number>() };
    if (slots.pending + slots.sessions.size >= this.max) throw EchoError.tooManyUnconnected(this.max, this.#retryAfterSeconds(slots));
    slots.pending++;
    this.#clients.set(client, slots);
  }

  /** The offer's slot goes back: it was answered (then track() its session) or refused. */
  release(client: string): void {
    const slots = this.#clients.get(client);
    if (slots) slots.pending--;
    this.#forgetIfEmpty(client);
  }

  /** A session that has not connected yet holds a slot until untrack() (connected, or closed). */
  track(client: string, sessionId: string): void {
    const slots = this.#clients.get(client) ?? { pending: 0, sessions: new Map<string, number>() };
    slots.sessions.set(sessionId, performance.now());
    this.#clients.set(client, slots);
  }

  untrack(client: string, sessionId: string): void {
    this.#clients.get(client)?.sessions.delete(sessionId);
    this.#forgetIfEmpty(client);
  }

  #forgetIfEmpty(client: string): void {
    const slots = this.#clients.get(client);
    if (slots && slots.pending <= 0 && slots.sessions.size === 0) this.#clients.delete(client);
  }

  /** Until the oldest of them reaches the connect timeout (or connects, which may be sooner). */
  #retryAfterSeconds(slots: ClientSlots): number {
    const oldestAgeMs = Math.max(0, ...[...slots.sessions.values()].map((createdAt) => performance.now() - createdAt));
    return Math.max(1, Math.ceil((this.connectTimeoutMs - oldestAgeMs) / 1000));
  }
}
