/**
 * The agent's outstanding STUN requests (RFC 8489 §6.2.1): each is sent at once, resent after
 * RTO, 2 RTO, 4 RTO... up to `maxRequests` sends, and times out `lastWaitRtos` RTOs after the
 * last. A transaction can be quieted (RFC 8445 §7.3.1.4: no more resends): an answer to it still
 * counts until its next resend would have been due. One timer per transaction; clear() frees them all.
 */
export interface Transaction<S> {
  id: Buffer;
  subject: S;
  kind: 'check' | 'consent';
  /** The role the request claimed (a 487 answer tells which one lost). */
  role: 'controlling' | 'controlled';
  useCandidate: boolean;
  send(): void;
}

export interface RetransmitTiming {
  rtoMs: number;
  maxRequests: number;
  lastWaitRtos: number;
}

interface Open<S> {
  transaction: Transaction<S>;
  timer: NodeJS.Timeout;
  quiet: boolean;
}

export class Transactions<S> {
  readonly #open = new Map<string, Open<S>>();

  constructor(private readonly onTimeout: (transaction: Transaction<S>) => void) {}

  /** `sent`: its first request went out already (the data plane sent it): the first resend is one RTO away. */
  start(transaction: Transaction<S>, timing: RetransmitTiming, sent = false): void {
    const key = transaction.id.toString('hex');
    const entry: Open<S> = { transaction, timer: undefined as unknown as NodeJS.Timeout, quiet: false };
    this.#open.set(key, entry);
    let sends = 0;
    const wait = () => {
      const last = sends >= timing.maxRequests;
      const ms = last ? timing.lastWaitRtos * timing.rtoMs : timing.rtoMs * 2 ** (sends - 1);
      entry.timer = setTimeout(() => {
        if (!last && !entry.quiet) return next();
        this.#open.delete(key);
        this.onTimeout(transaction);
      }, ms);
    };
    const next = () => {
      transaction.send();
      sends++;
      wait();
    };
    if (sent) {
      sends = 1;
      wait();
    } else {
      next();
    }
  }

  has(id: Buffer): boolean {
    return this.#open.has(id.toString('hex'));
  }

  get(id: Buffer): Transaction<S> | undefined {
    return this.#open.get(id.toString('hex'))?.transaction;
  }

  finish(transaction: Transaction<S>): void {
    const key = transaction.id.toString('hex');
    const entry = this.#open.get(key);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.#open.delete(key);
  }

  /** No more resends for `subject`'s open transactions; answers to them still count until their timeout. */
  quiet(subject: S): void {
    for (const entry of this.#open.values()) if (entry.transaction.subject === subject) entry.quiet = true;
  }

  /** Whether `subject` has a transaction that is still being resent. */
  pending(subject: S): boolean {
    for (const entry of this.#open.values()) if (entry.transaction.subject === subject && !entry.quiet) return true;
    return false;
  }

  get size(): number {
    return this.#open.size;
  }

  clear(): void {
    for (const entry of this.#open.values()) clearTimeout(entry.timer);
    this.#open.clear();
  }
}
