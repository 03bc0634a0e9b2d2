/**
 * CPU time and memory of any process on this machine, read from /proc (Linux only), so the
 * server under test can be measured whatever language it is written in: every thread of it
 * (/proc/<pid>/task/*), and its child processes (a server with several worker processes).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: /proc reports CPU time in clock ticks; 100 on every Linux we run on. */
const TICKS_PER_SECOND = 100;

export interface ThreadSnapshot {
  tid: number;
  /** The thread's name (comm): `node`, `libuv-worker`, `juice`… as the program named it. */
  name: string;
  cpuSeconds: number;
}

export interface ProcSnapshot {
  /** user + system CPU seconds of the whole process (every thread), plus its live descendants' when asked. */
  cpuSeconds: number;
  /** CPU seconds of the main thread alone: for Node, the event loop's thread. */
  mainThreadCpuSeconds: number;
  rssBytes: number;
  threads: number;
  /** Processes counted: 1, or more with descendants. */
  processes: number;
  /** Main-thread CPU seconds of each process counted, by pid (a Node worker's event loop). */
  mainThreads: Record<number, number>;
}

export interface ReadOptions {
  /** Also count every live descendant process (CPU and RSS summed). */
  tree?: boolean;
}

export function readProc(pid: number, options: ReadOptions = {}): ProcSnapshot | undefined {
  const own = readOne(pid);
  if (!own || !options.tree) return own;
  for (const child of descendants(pid)) {
    const snap = readOne(child);
    if (!snap) continue;
    own.cpuSeconds += snap.cpuSeconds;
    own.rssBytes += snap.rssBytes;
    own.threads += snap.threads;
    own.processes++;
    Object.assign(own.mainThreads, snap.mainThreads);
  }
  return own;
}

function readOne(pid: number): ProcSnapshot | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const mainThreadCpuSeconds = cpuSecondsOf(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'));
    return {
      cpuSeconds: cpuSecondsOf(readFileSync(`/proc/${pid}/stat`, 'utf8')),
      mainThreadCpuSeconds,
      rssBytes: kilobytesField(status, 'VmRSS') * 1024,
      threads: kilobytesField(status, 'Threads'),
      processes: 1,
      mainThreads: { [pid]: mainThreadCpuSeconds },
    };
  } catch {
    return undefined; // the process is gone, or this is not Linux
  }
}

/** Every thread of a process with its CPU time so far. */
export function readThreads(pid: number): ThreadSnapshot[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: ThreadSnapshot[] = [];
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      out.push({ tid: Number(tid), name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), cpuSeconds: cpuSecondsOf(stat) });
    } catch {
      /* the thread ended */
    }
  }
  return out;
}

/** Live descendants of `pid`, found through each process's parent in /proc/<pid>/stat. */
export function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const wanted = new Set([pid]);
  // Parents usually have lower pids, but pids wrap: repeat until nothing new is found.
  for (let grew = true; grew; ) {
    grew = false;
    for (const [child, parent] of parentOf) {
      if (wanted.has(parent) && !wanted.has(child)) {
        wanted.add(child);
        out.push(child);
        grew = true;
      }
    }
  }
  return out;
}

/** The whole machine: CPU seconds busy and in total (every core), from /proc/stat. */
export function readMachine(): { busySeconds: number; totalSeconds: number; cores: number } | undefined {
  try {
    const lines = readFileSync('/proc/stat', 'utf8').split('\n');
    const fields = lines[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    const busy = user + nice + system + irq + softirq + steal;
    return { busySeconds: busy / TICKS_PER_SECOND, totalSeconds: (busy + idle + iowait) / TICKS_PER_SECOND, cores: lines.filter((l) => /^cpu\d/.test(l)).length };
  } catch {
    return undefined;
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
