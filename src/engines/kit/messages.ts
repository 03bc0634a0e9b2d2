/**
 * Data channel messages arrive as string, Buffer, ArrayBuffer or a typed view, depending on the
 * stack; everything past the engine sees string (a text message) or Buffer (a binary one).
 */
export function toMessage(data: unknown): string | Buffer {
  if (typeof data === 'string' || Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(String(data));
}

/** Bytes of a message on the wire: UTF-8 for text. */
export function messageBytes(message: string | Buffer): number {
  return typeof message === 'string' ? Buffer.byteLength(message) : message.length;
}
