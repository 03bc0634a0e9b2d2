/**
 * The SDP vocabulary every layer shares: the description as it crosses the signaling channel,
 * and the kinds of media section we echo. It lives here, at the bottom, so that sdp/, media/
 * and the engines all import it downward.
 */

/** A JSON RTCSessionDescriptionInit as it crosses the signaling channel. */
export interface SessionDescription {
  type: 'offer' | 'answer';
  sdp: string;
}

/** The kinds of RTP media section (RFC 8866 §5.14) the Echo Test sends and echoes. */
export type MediaKind = 'audio' | 'video';
