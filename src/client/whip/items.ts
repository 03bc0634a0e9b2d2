/**
 * The items of `webrtc-echo client --whip`: what RFC 9725 asks of a WHIP endpoint and session,
 * each judged `pass`, `fail` (a MUST broken, or the step did not work), `warn` (a SHOULD
 * missed) or `n/a` (an optional feature the server does not offer, or a step that could not
 * run), with what was seen. The run fails when any item fails.
 */

export type WhipItemStatus = 'pass' | 'fail' | 'warn' | 'n/a';

export const WHIP_ITEMS = [
  'options',
  'post',
  'content-type',
  'location',
  'etag',
  'ice-servers',
  'answer',
  'trickle',
  'trickle-precondition',
  'connection',
  'media',
  'watch',
  'get',
  'ice-restart',
  'delete',
] as const;
export type WhipItemName = (typeof WHIP_ITEMS)[number];

export const WHIP_ITEM_LABELS: Record<WhipItemName, string> = {
  options: 'OPTIONS on the endpoint: 2xx with Accept-Post: application/sdp (CORS)',
  post: 'POST of the offer (application/sdp): 201 Created',
  'content-type': 'the answer is application/sdp',
  location: 'a Location for the session',
  etag: 'a strong ETag naming the ICE session (needed for ICE restarts and trickle)',
  'ice-servers': 'STUN/TURN servers in Link headers (rel="ice-server")',
  answer: 'the answer: recvonly, every candidate inside',
  trickle: 'PATCH with our candidates (application/trickle-ice-sdpfrag, If-Match): 204, no ETag',
  'trickle-precondition': 'PATCH without If-Match: 428; with a stale one: 412',
  connection: 'ICE and DTLS connect',
  media: 'our media goes out (VP8 and Opus)',
  watch: 'the published stream comes back by WHEP (--whep)',
  get: 'GET on the session: 2xx, no content',
  'ice-restart': 'ICE restart by PATCH (If-Match: *): 200 with new credentials and ETag, or 422 and the session kept',
  delete: 'DELETE of the session: 200',
};

export interface WhipItem {
  name: WhipItemName;
  status: WhipItemStatus;
  detail: string;
}

/** Items as they are judged; the last judgement of a name counts; listed in canonical order. */
export class WhipItems {
  readonly #items = new Map<WhipItemName, WhipItem>();

  set(name: WhipItemName, status: WhipItemStatus, detail: string): void {
    this.#items.set(name, { name, status, detail });
  }

  has(name: WhipItemName): boolean {
    return this.#items.has(name);
  }

  statusOf(name: WhipItemName): WhipItemStatus | undefined {
    return this.#items.get(name)?.status;
  }

  /** Every item not judged yet becomes n/a with `why`. */
  rest(why: string): void {
    for (const name of WHIP_ITEMS) if (!this.#items.has(name)) this.set(name, 'n/a', why);
  }

  list(): WhipItem[] {
    return WHIP_ITEMS.flatMap((name) => (this.#items.has(name) ? [this.#items.get(name)!] : []));
  }
}

/** `201 Created`, `404 (ECHO_ERR_NOT_FOUND: No session at …)`: a status with what its body says, short. */
export function describeResponse(status: number, text: string): string {
  let said = text.trim().replace(/\s+/g, ' ').slice(0, 120);
  try {
    const { error, message, title, detail } = JSON.parse(text) as Record<string, string | undefined>;
    said = [error ?? title, message ?? detail].filter(Boolean).join(': ') || said;
  } catch {
    // not JSON: the text itself
  }
  return said ? `${status} (${said})` : String(status);
}
