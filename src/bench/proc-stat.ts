/**
 * CPU time and memory of any process on this machine, read from /proc (Linux only), so the
 * server under test can be measured whatever language it is written in.
 */
import { readFileSync } from 'node:fs';

/** USER_HZ: /proc reports CPU time in clock ticks; 100 on every Linux we run on. */
const TICKS_PER_SECOND = 100;

export interface ProcSnapshot {
  /** user + system CPU seconds of the whole process (every thread). */
  cpuSeconds: number;
  /** CPU seconds of the main thread alone: for Node, the event loop's thread. */
  mainThreadCpuSeconds: number;
  rssBytes: number;
  threads: number;
}

export function readProc(pid: number): ProcSnapshot | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return {
      cpuSeconds: cpuSecondsOf(readFileSync(`/proc/${pid}/stat`, 'utf8')),
      mainThreadCpuSeconds: cpuSecondsOf(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8')),
      rssBytes: kilobytesField(status, 'VmRSS') * 1024,
      threads: kilobytesField(status, 'Threads'),
    };
  } catch {
    return undefined; // the process is gone, or this is not Linux
  }
}

/** Fields 14 and 15 (utime, stime), counted after the command name, which may hold spaces. */
function cpuSecondsOf(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function kilobytesField(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status);
  return match ? Number(match[1]) : 0;
}
