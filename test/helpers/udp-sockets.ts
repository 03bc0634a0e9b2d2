/** Which process owns which UDP port, from /proc (Linux): /proc/net/udp{,6} and /proc/PID/fd. */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** The local ports of the UDP sockets that process `pid` holds open. */
export function udpPortsOf(pid: number): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match) inodes.add(match[1]!);
    } catch {
      // closed meanwhile
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
