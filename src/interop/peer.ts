/**
 * One interop peer: a WebRTC stack that can play the Echo Test server, the client, or both.
 * Ours (one per engine in the registry) and foreign ones (pion, aiortc, GStreamer, Chromium)
 * look the same to the matrix: detect, start a server on a port, run a client against a URL.
 */
import type { SubCheck } from '../client/sub-checks.js';
import type { NetworkName, Topology } from '../net/namespaces.js';
import type { PeerProcess } from './process.js';

export type TestType = 0 | 1;
export const TEST_TYPES: readonly TestType[] = [0, 1];
export const TEST_NAMES: Record<TestType, string> = {
  0: 'Peer Connection Test (media echo where the client checks it)',
  1: 'Data Channel Echo Test',
};

export type Availability = { available: true; version?: string } | { available: false; reason: string; install: string };

/** What a server asks of the clients driven against it, for faults of its own we work around. */
export interface ServerQuirks {
  /** Clients should offer video only (aiortc 1.4 mixes up header-extension ids when audio and video are bundled). */
  videoOnly?: boolean;
}

export interface RunningServer {
  /** The /offer URL. */
  readonly url: string;
  /** The server's process; none for a server that was already running (`--add-server NAME=URL`). */
  readonly process?: PeerProcess;
  /** ms from spawn until it said it listens (or accepted TCP). */
  readonly startMs: number;
}

/** What the matrix gives a peer's process beside its arguments. */
export interface PeerEnv {
  /** Added to the process's environment, e.g. `SSLKEYLOGFILE` under `--capture`. */
  env?: Record<string, string>;
}

/** Where a cell runs: loopback, or the hosts of a small network of namespaces (src/net/namespaces.ts). */
export type Site = Topology;

export interface ServerRole {
  /**
   * Starts a server on `site.serverListen`:`port` (run through `site.serverExec`) and resolves
   * once it listens; its URL uses `site.serverHost`. The caller stops `process`.
   */
  start(port: number, root: string, site: Site, options?: PeerEnv): Promise<RunningServer>;
  quirks?: ServerQuirks;
  /** Already running (`--add-server NAME=URL`): no process of ours, no namespaces, nothing to capture in isolation. */
  external?: boolean;
  /** Networks it can serve on. Default: direct, nat, relay and server-outbound (server-nat needs it to announce a public address). */
  networks?: readonly NetworkName[];
}

export interface ClientRun {
  url: string;
  test: TestType;
  /** The client gives up (exit 1) after this long. */
  timeoutMs: number;
  server: { name: string; quirks: ServerQuirks };
  root: string;
  /** Run through `site.clientExec`; use `site.client.iceServers` (and relay only, when it says so). */
  site: Site;
  /** Added to the client's environment (`SSLKEYLOGFILE` under `--capture`). */
  env?: Record<string, string>;
}

export interface ClientOutcome {
  ok: boolean;
  /** A short failure reason (the client's own word where it gives one: `timeout`, `no-echo`…). */
  reason?: string;
  message?: string;
  /** Steps in ms since the client started, where the client reports them. */
  timings: Record<string, number>;
  /** What the client said about the echo: packets, frames decoded, the data channel string. */
  details?: unknown;
  /** What the client saw on the wire beside the verdict (its JSON `checks`, or `check …` lines on stderr). */
  checks?: SubCheck[];
  exitCode: number | null;
  process: PeerProcess;
}

export interface ClientRole {
  run(options: ClientRun): Promise<ClientOutcome>;
  /** How long this client needs at most for one test (browsers start slower). Default 15 s. */
  timeoutMs?: number;
  /** Networks it can run on. Default: direct, nat, server-nat and server-outbound (relay needs TURN servers and relay-only). */
  networks?: readonly NetworkName[];
}

export const DEFAULT_SERVER_NETWORKS: readonly NetworkName[] = ['direct', 'nat', 'relay', 'server-outbound'];
export const DEFAULT_CLIENT_NETWORKS: readonly NetworkName[] = ['direct', 'nat', 'server-nat', 'server-outbound'];

export interface InteropPeer {
  /** Short, unique: the engine name for ours (`libdatachannel`), the project for others (`pion`). */
  readonly name: string;
  /** Our own engines: their cells decide the exit code. */
  readonly ours: boolean;
  /** Shown in the reports, e.g. "pion/webrtc v3.1.56 (Debian)". */
  readonly label: string;
  readonly server?: ServerRole;
  readonly client?: ClientRole;
  /**
   * Whether its stack writes DTLS keys to `SSLKEYLOGFILE` (NSS key log lines), and if not, why:
   * said in a capture's evidence when its key file stays empty. Unset: unknown, we only see the file.
   */
  readonly keyLog?: { writes: boolean; note: string };
  /** Added with `--add-server`/`--add-client`: the command or URL it was given, for the rerun command. */
  readonly origin?: { server?: string; client?: string };
  detect(root: string): Promise<Availability>;
}
