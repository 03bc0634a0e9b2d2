/**
 * Requests to a child process and their replies, for every worker we start: the session
 * workers of `serve --workers` and the bench's load workers (Node over its IPC channel, or the
 * Go pion worker over JSON lines). A request carries an id; the reply carries it back; a
 * `progress` message with that id is progress, not the reply; any other message is an event.
 *
 * Every request has a deadline: a worker that stopped answering (a native deadlock, a stopped
 * process) rejects its requests with RpcTimeout instead of hanging whoever asked (/metrics
 * above all). A reply that comes after its deadline is dropped.
 */
import type { ChildProcess } from 'node:child_process';

/** How messages reach a worker and come back. */
export interface MessageLink {
  /** Sends one message; throws or calls back with an error when the channel is gone. */
  send(message: object, done: (err: Error | null) => void): void;
  onMessage(listener: (message: unknown) => void): void;
}

/** A request that found no reply within its deadline. */
export class RpcTimeout extends Error {
  constructor(
    readonly worker: string,
    readonly requestType: string,
    readonly ms: number,
  ) {
    super(`${worker} did not answer ${requestType} within ${ms} ms`);
    this.name = 'RpcTimeout';
  }
}

/** The worker went away (exited, or its channel closed) with the request unanswered. */
export class RpcClosed extends Error {
  constructor(worker: string, why: string) {
    super(`${worker} is gone (${why})`);
    this.name = 'RpcClosed';
  }
}

export interface RequestOptions {
  /** Longest wait for the reply. */
  timeoutMs: number;
  /** Names the request in errors; default its `type`. */
  label?: string;
  /** `progress` messages of this request. */
  onProgress?: (message: Record<string, unknown>) => void;
}

interface Pending {
  resolve: (reply: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  onProgress?: RequestOptions['onProgress'];
}

export class RpcChannel<Event = unknown> {
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #eventListeners: Array<(event: Event) => void> = [];
  #closed: string | undefined;

  constructor(
    /** Names the worker in errors: `worker 1 (pid 4242)`. */
    readonly name: string,
    private readonly link: MessageLink,
  ) {
    link.onMessage((message) => this.#receive(message));
  }

  /** Sends `message` with a fresh id and resolves with its reply (whatever its type). */
  request<Reply>(message: object, options: RequestOptions): Promise<Reply> {
    const { type } = message as { type?: unknown };
    const what = options.label ?? (typeof type === 'string' ? type : 'a request');
    if (this.#closed !== undefined) return Promise.reject(new RpcClosed(this.name, this.#closed));
    const id = this.#nextId++;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.#pending.delete(id)) reject(new RpcTimeout(this.name, what, options.timeoutMs));
      }, options.timeoutMs);
      this.#pending.set(id, { resolve: resolve as (reply: unknown) => void, reject, timer, onProgress: options.onProgress });
      const failed = (err: unknown) => {
        const waiter = this.#pending.get(id);
        if (!waiter) return;
        this.#pending.delete(id);
        clearTimeout(waiter.timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      };
      try {
        this.link.send({ ...message, id }, (err) => err && failed(err));
      } catch (err) {
        failed(err);
      }
    });
  }

  /** Messages that answer no request: `ready`, a session that closed… */
  onEvent(listener: (event: Event) => void): void {
    this.#eventListeners.push(listener);
  }

  /** The worker is gone: every request still waiting rejects, and later ones at once. Idempotent. */
  close(why: string): void {
    this.#closed ??= why;
    for (const [id, waiter] of this.#pending) {
      this.#pending.delete(id);
      clearTimeout(waiter.timer);
      waiter.reject(new RpcClosed(this.name, why));
    }
  }

  /** Requests waiting for their reply. */
  get pending(): number {
    return this.#pending.size;
  }

  #receive(message: unknown): void {
    const { id, type } = (message ?? {}) as { id?: unknown; type?: unknown };
    const waiter = typeof id === 'number' ? this.#pending.get(id) : undefined;
    if (waiter) {
      if (type === 'progress') {
        waiter.onProgress?.(message as Record<string, unknown>);
        return;
      }
      this.#pending.delete(id as number);
      clearTimeout(waiter.timer);
      waiter.resolve(message);
      return;
    }
    // A late reply (its request timed out) or progress for one: nobody is waiting.
    if (typeof id === 'number') return;
    for (const listener of this.#eventListeners) listener(message as Event);
  }
}

/** The link of a child forked with an IPC channel (forkModule). */
export function ipcLink(child: ChildProcess): MessageLink {
  return {
    send: (message, done) => {
      if (!child.connected) throw new Error('the IPC channel is closed');
      child.send(message, (err) => done(err ?? null));
    },
    onMessage: (listener) => void child.on('message', listener),
  };
}
