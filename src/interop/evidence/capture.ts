/**
 * `--capture`: a pcapng of one run's traffic, with the DTLS keys that decrypt it.
 *
 * Where: a run captures inside a network of its own, so the file holds that run's packets and
 * nobody else's (this machine's loopback carries other cells and other people's tests). On the
 * direct network a captured run gets a namespace with loopback and one private address (peers
 * that leave 127.0.0.1 out of their candidates gather that one; its traffic still goes over the
 * namespace's loopback); on nat, relay and server-nat the capture runs on the server's host,
 * which every packet of the run passes (TURN included). dumpcap (Debian `tshark`) captures on
 * `any`, so loopback and veths are both in.
 *
 * Keys: server and client get `SSLKEYLOGFILE` in their environment, each its own file, and a
 * stack that can write NSS key log lines (`CLIENT_RANDOM <client random> <master secret>`)
 * does. Both files are kept as keys.log beside capture.pcapng, and tshark checks that the
 * handshake's Finished messages decrypt with it (`-o tls.keylog_file:keys.log`, the way a
 * reader opens it; `editcap --inject-secrets tls,keys.log` makes one self-decrypting file).
 * DTLS keys open the handshake and the data channels' SCTP; SRTP keys are exported from the
 * handshake (RFC 5764 §4.2) and no capture tool derives them, so media stays encrypted.
 */
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Site } from '../peer.js';
import { startIn } from '../adapters/spawn-peer.js';
import type { PeerProcess } from '../process.js';
import { DIRECT } from '../../net/namespaces.js';

const run = promisify(execFile);
const CAPTURE_READY_MS = 10_000;
/** The captured direct network's one address that is not loopback (its namespace's own). */
const CAPTURE_ADDRESS = '10.79.0.1';

export const CAPTURE_FILE = 'capture.pcapng';
export const KEYS_FILE = 'keys.log';
export const KEY_FILES = { server: 'keys-server.log', client: 'keys-client.log' } as const;

export interface KeySide {
  /** `CLIENT_RANDOM` lines its stack wrote. */
  lines: number;
  note: string;
}

export interface CaptureEvidence {
  /** Set when there is a capture; a file name in the run's directory. */
  file?: string;
  packets?: number;
  keys?: { server: KeySide; client: KeySide };
  /** What tshark made of the capture with the keys. */
  decrypted?: { ok: boolean; detail: string };
  /** Why there is no capture, or what is missing from it. */
  note?: string;
}

let unavailable: Promise<string | undefined> | undefined;

/** Why this machine cannot capture, or undefined (asked once per process: every run asks). */
export function captureUnavailable(): Promise<string | undefined> {
  return (unavailable ??= findWhyUnavailable());
}

async function findWhyUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (a network namespace per captured run, and dumpcap)';
  for (const [command, args] of [['dumpcap', ['-v']], ['tshark', ['-v']], ['ip', ['netns', 'list']]] as const) {
    try {
      await run(command, [...args], { timeout: 10_000 });
    } catch (err) {
      return `${command} is unavailable (apt-get install -y tshark iproute2): ${(err as Error).message.split('\n')[0]}`;
    }
  }
  return undefined;
}

/**
 * The direct network in a namespace of its own, for a captured run: server and client on a
 * veth's private address (with the default route, which Chromium needs to gather at all).
 */
export async function isolatedDirectSite(tag: string): Promise<Site> {
  const ns = `we-${tag}-d`;
  const ip = (...args: string[]) => run('ip', args, { timeout: 5_000 });
  const remove = async () => {
    await ip('netns', 'del', ns).catch(() => undefined);
  };
  try {
    await ip('netns', 'add', ns);
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    // A veth pair with both ends inside (this kernel may have no `dummy` module): an address that is not loopback.
    await ip('-n', ns, 'link', 'add', 'echo0', 'type', 'veth', 'peer', 'name', 'echo1');
    await ip('-n', ns, 'addr', 'add', `${CAPTURE_ADDRESS}/24`, 'dev', 'echo0');
    await ip('-n', ns, 'link', 'set', 'echo1', 'up');
    await ip('-n', ns, 'link', 'set', 'echo0', 'up');
    await ip('-n', ns, 'route', 'add', 'default', 'dev', 'echo0');
    // UDP over 127.0.0.1 is dropped on its way in (a lost packet to the sender), so every candidate
    // pair is 10.79.0.1 both ways. Otherwise a stack that gathers loopback (pion) and one that
    // does not can each send on a different pair, a handshake's two directions become two UDP
    // conversations, and tshark, which decrypts a DTLS session within one, decrypts nothing.
    await nftIn(ns, 'table inet capture {\n  chain input {\n    type filter hook input priority 0;\n    ip saddr 127.0.0.0/8 meta l4proto udp drop\n  }\n}\n');
  } catch (err) {
    await remove();
    throw err;
  }
  const exec = ['ip', 'netns', 'exec', ns];
  // The server at 10.79.0.1, not 127.0.0.1: a server or client on loopback keeps its ICE on
  // loopback (serve --ice-addresses), whose UDP is dropped here. The namespace is the run's own.
  return { ...DIRECT, serverListen: CAPTURE_ADDRESS, serverHost: CAPTURE_ADDRESS, serveArgs: [], clientExec: exec, serverExec: exec, remove };
}

function nftIn(namespace: string, ruleset: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile('ip', ['netns', 'exec', namespace, 'nft', '-f', '-'], { timeout: 5_000 }, (err) => (err ? reject(err) : resolve()));
    child.stdin?.end(ruleset);
  });
}

