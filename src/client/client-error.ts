/** Why a client run failed; callers switch on the reason, people read the message. */
export type ClientFailureReason =
  | 'signaling-unreachable'
  | 'signaling-http-error'
  | 'signaling-bad-answer'
  | 'answer-rejected'
  | 'ice-failed'
  | 'connection-failed'
  | 'timeout'
  | 'echo-mismatch'
  | 'no-echo'
  | 'connection-lost'
  | 'engine-error';

export class ClientError extends Error {
  /** Failed within moments of applying the answer: a start-up race rather than a refusal. */
  early = false;

  constructor(
    readonly reason: ClientFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'ClientError';
  }

  static timeout(step: string, ms: number) {
    return new ClientError('timeout', `timed out after ${ms} ms waiting for ${step}`);
  }
}
