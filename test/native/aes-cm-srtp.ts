/**
 * RFC 3711 SRTP with AES-CM and HMAC-SHA1 (80- or 32-bit tags) on node:crypto, for RTP only:
 * just enough of a third implementation to drive the plane with the _32 profile, which werift
 * does not negotiate, using the keys `openssl s_client -keymatexport` prints.
 */
import { createCipheriv, createHmac, timingSafeEqual } from 'node:crypto';

function aesCm(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const cipher = createCipheriv('aes-128-ctr', key, iv);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

/** RFC 3711 §4.3.1 with key derivation rate 0. */
function derive(masterKey: Buffer, masterSalt: Buffer, label: number, size: number): Buffer {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv);
  iv[7]! ^= label;
  return aesCm(masterKey, iv, Buffer.alloc(size));
}

export class AesCmSrtp {
  readonly #key: Buffer;
  readonly #salt: Buffer;
  readonly #auth: Buffer;

  constructor(
    masterKey: Buffer,
    masterSalt: Buffer,
    readonly tagSize: 10 | 4,
  ) {
    this.#key = derive(masterKey, masterSalt, 0, 16);
    this.#auth = derive(masterKey, masterSalt, 1, 20);
    this.#salt = derive(masterKey, masterSalt, 2, 14);
  }

  #iv(ssrc: number, index: bigint): Buffer {
    const iv = Buffer.alloc(16);
    this.#salt.copy(iv);
    const mix = Buffer.alloc(16);
    mix.writeUInt32BE(ssrc >>> 0, 4);
    mix.writeUIntBE(Number(index), 8, 6);
    for (let i = 0; i < 16; i++) iv[i]! ^= mix[i]!;
    return iv;
  }

  #tag(authenticated: Buffer, roc: number): Buffer {
    const rocBytes = Buffer.alloc(4);
    rocBytes.writeUInt32BE(roc >>> 0);
    return createHmac('sha1', this.#auth).update(authenticated).update(rocBytes).digest().subarray(0, this.tagSize);
  }

  /** A plain RTP packet (12-byte header, no CSRC or extension) at rollover counter `roc`. */
  protect(plain: Buffer, roc = 0): Buffer {
    const index = (BigInt(roc) << 16n) | BigInt(plain.readUInt16BE(2));
    const sealed = Buffer.concat([plain.subarray(0, 12), aesCm(this.#key, this.#iv(plain.readUInt32BE(8), index), plain.subarray(12))]);
    return Buffer.concat([sealed, this.#tag(sealed, roc)]);
  }

  /** The plain packet, or undefined when the tag does not match. */
  unprotect(packet: Buffer, roc = 0): Buffer | undefined {
    const sealed = packet.subarray(0, packet.length - this.tagSize);
    const tag = packet.subarray(packet.length - this.tagSize);
    if (!timingSafeEqual(tag, this.#tag(sealed, roc))) return undefined;
    const index = (BigInt(roc) << 16n) | BigInt(packet.readUInt16BE(2));
    return Buffer.concat([sealed.subarray(0, 12), aesCm(this.#key, this.#iv(sealed.readUInt32BE(8), index), sealed.subarray(12))]);
  }
}
