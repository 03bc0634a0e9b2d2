/**
 * Whether the sessions a process may hold fit its file-descriptor limit. A stack that runs out of
 * descriptors does not refuse the next session cleanly: libwebrtc's libevent aborts the whole
 * process ("Too many open files", seen with `--max-sessions 5000`). So `serve` says so at start.
 */
import { readFileSync } from 'node:fs';

/** What one session may hold at worst, in descriptors (an engine's measured budget). */
export interface DescriptorBudget {
  readonly fdsPerSession: number;
}

/** The soft limit on open files of this process (Linux /proc/self/limits), or undefined where it cannot be read or is unlimited. */
export function openFileLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1];
  const value = Number(soft);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

export interface DescriptorShortfall {
  /** Sessions one process may hold. */
  sessionsPerProcess: number;
  /** Their worst case in descriptors (the engine's measured budget). */
  worstCaseFds: number;
  limit: number;
  /** How many sessions fit that limit, at the worst case. */
  sessionsThatFit: number;
}

/**
 * The shortfall when `maxSessions` spread over `processes` can need more descriptors than one
 * process may open, or undefined when they fit (or the limit is unknown). Sessions go to the
 * least-loaded worker, so each holds about maxSessions / processes.
 */
export function descriptorShortfall(budget: DescriptorBudget, maxSessions: number, processes: number, limit: number | undefined): DescriptorShortfall | undefined {
  if (limit === undefined) return undefined;
  const sessionsPerProcess = Math.ceil(maxSessions / Math.max(1, processes));
  const worstCaseFds = sessionsPerProcess * budget.fdsPerSession;
  if (worstCaseFds <= limit) return undefined;
  return { sessionsPerProcess, worstCaseFds, limit, sessionsThatFit: Math.floor(limit / budget.fdsPerSession) };
}
