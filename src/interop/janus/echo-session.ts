/**
 * One Echo Test session on Janus: a Janus session with one janus.plugin.echotest handle
 * that answers the client's offer and echoes what it sends (RTP and RTCP as they come;
 * data channel text with a prefix of its own, binary unchanged: janus_echotest.c,
 * janus_echotest_incoming_data). Released on every path: Janus hangs up (DTLS alert, ICE
 * failed), the media stops for 5 s, it never connects within `connectTimeoutMs`, or the
 * adapter shuts down.
 */
import { JanusError, type JanusApi, type JanusMessage, type JanusSession } from './api.js';

export const ECHOTEST = 'janus.plugin.echotest';

export interface EchoSessionOptions {
  /** Released when Janus has not said `webrtcup` this long after the answer. */
  connectTimeoutMs: number;
  /** Released this long after the answer whatever happens: a client that leaves without a DTLS
   * alert (a libdatachannel client sends none) leaves Janus a data-only session it never ends. */
  maxLifetimeMs: number;
  /** Janus should answer within this long (it waits for its own ICE gathering first). */
  answerTimeoutMs: number;
  log: (line: string) => void;
  onClosed: (session: EchoSession) => void;
}

/** Media stopped (Janus's `media` events, `receiving: false`) this long closes a session. */
const MEDIA_STOPPED_MS = 5_000;

export class EchoSession {
  private janus?: JanusSession;
  private closed = false;
  private connectTimer?: NodeJS.Timeout;
  private lifetimeTimer?: NodeJS.Timeout;
  private stoppedTimer?: NodeJS.Timeout;
  /** mid (or kind) → whether Janus still receives it. */
  private readonly receiving = new Map<string, boolean>();
  private readonly started = performance.now();

  constructor(
    readonly id: number,
    private readonly options: EchoSessionOptions,
  ) {}

  /** Answers the offer (every candidate inside). Closes the session itself when it fails. */
  async answer(api: JanusApi, offer: { type: 'offer'; sdp: string }): Promise<{ type: 'answer'; sdp: string }> {
    try {
      this.janus = await api.createSession();
      const handle = await this.janus.attach(ECHOTEST);
      const answered = new Promise<{ type: 'answer'; sdp: string }>((resolve, reject) => {
        this.janus!.onEvent = (event) => {
          if (event.sender !== handle) return;
          const data = event.plugindata?.data;
          if (event.janus === 'event' && data && typeof data.error === 'string') reject(new JanusError(`echotest: ${data.error}`, Number(data.error_code)));
          else if (event.jsep?.type === 'answer') resolve({ type: 'answer', sdp: event.jsep.sdp });
          this.watch(event);
        };
        this.janus!.onGone = (why) => {
          reject(new JanusError(why));
          void this.close(why);
        };
      });
      // audio/video: echo both (the plugin's defaults, said anyway). Data channels need no
      // flag: the plugin takes them from the offer's m=application section.
      await this.janus.message(handle, { audio: true, video: true }, offer);
      const answer = await withTimeout(answered, this.options.answerTimeoutMs, 'no answer from janus.plugin.echotest');
      this.options.log(`session ${this.id} answer_ms ${Math.round(performance.now() - this.started)}`);
      this.connectTimer = setTimeout(() => void this.close(`not connected ${this.options.connectTimeoutMs / 1000} s after the answer`), this.options.connectTimeoutMs);
      this.lifetimeTimer = setTimeout(() => void this.close(`reached the maximum lifetime, ${this.options.maxLifetimeMs / 1000} s`), this.options.maxLifetimeMs);
      this.lifetimeTimer.unref();
      return answer;
    } catch (err) {
      await this.close(`no answer: ${(err as Error).message}`);
      throw err;
    }
  }

  /** Idempotent, never throws. */
  async close(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.connectTimer);
    clearTimeout(this.stoppedTimer);
    clearTimeout(this.lifetimeTimer);
    await this.janus?.destroy();
    this.options.log(`session ${this.id} closed: ${reason}`);
    this.options.onClosed(this);
  }

  private watch(event: JanusMessage): void {
    switch (event.janus) {
      case 'webrtcup':
        clearTimeout(this.connectTimer);
        this.options.log(`session ${this.id} connected_ms ${Math.round(performance.now() - this.started)}`);
        break;
      case 'hangup':
        void this.close(`Janus hung up: ${event.reason ?? 'no reason given'}`);
        break;
      case 'detached':
        void this.close('the echotest handle was detached');
        break;
      case 'media': {
        this.receiving.set(event.mid ?? event.type ?? '?', event.receiving === true);
        const anyReceiving = [...this.receiving.values()].some(Boolean);
        clearTimeout(this.stoppedTimer);
        if (!anyReceiving) this.stoppedTimer = setTimeout(() => void this.close(`no media for ${MEDIA_STOPPED_MS / 1000} s`), MEDIA_STOPPED_MS);
        break;
      }
      default:
        break;
    }
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new JanusError(`${message} within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
