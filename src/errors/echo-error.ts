/**
 * Every error the server answers with, declared once: code → HTTP status. It sits below the
 * HTTP layer so that offer checks (sdp/) and the session registry (echo/) can throw these too;
 * signaling/app.ts turns them into replies. docs/errors.md lists them (test/signaling checks it).
 */

export const ERROR_STATUS = {
  ECHO_ERR_INVALID_JSON: 400,
  ECHO_ERR_INVALID_BODY: 400,
  ECHO_ERR_NOT_AN_OFFER: 400,
  ECHO_ERR_MISSING_SDP: 400,
  ECHO_ERR_INVALID_SDP_CHARACTERS: 400,
  ECHO_ERR_INVALID_SDPFRAG: 400,
  ECHO_ERR_NOT_FOUND: 404,
  ECHO_ERR_METHOD_NOT_ALLOWED: 405,
  ECHO_ERR_PRECONDITION_FAILED: 412,
  ECHO_ERR_BODY_TOO_LARGE: 413,
  ECHO_ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ECHO_ERR_UNPARSABLE_SDP: 422,
  ECHO_ERR_OFFER_REJECTED: 422,
  ECHO_ERR_TOO_MANY_MEDIA_SECTIONS: 422,
  ECHO_ERR_TOO_MANY_CANDIDATES: 422,
  ECHO_ERR_UNSUPPORTED_OFFER: 422,
  ECHO_ERR_ICE_RESTART_UNSUPPORTED: 422,
  ECHO_ERR_PRECONDITION_REQUIRED: 428,
  ECHO_ERR_TOO_MANY_REQUESTS: 429,
  ECHO_ERR_TOO_MANY_UNCONNECTED: 429,
  ECHO_ERR_INTERNAL: 500,
  ECHO_ERR_PLAYBACK_UNSUPPORTED: 501,
  ECHO_ERR_TOO_MANY_SESSIONS: 503,
  ECHO_ERR_DRAINING: 503,
  ECHO_ERR_SHUTTING_DOWN: 503,
  ECHO_ERR_TOO_MANY_VIEWERS: 503,
} as const;

/**
 * `Retry-After` (seconds) on the 503s of a server that is going away: long enough for a load
 * balancer's health check or a Kubernetes endpoint update to take it out of rotation, short
 * enough that a person retrying by hand barely waits.
 */
export const GOING_AWAY_RETRY_AFTER_S = 5;

export type EchoErrorCode = keyof typeof ERROR_STATUS;

/** A failure we expect and answer with a 4xx/5xx and a JSON body `{ error, message }`. */
export class EchoError extends Error {
  readonly code: EchoErrorCode;
  readonly context: Record<string, unknown>;

  private constructor(code: EchoErrorCode, message: string, context: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EchoError';
    this.code = code;
    this.context = context;
  }

  get statusCode(): number {
    return ERROR_STATUS[this.code];
  }

