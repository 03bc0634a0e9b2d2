/** pion/webrtc (Go): interop/peers/pion, built from Debian's pion v3.1.56 by interop/setup/pion.sh. */
import { contractPeer } from './contract-peer.js';

export const pionPeer = contractPeer({
  name: 'pion',
  label: 'pion/webrtc v3 (Debian)',
  serverCommand: ['interop/peers/pion/bin/pion-server'],
  clientCommand: ['interop/peers/pion/bin/pion-client'],
  // Test 0: fail unless RTP comes back, so the cell checks the media echo.
  test0ClientArgs: ['--require-echo'],
  clientNetworks: ['direct', 'nat', 'relay', 'server-nat', 'server-outbound'],
  debianPackages: ['golang-go', 'golang-github-pion-webrtc.v3-dev'],
  keyLog: { writes: true, note: "read from pion/dtls's connection state (interop/peers/pion/peer/keylog.go)" },
});
