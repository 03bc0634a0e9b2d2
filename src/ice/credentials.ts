import { randomBytes } from 'node:crypto';
import type { IceCredentials } from './types.js';

/** ice-char (RFC 8839 §5.4): ALPHA / DIGIT / "+" / "/". */
const ICE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function iceString(length: number): string {
  return [...randomBytes(length)].map((b) => ICE_CHARS[b & 63]).join('');
}

/** A fresh ufrag (8 characters: 48 bits, RFC 8445 §5.3 asks at least 24) and password (24 characters, at least 128 bits). */
export function newCredentials(): IceCredentials {
  return { ufrag: iceString(8), pwd: iceString(24) };
}
