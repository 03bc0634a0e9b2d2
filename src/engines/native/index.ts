/**
 * The native engine: webrtc-echo's own media plane. C++ (native/, built by node-gyp at `npm ci`
 * against the running Node's headers, OpenSSL borrowed from Node) owns the UDP sockets, DTLS,
 * SRTP and the packet echo on one thread per process; TypeScript owns the SDP answer, a full
 * ICE agent (src/ice/), data channels (werift's SCTP) and session lifetimes. A server only: it
 * has no offerer side, and its sessions are driven by the other engines' clients.
 *
 * Where the addon cannot build or load (no compiler, a Node without OpenSSL, another platform),
 * loading this engine throws EngineUnavailable with the reason, and `serve` falls back to
 * libdatachannel (engines/registry.ts, loadServerEngine).
 */
import { EngineUnavailable, type Engine } from '../engine.js';
import { loadNativeAddon } from './addon.js';
import { createNativeEchoPeer, createNativeViewerPeer } from './echo-peer.js';
import { PlaneHost, planeOptionsFromEnv } from './plane-host.js';

let host: PlaneHost | undefined;

/** The engine, its data plane loaded; throws EngineUnavailable where the addon is not available. */
export function loadNativeEngine(): Engine {
  if (!host) {
    const load = loadNativeAddon();
    if ('unavailable' in load) throw new EngineUnavailable('native', load.unavailable);
    const planes = new PlaneHost(load.addon, (err) => process.emitWarning(`a native plane listener threw: ${String(err)}`), planeOptionsFromEnv());
    host = planes;
    installCrashHook(planes);
  }
  const planes = host;
  return {
    name: 'native',
    // No client side: rawRtp is a client's capability. No STUN/TURN gathering: host candidates,
    // and our own checks reach a client behind a NAT (serve refuses --ice-server).
    capabilities: { packetEcho: true, rawRtp: false, udpMux: true, playback: true, trickle: true, iceServers: false },
    // One UDP socket per session (none with --udp-mux) and one data-plane thread per process.
    budget: { maxSessions: 1000, fdsPerSession: 1, threadsPerSession: 0 },
    createEchoPeer: (offer, options) => createNativeEchoPeer(planes, offer, options),
    createViewerPeer: (offer, publication, plan, options) => createNativeViewerPeer(planes, offer, publication, plan, options),
  };
}

/**
 * WEBRTC_ECHO_TEST_HOOKS=1: SIGUSR2 makes the data-plane thread die of a segmentation fault, as
 * a bug in the addon would (test/echo/native-crash.test.ts: one worker dies, the others serve).
 */
function installCrashHook(planes: PlaneHost): void {
  if (process.env.WEBRTC_ECHO_TEST_HOOKS !== '1') return;
  process.on('SIGUSR2', () => {
    if (!planes.crashForTest()) process.emitWarning('SIGUSR2: no native plane running to crash');
  });
}
