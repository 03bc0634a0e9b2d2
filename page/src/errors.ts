/**
 * Why a run failed, as a value the page (and tests) can switch on, with words a person can act on.
 * Built only through the named constructors so every message reads the same way.
 */
export type FailureReason =
  | 'signaling-unreachable'
  | 'signaling-http'
  | 'signaling-timeout'
  | 'bad-answer'
  | 'codec-rejected'
  | 'ice-failed'
  | 'ice-timeout'
  | 'dtls-failed'
  | 'no-echo'
  | 'internal';

export class EchoPageError extends Error {
  override readonly name = 'EchoPageError';

  private constructor(
    readonly reason: FailureReason,
    message: string,
    /** A next step for the person at the keyboard, when we know one. */
    readonly hint?: string,
  ) {
    super(message);
  }

  static unreachable(url: string, cause: unknown): EchoPageError {
    return new EchoPageError(
      'signaling-unreachable',
      `Could not reach the echo server at ${url} (${describe(cause)}).`,
      'Check that the server is running and the URL is right. A server on another origin must allow CORS on /offer.',
    );
  }

  static signalingTimeout(url: string, ms: number): EchoPageError {
    return new EchoPageError('signaling-timeout', `The echo server at ${url} did not answer within ${ms / 1000} s.`);
  }

  /** `body` is the server's `{ error, message }` JSON when it sent one, else its text. */
  static http(status: number, statusText: string, body: { error?: string; message?: string } | string): EchoPageError {
    const detail =
      typeof body === 'string'
        ? body.trim().slice(0, 300)
        : [body.error, body.message].filter((part) => part !== undefined && part !== '').join(': ');
    const head = `The echo server answered HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
    return new EchoPageError('signaling-http', detail ? `${head}: ${detail}` : `${head}.`);
  }

  static badAnswer(problem: string): EchoPageError {
    return new EchoPageError('bad-answer', `The server's answer could not be used: ${problem}`);
  }

  static codecRejected(codec: string): EchoPageError {
    return new EchoPageError(
      'codec-rejected',
      `The server refused video with ${codec} (it rejected the video section of the offer).`,
      'Pick another codec, or Auto.',
    );
  }

  static iceFailed(mdnsOnly: boolean): EchoPageError {
    return new EchoPageError(
      'ice-failed',
      'ICE failed: no candidate pair between this browser and the server worked.',
      mdnsOnly ? MDNS_HINT : 'Both peers must be able to reach each other over UDP; no STUN or TURN servers are used.',
    );
  }

  static iceTimeout(seconds: number, mdnsOnly: boolean): EchoPageError {
    return new EchoPageError('ice-timeout', `ICE did not connect within ${seconds} s.`, mdnsOnly ? MDNS_HINT : undefined);
  }

  static dtlsFailed(): EchoPageError {
    return new EchoPageError('dtls-failed', 'ICE connected but the DTLS handshake failed (check DTLS roles and fingerprints).');
  }

  static noEcho(seconds: number, missing: string[]): EchoPageError {
    return new EchoPageError(
      'no-echo',
      `Connected, but no echo of ${missing.join(', ')} came back within ${seconds} s.`,
      'The server accepted the connection but did not send the media or messages back.',
    );
  }

  static internal(cause: unknown): EchoPageError {
    return cause instanceof EchoPageError ? cause : new EchoPageError('internal', describe(cause));
  }
}

const MDNS_HINT =
  'This browser hid its addresses behind mDNS names (….local) because the page has no camera permission; ' +
  'servers that cannot resolve mDNS fail here. Allow the camera (mode All or Video) and try again.';

function describe(cause: unknown): string {
  if (cause instanceof Error) return cause.message || cause.name;
  return String(cause);
}
