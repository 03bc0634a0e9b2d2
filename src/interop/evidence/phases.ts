/**
 * A run's phase timings, the four steps where stacks differ most: the POST of the offer, ICE
 * connected, DTLS connected, the first echo. Each says where it comes from, or that it is
 * unknown and why (a client that prints no timings still runs; its phases are then unknown).
 *
 * Clocks: `atMs` is ms since the client started, by the client's own clock where it reports
 * the step (ours, the browsers' page, and the contract's `<step>_ms N` lines); for the POST,
 * the proxy's record gives how long the server took to answer (`tookMs`), and `atMs` comes
 * from the proxy (ms since the client's process was spawned) when the client says nothing.
 */
import type { Exchange } from './signaling-proxy.js';

export const PHASE_NAMES = ['post', 'ice-connected', 'dtls-connected', 'first-echo'] as const;
export type PhaseName = (typeof PHASE_NAMES)[number];

export const PHASE_LABELS: Record<PhaseName, string> = {
  post: 'POST /offer answered',
  'ice-connected': 'ICE connected',
  'dtls-connected': 'DTLS connected',
  'first-echo': 'first echo',
};

export interface Phase {
  name: PhaseName;
  /** When it happened, ms since the client started; undefined when unknown. */
  atMs?: number;
  /** How long it took: the HTTP exchange for the POST, else since the phase before it (when both are known). */
  tookMs?: number;
  /** Where the numbers come from, or why there are none. */
  source: string;
}

/** The client step (src/client/timings.ts names) each phase is read from. */
const CLIENT_STEP: Record<Exclude<PhaseName, 'post'>, string> = {
  'ice-connected': 'iceConnected',
  'dtls-connected': 'connected',
  'first-echo': 'firstEcho',
};

/** What each phase is called in the contract's timing lines, for the "unknown" note. */
const CONTRACT_LINE: Record<PhaseName, string> = {
  post: 'answer_ms',
  'ice-connected': 'ice_connected_ms',
  'dtls-connected': 'connected_ms',
  'first-echo': 'first_echo_ms (test 0) or dc_echo_ms (test 1)',
};

export function phasesOf(clientTimings: Record<string, number>, exchanges: readonly Exchange[] | undefined, clientStartedAt: number | undefined): Phase[] {
  const post = exchanges?.find((e) => e.method === 'POST');
  const phases: Phase[] = [];
  const answered = clientTimings.answerReceived;
  if (post && post.status !== null) {
    const took = round(post.endedAt - post.startedAt);
    if (answered !== undefined) phases.push({ name: 'post', atMs: answered, tookMs: took, source: 'client (when), signaling proxy (how long the server took)' });
    else if (clientStartedAt !== undefined) phases.push({ name: 'post', atMs: round(post.endedAt - clientStartedAt), tookMs: took, source: "signaling proxy (ms since the client's process started)" });
    else phases.push({ name: 'post', tookMs: took, source: 'signaling proxy' });
  } else if (answered !== undefined) {
    phases.push({ name: 'post', atMs: answered, source: 'client' });
  } else {
    phases.push({ name: 'post', source: post?.error ? `unknown: ${post.error}` : exchanges ? 'unknown: the client POSTed no offer' : `unknown: no proxy record and no ${CONTRACT_LINE.post} from the client` });
  }
  for (const name of ['ice-connected', 'dtls-connected', 'first-echo'] as const) {
    const at = clientTimings[CLIENT_STEP[name]];
    phases.push(at === undefined ? { name, source: `unknown: the client reported no ${CONTRACT_LINE[name]}` } : { name, atMs: at, source: 'client' });
  }
  // How long each took since the one before, where both are known.
  for (let i = 1; i < phases.length; i++) {
    const [before, phase] = [phases[i - 1]!, phases[i]!];
    if (phase.atMs !== undefined && before.atMs !== undefined && phase.tookMs === undefined) phase.tookMs = round(phase.atMs - before.atMs);
  }
  return phases;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
