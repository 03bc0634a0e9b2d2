/**
 * DTLS keys for a packet capture: when `SSLKEYLOGFILE` names a file (as `webrtc-echo matrix
 * --capture` sets it for every server and client it starts), an engine that can see its DTLS
 * secrets appends one NSS key log line per handshake, which Wireshark and tshark read to
 * decrypt the capture. The hook for every engine, ours or to come: call appendKeyLogLine.
 *
 * Format (NSS key log, DTLS 1.2): `CLIENT_RANDOM <client random, 64 hex> <master secret, 96 hex>`.
 * Anyone holding the file can decrypt the traffic: it is for test captures, never production.
 */
import { appendFileSync } from 'node:fs';

/** The file keys go to, or undefined when nobody asked for them. */
export function keyLogFile(): string | undefined {
  return process.env.SSLKEYLOGFILE || undefined;
}

/** Appends one CLIENT_RANDOM line; a failed write is ignored (a capture is evidence, not the test). */
export function appendKeyLogLine(clientRandom: Uint8Array, masterSecret: Uint8Array): void {
  const file = keyLogFile();
  if (!file) return;
  try {
    // Synchronous and append-only: one line per write, whole, whoever else appends to the file.
    appendFileSync(file, `CLIENT_RANDOM ${Buffer.from(clientRandom).toString('hex')} ${Buffer.from(masterSecret).toString('hex')}\n`);
  } catch {
    // evidence only
  }
}
