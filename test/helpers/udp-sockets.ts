/** Which process owns which UDP port, from /proc (Linux): /proc/net/udp{,6} and /proc/PID/fd. */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** The process and its descendants (`serve --workers` holds its sockets in child processes). */
function processTree(pid: number): number[] {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    try {
      for (const task of readdirSync(`/proc/${tree[i]}/task`)) {
        const children = readFileSync(`/proc/${tree[i]}/task/${task}/children`, 'utf8').trim();
        if (children) tree.push(...children.split(/\s+/).map(Number));
      }
    } catch {
      // gone meanwhile
    }
  }
  return tree;
}

/** The local ports of the UDP sockets that process `pid`, or one of its descendants, holds open. */
export function udpPortsOf(pid: number): Set<number> {
  const inodes = new Set<string>();
  for (const owner of processTree(pid)) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${owner}/fd`);
    } catch {
      continue; // gone meanwhile
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${owner}/fd/${fd}`);
        const match = /^socket:\[(\d+)\]$/.exec(target);
        if (match) inodes.add(match[1]!);
      } catch {
        // closed meanwhile
      }
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const port = Number.parseInt(fields[1]!.split(':')[1]!, 16);
      if (inodes.has(fields[9]!)) ports.add(port);
    }
  }
  return ports;
}