  static invalidJson(detail: string) {
    return new EchoError('ECHO_ERR_INVALID_JSON', `Request body is not valid JSON: ${detail}`);
  }
  static invalidBody(detail: string) {
    return new EchoError('ECHO_ERR_INVALID_BODY', `Request body is not an RTCSessionDescriptionInit: ${detail}`);
  }
  static notAnOffer(type: unknown) {
    return new EchoError('ECHO_ERR_NOT_AN_OFFER', `Expected a session description of type "offer", got ${JSON.stringify(type) ?? 'none'}`, { type });
  }
  static missingSdp() {
    return new EchoError('ECHO_ERR_MISSING_SDP', 'The offer has no "sdp" string');
  }
  static unparsableSdp(detail: string) {
    return new EchoError('ECHO_ERR_UNPARSABLE_SDP', `The offer's SDP cannot be used: ${detail}`);
  }
  static invalidSdpCharacters(detail: string) {
    return new EchoError('ECHO_ERR_INVALID_SDP_CHARACTERS', `The offer's SDP is not SDP text: ${detail}`);
  }
  static tooManyMediaSections(count: number, max: number) {
    return new EchoError('ECHO_ERR_TOO_MANY_MEDIA_SECTIONS', `The offer has ${count} media sections; this server takes at most ${max}`, { count, max });
  }
  static tooManyCandidates(count: number, max: number) {
    return new EchoError('ECHO_ERR_TOO_MANY_CANDIDATES', `The offer has ${count} distinct ICE candidates; this server takes at most ${max}`, { count, max });
  }
  /** `retryAfterSeconds` goes out as `Retry-After`. */
  static tooManyRequests(max: number, windowMs: number, retryAfterSeconds: number) {
    return new EchoError('ECHO_ERR_TOO_MANY_REQUESTS', `More than ${max} offers in ${windowMs / 1000} s from this address; retry in ${retryAfterSeconds} s`, { max, retryAfterSeconds });
  }
  static tooManyUnconnected(max: number, retryAfterSeconds: number) {
    return new EchoError('ECHO_ERR_TOO_MANY_UNCONNECTED', `This address already has ${max} sessions that have not connected; connect them or retry in ${retryAfterSeconds} s`, { max, retryAfterSeconds });
  }
  static offerRejected(detail: string) {
    return new EchoError('ECHO_ERR_OFFER_REJECTED', `The WebRTC stack rejected the offer: ${detail}`);
  }
  static tooManySessions(max: number) {
    return new EchoError('ECHO_ERR_TOO_MANY_SESSIONS', `The server already holds its maximum of ${max} sessions; try again later`, { max });
  }
  /** Every UDP port of --udp-port-range is held by a session: the server is full all the same. */
  static noUdpPort(detail: string) {
    return new EchoError('ECHO_ERR_TOO_MANY_SESSIONS', `No UDP port is free for another session (${detail}); try again later`);
  }
  /** Context `retryAfterSeconds` becomes the reply's `Retry-After` header (signaling/app.ts). */
  static draining() {
    return new EchoError('ECHO_ERR_DRAINING', 'The server is draining: it finishes its live sessions and takes no new ones', {
      retryAfterSeconds: GOING_AWAY_RETRY_AFTER_S,
    });
  }
  static shuttingDown() {
    return new EchoError('ECHO_ERR_SHUTTING_DOWN', 'The server is shutting down', { retryAfterSeconds: GOING_AWAY_RETRY_AFTER_S });
  }
  static methodNotAllowed(method: string, allowed: string) {
    return new EchoError('ECHO_ERR_METHOD_NOT_ALLOWED', `${method} is not allowed here; use ${allowed}`, { allowed });
  }
  static notFound(url: string) {
    return new EchoError('ECHO_ERR_NOT_FOUND', `No route for ${url}`);
  }
  /** A WHIP or WHEP resource that does not exist (any more): never created, deleted, or its session ended. */
  static noSuchResource(url: string) {
    return new EchoError('ECHO_ERR_NOT_FOUND', `No session at ${url}: it never existed or has ended`);
  }
  static bodyTooLarge(limit: number) {
    return new EchoError('ECHO_ERR_BODY_TOO_LARGE', `Request body is larger than ${limit} bytes`, { limit });
  }
  static unsupportedMediaType(contentType: string | undefined, expected = 'application/json') {
    return new EchoError('ECHO_ERR_UNSUPPORTED_MEDIA_TYPE', `Content-Type must be ${expected}, got ${contentType ?? 'none'}`, { accept: expected });
  }
  /** A WHIP or WHEP offer that is valid SDP but not what the endpoint takes (directions, tracks, codecs). */
  static unsupportedOffer(detail: string) {
    return new EchoError('ECHO_ERR_UNSUPPORTED_OFFER', `This endpoint cannot use the offer: ${detail}`);
  }
  static invalidSdpFragment(detail: string) {
    return new EchoError('ECHO_ERR_INVALID_SDPFRAG', `The body is not a usable application/trickle-ice-sdpfrag (RFC 8840): ${detail}`);
  }
  /** A PATCH that must name the ICE session (If-Match) and did not: RFC 6585 §3. */
  static preconditionRequired() {
    return new EchoError('ECHO_ERR_PRECONDITION_REQUIRED', 'A trickle PATCH needs If-Match with the ETag of the ICE session (or * for an ICE restart)');
  }
  static preconditionFailed(sent: string, current: string) {
    return new EchoError('ECHO_ERR_PRECONDITION_FAILED', `If-Match ${sent} does not name the current ICE session (${current})`);
  }
  static iceRestartUnsupported(engine: string) {
    return new EchoError('ECHO_ERR_ICE_RESTART_UNSUPPORTED', `New ICE credentials ask for an ICE restart, which this server does not do (engine ${engine}); trickled candidates are taken. The session goes on with its ICE session as it was`);
  }
  static playbackUnsupported(engine: string) {
    return new EchoError('ECHO_ERR_PLAYBACK_UNSUPPORTED', `The ${engine} engine cannot play one session's media to another (WHEP); serve with --engine libdatachannel or werift (or native)`);
  }
  static tooManyViewers(max: number) {
    return new EchoError('ECHO_ERR_TOO_MANY_VIEWERS', `This publisher already has its maximum of ${max} viewers; try again later`, { max, retryAfterSeconds: GOING_AWAY_RETRY_AFTER_S });
  }
  /** The same error again, from its parts (an error that crossed from a worker process). */
  static from(parts: { code: EchoErrorCode; message: string; context?: Record<string, unknown> }) {
    return new EchoError(ERROR_STATUS[parts.code] ? parts.code : 'ECHO_ERR_INTERNAL', parts.message, parts.context);
  }
  /**
   * A bug. The client gets only "Internal server error"; `cause` (the error itself) and
   * `context` (where: the engine, the worker) go to the log line (signaling/app.ts).
   */
  static internal(cause?: unknown, context: Record<string, unknown> = {}) {
    return new EchoError('ECHO_ERR_INTERNAL', 'Internal server error', context, cause === undefined ? undefined : { cause });
  }
}
