/**
 * The Data Channel Echo Test (test type 1), run continuously: once a second send a short
 * random string and expect the identical string back on the same channel.
 */

export type DataCheckStatus = 'waiting' | 'pass' | 'fail';

export interface DataCheckResult {
  status: DataCheckStatus;
  sent: number;
  echoed: number;
  /** Strings that came back different, or not within `lostAfterMs`. */
  failed: number;
  lastRttMs: number | null;
  /** Milliseconds since the run started when the first echo arrived. */
  firstEchoAt: number | null;
  lastProblem: string | null;
}

export interface DataCheckOptions {
  intervalMs: number;
  /** A string not back after this long counts as lost. */
  lostAfterMs: number;
  /** performance.now() at the start of the run. */
  startedAt: number;
  onChange(result: DataCheckResult): void;
}

export class DataChannelCheck {
  readonly result: DataCheckResult = {
    status: 'waiting',
    sent: 0,
    echoed: 0,
    failed: 0,
    lastRttMs: null,
    firstEchoAt: null,
    lastProblem: null,
  };
  private readonly pending = new Map<string, number>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly channel: RTCDataChannel,
    private readonly options: DataCheckOptions,
  ) {
    channel.addEventListener('message', (event: MessageEvent) => this.received(event.data));
    channel.addEventListener('open', () => this.begin());
    if (channel.readyState === 'open') this.begin();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private begin(): void {
    if (this.timer !== undefined) return;
    this.send();
    this.timer = setInterval(() => this.send(), this.options.intervalMs);
  }

  private send(): void {
    this.expireLost();
    if (this.channel.readyState !== 'open') return;
    const token = randomToken();
    this.pending.set(token, performance.now());
    this.channel.send(token);
    this.result.sent++;
    this.options.onChange(this.result);
  }

  private received(data: unknown): void {
    const text = typeof data === 'string' ? data : '(binary message)';
    const sentAt = this.pending.get(text);
    if (sentAt === undefined) {
      this.fail(`got ${JSON.stringify(text.slice(0, 40))}, which we never sent`);
      return;
    }
    this.pending.delete(text);
    const now = performance.now();
    this.result.echoed++;
    this.result.lastRttMs = now - sentAt;
    this.result.firstEchoAt ??= now - this.options.startedAt;
    this.result.status = 'pass';
    this.options.onChange(this.result);
  }

  private expireLost(): void {
    const now = performance.now();
    for (const [token, sentAt] of this.pending) {
      if (now - sentAt > this.options.lostAfterMs) {
        this.pending.delete(token);
        this.fail(`"${token}" was not echoed within ${this.options.lostAfterMs / 1000} s`);
      }
    }
  }

  private fail(problem: string): void {
    this.result.failed++;
    this.result.lastProblem = problem;
    this.result.status = 'fail';
    this.options.onChange(this.result);
  }
}

/** Eight characters from a-z0-9: short like the suite's strings, unlikely to repeat. */
function randomToken(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}
