/** The steps of one client run, in the order they happen, each as ms since the run started. */
export const STEPS = ['offerReady', 'answerReceived', 'iceConnected', 'connected', 'channelOpen', 'firstEcho', 'closed'] as const;
export type Step = (typeof STEPS)[number];
export type Timings = Partial<Record<Step, number>>;

export const STEP_LABELS: Record<Step, string> = {
  offerReady: 'offer ready',
  answerReceived: 'answer received',
  iceConnected: 'ICE connected',
  connected: 'connected',
  channelOpen: 'channel open',
  firstEcho: 'first echo',
  closed: 'closed',
};

export class Stopwatch {
  readonly timings: Timings = {};
  private readonly start = performance.now();

  /** Records a step once; later marks of the same step are ignored. */
  mark(step: Step): void {
    if (this.timings[step] === undefined) this.timings[step] = round(performance.now() - this.start);
  }

  /** Forgets every step (a retried connection starts its steps again; times stay from the start). */
  clear(): void {
    for (const step of STEPS) delete this.timings[step];
  }

  elapsed(): number {
    return performance.now() - this.start;
  }
}

export function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
