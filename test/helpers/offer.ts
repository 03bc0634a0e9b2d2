import type { ClientPeer, EngineName } from '../../src/engines/engine.js';
import type { SessionDescription } from '../../src/sdp/description.js';
import { loadClientEngine } from '../../src/engines/registry.js';
import { silentLogger } from '../../src/log.js';

/** A real offer (audio, video and a data channel) from a real client peer; close the peer when done. */
export async function makeOffer(engine: EngineName = 'libdatachannel'): Promise<{ offer: SessionDescription; peer: ClientPeer }> {
  const peer = (await loadClientEngine(engine)).createClientPeer({ audio: true, video: true, dataChannel: 'echo', gatherTimeoutMs: 2000, log: silentLogger });
  return { offer: await peer.createOffer(), peer };
}
