/**
 * One WHIP or WHEP resource from the browser (RFC 9725, draft-ietf-wish-whep): the offer POSTed
 * as application/sdp as soon as it is made (trickle ICE: its candidates follow by PATCH, with
 * If-Match, once the 201 named the session), the answer applied, and DELETE at the end. What
 * the server said is kept for the page to show: status, Location, ETag, Link ICE servers, each
 * PATCH's status, the DELETE's.
 */
import { iceServersFromLinks } from '../../../src/net/link-header.js';
import type { IceServer } from '../../../src/net/ice-server.js';
import { writeTrickleFragment } from '../../../src/sdp/sdpfrag-writer.js';

const TIMEOUT_MS = 10_000;

export interface ResourceFacts {
  endpoint: string;
  status: number | null;
  location: string | null;
  etag: string | null;
  iceServers: IceServer[];
  /** Each PATCH's status, in order. */
  patches: number[];
  /** The DELETE's status, once sent. */
  deleted: number | null;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class WhipResource {
  readonly facts: ResourceFacts;
  #offerSdp = '';
  #pending: RTCIceCandidate[] = [];
  #gathered = false;
  #flushing: Promise<void> = Promise.resolve();

  private constructor(
    endpoint: string,
    private readonly pc: RTCPeerConnection,
    private readonly onUpdate: () => void,
  ) {
    this.facts = { endpoint, status: null, location: null, etag: null, iceServers: [], patches: [], deleted: null };
  }

  /** Offers on `pc` (its transceivers added), POSTs, applies the answer; candidates follow by PATCH. Throws HttpError or TypeError. */
  static async open(endpoint: string, pc: RTCPeerConnection, onUpdate: () => void): Promise<WhipResource> {
    const resource = new WhipResource(endpoint, pc, onUpdate);
    await resource.#open();
    return resource;
  }

  async #open(): Promise<void> {
    this.pc.addEventListener('icecandidate', (event) => {
      if (event.candidate && event.candidate.candidate) this.#pending.push(event.candidate);
      else if (!event.candidate) this.#gathered = true;
      if (this.facts.location) this.#flush();
    });
    await this.pc.setLocalDescription(await this.pc.createOffer());
    this.#offerSdp = this.pc.localDescription!.sdp;
    const response = await fetch(this.facts.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp' },
      body: this.#offerSdp,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const text = await response.text();
    this.facts.status = response.status;
    const location = response.headers.get('location');
    if (location) this.facts.location = new URL(location, response.url || this.facts.endpoint).toString();
    this.facts.etag = response.headers.get('etag');
    this.facts.iceServers = iceServersFromLinks(response.headers.get('link'));
    this.onUpdate();
    if (response.status !== 201) throw new HttpError(response.status, `POST ${this.facts.endpoint}: ${response.status} ${errorText(text)}`);
    if (!this.facts.location) throw new HttpError(response.status, `POST ${this.facts.endpoint}: 201 without a Location`);
    await this.pc.setRemoteDescription({ type: 'answer', sdp: text });
    this.#flush();
  }

  /** Ends the resource (DELETE); the status is kept. Never throws. */
  async close(): Promise<void> {
    if (!this.facts.location || this.facts.deleted !== null) return;
    try {
      const response = await fetch(this.facts.location, { method: 'DELETE', signal: AbortSignal.timeout(TIMEOUT_MS) });
      this.facts.deleted = response.status;
    } catch {
      this.facts.deleted = 0;
    }
    this.onUpdate();
  }

  /** One PATCH at a time, with every candidate gathered since the last (RFC 9725 asks to aggregate). */
  #flush(): void {
    this.#flushing = this.#flushing.then(async () => {
      if (this.#pending.length === 0 && !this.#gathered) return;
      if (this.facts.deleted !== null) return;
      const candidates = this.#pending.splice(0).map((c) => ({ candidate: c.candidate, mid: c.sdpMid ?? '0' }));
      const end = this.#gathered;
      this.#gathered = false;
      const credentials = iceCredentials(this.#offerSdp);
      if (!credentials) return;
      const body = writeTrickleFragment(this.#offerSdp, { ...credentials, candidates, end });
      try {
        const response = await fetch(this.facts.location!, {
          method: 'PATCH',
          headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': this.facts.etag ?? '*' },
          body,
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        this.facts.patches.push(response.status);
      } catch {
        this.facts.patches.push(0);
      }
      this.onUpdate();
    });
  }
}

function iceCredentials(sdp: string): { ufrag: string; pwd: string } | undefined {
  const ufrag = /^a=ice-ufrag:(.+)$/m.exec(sdp)?.[1]?.trim();
  const pwd = /^a=ice-pwd:(.+)$/m.exec(sdp)?.[1]?.trim();
  return ufrag && pwd ? { ufrag, pwd } : undefined;
}

function errorText(text: string): string {
  try {
    const { error, message } = JSON.parse(text) as { error?: string; message?: string };
    return [error, message].filter(Boolean).join(': ');
  } catch {
    return text.slice(0, 120);
  }
}
