/**
 * werift's DTLS secrets to SSLKEYLOGFILE (src/engines/kit/key-log.ts). werift has no key log
 * option, but its DTLS socket keeps both randoms and the master secret in plain fields: when
 * a transport reaches `connected`, they are written out. Installed once, for every werift peer
 * of the process, and only when SSLKEYLOGFILE is set (the hook costs nothing otherwise).
 */
import { DtlsClient, RTCDtlsTransport } from 'werift';
import { appendKeyLogLine, keyLogFile } from '../kit/key-log.js';

interface CipherInternals {
  masterSecret?: Uint8Array;
  localRandom?: { serialize(): Uint8Array };
  remoteRandom?: { serialize(): Uint8Array };
}

let installed = false;

export function installWeriftKeyLog(): void {
  if (installed || !keyLogFile()) return;
  installed = true;
  const prototype = RTCDtlsTransport.prototype as unknown as { setState(state: string, emitEvent?: boolean): void };
  const setState = prototype.setState;
  prototype.setState = function (this: RTCDtlsTransport, state: string, emitEvent?: boolean) {
    if (state === 'connected' && this.state !== 'connected') logKeys(this);
    setState.call(this, state, emitEvent);
  };
}

function logKeys(transport: RTCDtlsTransport): void {
  const socket = transport.dtls as unknown as { cipher?: CipherInternals } | undefined;
  const cipher = socket?.cipher;
  if (!cipher?.masterSecret || !cipher.localRandom || !cipher.remoteRandom) return;
  // The client random is ours when we were the DTLS client.
  const clientRandom = socket instanceof DtlsClient ? cipher.localRandom : cipher.remoteRandom;
  appendKeyLogLine(clientRandom.serialize(), cipher.masterSecret);
}
