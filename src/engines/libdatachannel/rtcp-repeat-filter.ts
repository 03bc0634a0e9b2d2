/**
 * libdatachannel hands a compound RTCP packet to a track once per SSRC in it that belongs to
 * the track (impl/peerconnection.cpp, dispatchMedia): a PLI from the client's SSRC about our
 * SSRC arrives twice in a row. This drops a packet equal to the one just before it on the
 * same track, when it comes within REPEAT_WINDOW_MS; any RTP in between resets it. The window
 * matters on a section that receives no RTP (a WHIP publisher's): there, a second PLI sent on
 * purpose a while later is equal to the first, and must not be taken for its copy.
 */
const REPEAT_WINDOW_MS = 50;

export class RtcpRepeatFilter {
  #last: Buffer | undefined;
  #at = 0;

  isRepeat(rtcp: Buffer): boolean {
    const now = performance.now();
    if (this.#last !== undefined && now - this.#at <= REPEAT_WINDOW_MS && this.#last.equals(rtcp)) return true;
    this.#last = rtcp;
    this.#at = now;
    return false;
  }

  reset(): void {
    this.#last = undefined;
  }
}
