/**
 * libdatachannel hands a compound RTCP packet to a track once per SSRC in it that belongs to
 * the track (impl/peerconnection.cpp, dispatchMedia): a PLI from the client's SSRC about our
 * SSRC arrives twice in a row. This drops a packet equal to the one just before it on the
 * same track; any RTP in between resets it.
 */
export class RtcpRepeatFilter {
  #last: Buffer | undefined;

  isRepeat(rtcp: Buffer): boolean {
    if (this.#last !== undefined && this.#last.equals(rtcp)) return true;
    this.#last = rtcp;
    return false;
  }

  reset(): void {
    this.#last = undefined;
  }
}