/** Starts dumpcap on every interface of the server's host; resolves once it captures. The caller stops it. */
export async function startCapture(site: Site, file: string): Promise<PeerProcess> {
  const dumpcap = startIn(site.serverExec, 'dumpcap', ['-i', 'any', '-w', file], { cwd: '/' });
  try {
    await dumpcap.waitFor(/^File: /m, CAPTURE_READY_MS);
  } catch (err) {
    await dumpcap.stop();
    throw new Error(`dumpcap did not start: ${(err as Error).message}: ${dumpcap.stderr().trim().slice(-300)}`);
  }
  return dumpcap;
}

/** Who wrote keys, and why someone did not (from the peers' own notes, where they have one). */
export interface KeyNotes {
  server: { name: string; keyLog?: { writes: boolean; note: string } };
  client: { name: string; keyLog?: { writes: boolean; note: string } };
}

/**
 * After a captured run (dumpcap stopped, its file is `file` in `dir`): keys.log from both
 * sides' files, and tshark's verdict on decrypting the capture with it.
 */
export async function finishCapture(dir: string, file: string, peers: KeyNotes, connected: boolean): Promise<CaptureEvidence> {
  const sides = await Promise.all(
    (['server', 'client'] as const).map(async (role) => {
      const text = await readFile(join(dir, KEY_FILES[role]), 'utf8').catch(() => '');
      return text.split('\n').filter((line) => /^CLIENT_RANDOM [0-9a-f]+ [0-9a-f]+$/i.test(line.trim()));
    }),
  );
  const [serverLines, clientLines] = sides as [string[], string[]];
  const keys = { server: keySide('server', serverLines.length, peers.server, connected), client: keySide('client', clientLines.length, peers.client, connected) };
  await Promise.all(Object.values(KEY_FILES).map((name) => rm(join(dir, name), { force: true })));
  const lines = [...new Set([...serverLines, ...clientLines].map((l) => l.trim()))];
  if (lines.length > 0) await writeFile(join(dir, KEYS_FILE), `${lines.join('\n')}\n`);
  const packets = await countPackets(file);
  const decrypted = lines.length > 0 ? await checkDecryption(file, join(dir, KEYS_FILE)) : { ok: false, detail: 'no keys: neither side wrote any, so the DTLS stays encrypted' };
  return { file: CAPTURE_FILE, packets, keys, decrypted };
}

function keySide(role: 'server' | 'client', lines: number, peer: KeyNotes['server'], connected: boolean): KeySide {
  if (lines > 0) return { lines, note: `the ${peer.name} ${role} wrote ${lines} key${lines > 1 ? 's' : ''}` };
  if (peer.keyLog && !peer.keyLog.writes) return { lines, note: `the ${peer.name} ${role} cannot: ${peer.keyLog.note}` };
  if (!connected) return { lines, note: `the ${peer.name} ${role} wrote none (the connection did not complete)` };
  return { lines, note: `the ${peer.name} ${role} wrote none: its stack ignores SSLKEYLOGFILE, or gives no keys` };
}

async function countPackets(file: string): Promise<number | undefined> {
  try {
    const { stdout } = await run('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.number'], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
    return stdout.split('\n').filter(Boolean).length;
  } catch {
    return undefined;
  }
}

/**
 * Decrypted DTLS shows as Finished handshake messages (type 20), which without keys are only
 * "Encrypted Handshake Message", and as application data in plain: the data channel's SCTP
 * (tshark 4.0 leaves it as bytes: SCTP common headers, ports 5000 on both sides as the SDP's
 * a=sctp-port has it).
 */
export async function checkDecryption(file: string, keys: string): Promise<{ ok: boolean; detail: string }> {
  try {
    const { stdout } = await run('tshark', ['-r', file, '-o', `tls.keylog_file:${keys}`, '-Y', 'dtls', '-T', 'fields', '-e', 'dtls.handshake.type', '-e', 'data.data', '-e', 'udp.stream'], {
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    const rows = stdout.split('\n').filter(Boolean).map((line) => line.split('\t'));
    const finished = rows.filter(([types]) => (types ?? '').split(',').includes('20')).length;
    const plain = rows.filter(([, data]) => data).length;
    if (rows.length === 0) return { ok: false, detail: 'tshark found no DTLS in the capture' };
    if (finished === 0) {
      const streamsOf = (type: string) => new Set(rows.filter(([types]) => (types ?? '').split(',').includes(type)).map(([, , stream]) => stream));
      const [hellos, serverHellos] = [streamsOf('1'), streamsOf('2')];
      const split = hellos.size > 0 && serverHellos.size > 0 && ![...hellos].some((s) => serverHellos.has(s));
      const why = split
        ? "the handshake's two directions are two UDP conversations (each side sent on its own candidate pair), and tshark decrypts a DTLS session within one"
        : 'the keys do not match this handshake';
      return { ok: false, detail: `tshark found ${rows.length} DTLS records and decrypted no Finished message: ${why}` };
    }
    const data = plain ? ` and ${plain} application data record${plain > 1 ? 's' : ''} (the data channel's SCTP, in plain)` : '';
    return { ok: true, detail: `tshark decrypted ${finished} Finished message${finished > 1 ? 's' : ''}${data}, of ${rows.length} DTLS records` };
  } catch (err) {
    return { ok: false, detail: `tshark failed: ${(err as Error).message.split('\n')[0]}` };
  }
}
