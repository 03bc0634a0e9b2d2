import { readdirSync, readFileSync } from 'node:fs';

/** What a process holds now, from /proc: open fds, threads, resident memory. */
export interface ProcessCost {
  fds: number;
  threads: number;
  rssKiB: number;
}

export function processCost(pid: number): ProcessCost {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    fds: readdirSync(`/proc/${pid}/fd`).length,
    threads: Number(/^Threads:\s+(\d+)/m.exec(status)?.[1]),
    rssKiB: Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1]),
  };
}
