/**
 * The parts of the Janus REST API (the HTTP transport) the Echo Test needs: sessions,
 * plugin handles, messages with a JSEP, keepalives, and the per-session long poll that
 * carries every asynchronous event (the answer, `webrtcup`, `media`, `hangup`…).
 * https://janus.conf.meetecho.com/docs/rest.html
 */
import { randomBytes } from 'node:crypto';

/** What Janus sends: replies (`success`, `ack`, `error`) and events, all with a `janus` verb. */
export interface JanusMessage {
  janus: string;
  transaction?: string;
  session_id?: number;
  /** The handle an event is about. */
  sender?: number;
  data?: { id?: number };
  error?: { code: number; reason: string };
  plugindata?: { plugin: string; data: Record<string, unknown> };
  jsep?: { type: string; sdp: string };
  /** `hangup`: why the PeerConnection went away ("DTLS alert", "ICE failed"…). */
  reason?: string;
  /** `media`: which kind, and whether Janus still receives it. */
  type?: string;
  mid?: string;
  receiving?: boolean;
}

/** The fields of `GET /janus/info` worth logging. */
export interface JanusInfo {
  version_string?: string;
  data_channels?: boolean;
  'full-trickle'?: boolean;
  plugins?: Record<string, unknown>;
  dependencies?: Record<string, string>;
}

export class JanusError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = 'JanusError';
  }
}

/** One request may take this long (Janus answers requests at once; only the long poll waits). */
const REQUEST_TIMEOUT_MS = 10_000;
/** Janus holds a long poll for up to 30 s, then answers `keepalive`. */
const POLL_TIMEOUT_MS = 40_000;

export class JanusApi {
  /** `base`: the REST root, e.g. http://127.0.0.1:8088/janus */
  constructor(readonly base: string) {}

  async request(path: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<JanusMessage> {
    const transaction = randomBytes(6).toString('hex');
    const response = await fetch(`${this.base}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...body, transaction }),
      signal: signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const reply = (await response.json()) as JanusMessage;
    if (reply.janus === 'error') throw new JanusError(`${body.janus}: ${reply.error?.reason ?? 'error'}`, reply.error?.code);
    return reply;
  }

  async createSession(): Promise<JanusSession> {
    const reply = await this.request('', { janus: 'create' });
    if (reply.janus !== 'success' || typeof reply.data?.id !== 'number') throw new JanusError(`create: unexpected reply ${reply.janus}`);
    return new JanusSession(this, reply.data.id);
  }

  /** Resolves with Janus's `info` once the REST API answers (Janus is up), or rejects after `ms`. */
  async waitUntilUp(ms: number, alive: () => boolean): Promise<JanusInfo> {
    const deadline = Date.now() + ms;
    let last = '';
    while (Date.now() < deadline && alive()) {
      try {
        const response = await fetch(`${this.base}/info`, { signal: AbortSignal.timeout(1_000) });
        if (response.ok) return (await response.json()) as JanusInfo;
        last = `HTTP ${response.status}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new JanusError(alive() ? `the Janus REST API did not answer within ${ms} ms (${last})` : 'janus exited');
  }
}

/**
 * One Janus session: its long poll runs from creation to `destroy()` and hands every event
 * to `onEvent`. Janus ends a session that sends nothing for its session_timeout, so this
 * sends a keepalive every 15 s (a long poll alone counts too, but says nothing if it hangs).
 */
export class JanusSession {
  onEvent: (event: JanusMessage) => void = () => undefined;
  /** Called once when the long poll learns the session is gone (destroyed, timed out). */
  onGone: (why: string) => void = () => undefined;
  private readonly abort = new AbortController();
  private readonly keepalive: NodeJS.Timeout;
  private destroyed = false;

  constructor(
    private readonly api: JanusApi,
    readonly id: number,
  ) {
    this.keepalive = setInterval(() => void this.send({ janus: 'keepalive' }).catch(() => undefined), 15_000);
    this.keepalive.unref();
    void this.poll();
  }

  async attach(plugin: string): Promise<number> {
    const reply = await this.send({ janus: 'attach', plugin });
    if (reply.janus !== 'success' || typeof reply.data?.id !== 'number') throw new JanusError(`attach: unexpected reply ${reply.janus}`);
    return reply.data.id;
  }

  /** A plugin message; the plugin's reply (and any JSEP) comes later as an event. */
  async message(handle: number, body: Record<string, unknown>, jsep?: { type: string; sdp: string }): Promise<void> {
    const reply = await this.send({ janus: 'message', body, ...(jsep ? { jsep } : {}) }, `/${handle}`);
    if (reply.janus !== 'ack' && reply.janus !== 'success') throw new JanusError(`message: unexpected reply ${reply.janus}`);
  }

  /** Destroys the session (Janus hangs up and detaches its handles). Idempotent, never throws. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    clearInterval(this.keepalive);
    try {
      await this.api.request(`/${this.id}`, { janus: 'destroy' });
    } catch {
      // already gone (timed out, or Janus stopped)
    }
    this.abort.abort();
  }

  private send(body: Record<string, unknown>, handlePath = ''): Promise<JanusMessage> {
    return this.api.request(`/${this.id}${handlePath}`, body);
  }

  private async poll(): Promise<void> {
    while (!this.destroyed) {
      let events: JanusMessage[];
      try {
        const response = await fetch(`${this.api.base}/${this.id}?maxev=10&rid=${Date.now()}`, {
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(POLL_TIMEOUT_MS)]),
        });
        const body = (await response.json()) as JanusMessage | JanusMessage[];
        events = Array.isArray(body) ? body : [body];
      } catch (err) {
        if (this.destroyed) return;
        if ((err as Error).name === 'TimeoutError') continue;
        this.gone(`long poll failed: ${(err as Error).message}`);
        return;
      }
      for (const event of events) {
        if (event.janus === 'error') return this.gone(`long poll: ${event.error?.reason ?? 'error'}`);
        if (event.janus === 'timeout') return this.gone('Janus timed the session out');
        if (event.janus !== 'keepalive') this.onEvent(event);
      }
    }
  }

  private gone(why: string): void {
    if (this.destroyed) return;
    this.destroyed = true;
    clearInterval(this.keepalive);
    this.onGone(why);
  }
}
