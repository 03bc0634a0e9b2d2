import { ClientError } from './client-error.js';

/**
 * One deadline for a whole client run: every wait races it, so no step can hang the run,
 * and the abort signal stops the HTTP request too.
 */
export class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly expired: Promise<never>;
  private currentStep = 'start';
  private readonly endsAt: number;

  constructor(readonly ms: number) {
    this.expired = new Promise<never>((_, reject) => {
      this.controller.signal.addEventListener('abort', () => reject(ClientError.timeout(this.currentStep, ms)), { once: true });
    });
    this.expired.catch(() => {}); // observed through race(); avoid an unhandled rejection when nobody waits
    this.timer = setTimeout(() => this.controller.abort(), ms);
    this.endsAt = performance.now() + ms;
  }

  /** ms left until it expires (0 once it has). */
  get remainingMs(): number {
    return Math.max(0, this.endsAt - performance.now());
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Waits for `promise`, or rejects with a timeout that names `step`. */
  race<T>(step: string, promise: Promise<T>): Promise<T> {
    this.currentStep = step;
    return Promise.race([promise, this.expired]);
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}
