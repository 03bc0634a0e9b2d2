/**
 * Writes RTP packets into a classic pcap file (Ethernet / IPv4 / UDP), so GStreamer's
 * `pcapparse` can feed them to a real depayloader and decoder without opening a socket.
 * Checksums are left zero: pcapparse does not verify them, and UDP allows a zero checksum.
 */

export interface CapturedPacket {
  /** Capture time in microseconds. */
  timeUs: number;
  data: Buffer;
}

const ETHERNET = 14;
const IPV4 = 20;
const UDP = 8;

export function pcapFile(packets: readonly CapturedPacket[], dstPort = 5004): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0); // microsecond-resolution magic
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16); // snaplen
  header.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const records = packets.map(({ timeUs, data }) => {
    const frameLength = ETHERNET + IPV4 + UDP + data.length;
    const record = Buffer.alloc(16 + frameLength);
    record.writeUInt32LE(Math.floor(timeUs / 1e6), 0);
    record.writeUInt32LE(Math.floor(timeUs % 1e6), 4);
    record.writeUInt32LE(frameLength, 8);
    record.writeUInt32LE(frameLength, 12);
    let o = 16;
    record.writeUInt16BE(0x0800, o + 12); // EtherType IPv4, MACs zero
    o += ETHERNET;
    record[o] = 0x45; // IPv4, 20-byte header
    record.writeUInt16BE(IPV4 + UDP + data.length, o + 2);
    record[o + 8] = 64; // TTL
    record[o + 9] = 17; // UDP
    record.set([127, 0, 0, 1], o + 12);
    record.set([127, 0, 0, 1], o + 16);
    o += IPV4;
    record.writeUInt16BE(40000, o);
    record.writeUInt16BE(dstPort, o + 2);
    record.writeUInt16BE(UDP + data.length, o + 4);
    o += UDP;
    data.copy(record, o);
    return record;
  });
  return Buffer.concat([header, ...records]);
}
