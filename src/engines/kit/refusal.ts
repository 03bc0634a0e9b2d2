/**
 * How an engine says "the stack will not take this offer", as opposed to "something broke".
 * The session host answers an OfferRefused with 422 ECHO_ERR_OFFER_REJECTED and the stack's
 * words; anything else an engine throws is a bug, ours or the stack's, answered with 500
 * ECHO_ERR_INTERNAL, logged at error with its stack and counted as such (docs/architecture.md).
 */
export class OfferRefused extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OfferRefused';
  }
}

/**
 * Runs one step in which the stack takes the offer (applies it, builds a section or the answer
 * from it): whatever that step throws, or its promise rejects with, is the stack refusing the
 * offer, in its own words. Synchronous for a synchronous step.
 */
export function stackTakes<T>(step: () => T): T {
  try {
    const result = step();
    if (result instanceof Promise) return result.catch((err: unknown) => Promise.reject(refusal(err))) as T;
    return result;
  } catch (err) {
    throw refusal(err);
  }
}

function refusal(err: unknown): OfferRefused {
  if (err instanceof OfferRefused) return err;
  return new OfferRefused(err instanceof Error ? err.message : String(err), { cause: err });
}
