/**
 * A real client session held open in the test process (a libdatachannel client peer with a
 * data channel, connected to a server over HTTP), so that a test can check at any moment that
 * the server still echoes, and end the session when it chooses.
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import type { ClientPeer, EngineName, PeerState } from '../../src/engines/engine.js';
import { loadClientEngine } from '../../src/engines/registry.js';
import { closePeer, connectPeer } from '../../src/client/connect.js';
import { Deadline } from '../../src/client/deadline.js';
import { Stopwatch } from '../../src/client/timings.js';
import { silentLogger } from '../../src/log.js';
import { withTimeout } from './timeout.js';

export interface HeldSession {
  peer: ClientPeer;
  /** Sends a short random string and resolves once the identical string is back; rejects after `ms`. */
  echo(ms?: number): Promise<void>;
  /** Resolves when the peer reports `closed`, `failed` or `disconnected` (the server let it go). */
  lost: Promise<PeerState>;
  close(): Promise<void>;
}

/**
 * werift by default: libdatachannel's client has a start-up race (README) these tests are not
 * about. But a werift client notices a session the server closed only when ICE consent fails
 * (about 30 s): tests that watch the client see the close use libdatachannel.
 */
export async function openHeldSession(t: TestContext, offerUrl: string, engineName: EngineName = 'werift'): Promise<HeldSession> {
  const engine = await loadClientEngine(engineName);
  const deadline = new Deadline(15_000);
  const connect = () => connectPeer(engine, { audio: false, video: false, dataChannel: 'echo', gatherTimeoutMs: 2_000, log: silentLogger }, offerUrl, deadline, new Stopwatch(), silentLogger);
  let peer: ClientPeer;
  try {
    let attempts: number;
    ({ peer, attempts } = await connect());
    // connectPeer's retry of a start-up failure is a fallback, not a pass.
    if (attempts > 1) throw new Error(`connected only at attempt ${attempts}`);
  } finally {
    deadline.dispose();
  }
  t.after(() => closePeer(peer));
  const lost = new Promise<PeerState>((resolve) =>
    peer.onStateChange((state) => (state === 'closed' || state === 'failed' || state === 'disconnected') && resolve(state)),
  );
  const channel = peer.dataChannel!;
  if (!channel.isOpen) await withTimeout(new Promise<void>((resolve) => channel.onOpen(resolve)), 10_000, 'data channel open');
  const waiting = new Map<string, () => void>();
  channel.onMessage((data) => {
    const text = typeof data === 'string' ? data : data.toString('utf8');
    waiting.get(text)?.();
    waiting.delete(text);
  });
  return {
    peer,
    lost,
    echo: (ms = 3_000) => {
      const sent = randomBytes(6).toString('base64url');
      const back = new Promise<void>((resolve) => waiting.set(sent, resolve));
      channel.send(sent);
      return withTimeout(back, ms, `echo of ${sent}`);
    },
    close: () => closePeer(peer),
  };
}
