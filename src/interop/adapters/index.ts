/** Every peer the matrix knows: ours first (from the engine registry), then foreign stacks. */
import type { InteropPeer } from '../peer.js';
import { aiortcPeer } from './aiortc.js';
import { chromiumPeer } from './chromium.js';
import { firefoxPeer } from './firefox.js';
import { gstreamerPeer } from './gstreamer.js';
import { janusPeer } from './janus.js';
import { ourPeers } from './ours.js';
import { pionPeer } from './pion.js';

export function allPeers(): InteropPeer[] {
  return [...ourPeers(), pionPeer, aiortcPeer, gstreamerPeer, janusPeer, chromiumPeer, firefoxPeer];
}
