/**
 * `webrtc-echo client --whip URL`: publishes our test media (the VP8 clip and Opus) to a WHIP
 * endpoint, ours or anyone's, and judges what the server does against RFC 9725, item by item
 * (items.ts): OPTIONS, the 201 and its headers, the answer, trickle by PATCH and its
 * preconditions, the connection, GET, an ICE restart, the DELETE. With `--whep URL` it also
 * watches its own stream come back by WHEP and compares the payloads with what it sent.
 *
 * Never throws and never hangs (one deadline for the run); closes every peer it made.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import sdpTransform from 'sdp-transform';
import type { ClientPeer, EngineName, NetworkOptions, PeerState, RtpLeg } from '../../engines/engine.js';
import { loadClientEngine } from '../../engines/registry.js';
import { loadClip } from '../../media/clips.js';
import { MediaPlayer } from '../../media/media-player.js';
import { parseIceUrl, type IceServer } from '../../net/ice-server.js';
import { iceServersFromLinks } from '../../net/link-header.js';
import { rtpPayloadOf } from '../../rtp/header-extensions.js';
import { keyframeRequestTargets } from '../../rtp/rtcp.js';
import type { MediaKind } from '../../sdp/description.js';
import { writeTrickleFragment } from '../../sdp/sdpfrag-writer.js';
import { describePair } from '../../engines/engine.js';
import { ClientError } from '../client-error.js';
import { closePeer, networkFor } from '../connect.js';
import { Deadline } from '../deadline.js';
import { httpRequest, type HttpResponse } from '../http-request.js';
import { WHIP_ITEMS, WhipItems, describeResponse, type WhipItem } from './items.js';

const SDP = 'application/sdp';
const SDPFRAG = 'application/trickle-ice-sdpfrag';
/** How long our media plays before the later items (and while --whep watches). */
const PUBLISH_MS = 2_000;
/** Packets of each kind the WHEP viewer must get back. */
const WATCH_PACKETS = 20;

export interface WhipCheckOptions {
  /** The WHIP endpoint URL. */
  url: string;
  /** A WHEP endpoint to watch the stream at; `{id}` is replaced by the session id (the Location's last segment). */
  whep?: string;
  engine: EngineName;
  timeoutMs: number;
  audio: boolean;
  video: boolean;
  /** Sent as `Authorization: Bearer …` on every request (RFC 9725 bearer tokens). */
  token?: string;
  network?: NetworkOptions;
  ca?: string | Buffer;
  log: Logger;
}

export interface WhipCheckResult {
  ok: boolean;
  url: string;
  engine: EngineName;
  items: WhipItem[];
  location?: string;
  etag?: string;
  iceServers: IceServer[];
  /** Packets sent, by kind. */
  sent?: Partial<Record<MediaKind, number>>;
  /** What came back by WHEP, by kind. */
  watched?: Partial<Record<MediaKind, { packets: number; unchanged: number }>>;
  /** ms from the POST to connected. */
  connectMs?: number;
}

export async function runWhipCheck(options: WhipCheckOptions): Promise<WhipCheckResult> {
  return new WhipCheck(options).run();
}

class WhipCheck {
  readonly #items = new WhipItems();
  readonly #deadline: Deadline;
  readonly #result: WhipCheckResult;
  readonly #peers: ClientPeer[] = [];
  readonly #players: MediaPlayer[] = [];
  /** Payloads we sent, by kind: what a WHEP viewer must get back. */
  readonly #sent = new Map<MediaKind, Set<string>>();

  constructor(private readonly options: WhipCheckOptions) {
    this.#deadline = new Deadline(options.timeoutMs);
    this.#result = { ok: false, url: options.url, engine: options.engine, items: [], iceServers: [] };
  }

  async run(): Promise<WhipCheckResult> {
    try {
      await this.#steps();
    } catch (err) {
      const error = err instanceof ClientError ? err : new ClientError('engine-error', (err as Error)?.message ?? String(err));
      // The item the run was at fails with what stopped it; the others were not reached.
      const at = WHIP_ITEMS.find((name) => !this.#items.has(name));
      if (at) this.#items.set(at, 'fail', `${error.reason}: ${error.message}`);
      this.#items.rest(`not reached: ${error.reason}`);
    } finally {
      for (const player of this.#players) player.stop();
      await Promise.all(this.#peers.map((peer) => closePeer(peer)));
      this.#deadline.dispose();
    }
    this.#result.items = this.#items.list();
    this.#result.ok = this.#result.items.every((item) => item.status !== 'fail');
    return this.#result;
  }

  async #steps(): Promise<void> {
    const items = this.#items;
    const { url } = this.options;
    await this.#checkOptions();

    const engine = await loadClientEngine(this.options.engine);
    const peer = engine.createClientPeer({
      audio: this.options.audio,
      video: this.options.video,
      direction: 'sendonly',
      gatherTimeoutMs: Math.min(2_000, this.options.timeoutMs),
      network: networkFor(url, this.options.network),
      log: this.options.log,
    });
    this.#peers.push(peer);
    const states = watchStates(peer);
    const offer = await this.#deadline.race('the offer', peer.createOffer());
    const postedAt = performance.now();
    const created = await this.#request('the POST', url, { method: 'POST', headers: { 'Content-Type': SDP }, body: offer.sdp });
    const redirected = created.redirected ? ` (after a redirect to ${created.url})` : '';
    if (created.status < 200 || created.status > 299) {
      items.set('post', 'fail', `${describeResponse(created.status, created.text)}${redirected}`);
      items.rest('no session was created');
      return;
    }
    // Another 2xx is judged, and the rest still checked: the session may well work.
    if (created.status === 201) items.set('post', 'pass', `201 Created${redirected}`);
    else items.set('post', 'fail', `${created.status}${redirected}: RFC 9725 answers 201 Created`);
    const type = created.headers['content-type']?.split(';')[0]?.trim();
    items.set('content-type', type === SDP ? 'pass' : 'fail', type ?? 'none');
    const location = created.headers.location;
    if (!location) {
      items.set('location', 'fail', 'none: the session cannot be ended (DELETE) or patched');
      items.rest('no Location');
      return;
    }
    const resource = new URL(location, created.url).toString();
    this.#result.location = resource;
    items.set('location', 'pass', resource);
    const etag = this.#judgeEtag(created.headers.etag);
    this.#judgeIceServers(created.headers.link);
    if (!this.#judgeAnswer(created.text)) {
      await this.#delete(resource);
      items.rest('the answer cannot be used');
      return;
    }
    await this.#deadline.race('the answer to apply', peer.acceptAnswer({ type: 'answer', sdp: created.text }));
    const trickled = await this.#trickle(peer, offer.sdp, resource, etag);

    const connected = await this.#connect(peer, states, postedAt);
    if (connected) {
      await this.#publish(peer);
      if (this.options.whep) await this.#watch(resource);
      else items.set('watch', 'n/a', 'no --whep URL given');
      await this.#get(resource);
      await this.#iceRestart(peer, states, offer.sdp, resource, trickled);
    } else {
      for (const name of ['media', 'watch', 'get', 'ice-restart'] as const) items.set(name, 'n/a', 'not connected');
    }
    await this.#delete(resource);
  }

  /** RFC 9725: endpoints MUST take OPTIONS (CORS); the 200 SHOULD carry Accept-Post. */
  async #checkOptions(): Promise<void> {
    const response = await this.#request('OPTIONS', this.options.url, { method: 'OPTIONS' });
    const ok = response.status >= 200 && response.status < 300;
    const acceptPost = response.headers['accept-post'];
    if (!ok) this.#items.set('options', 'fail', `${describeResponse(response.status, response.text)}: RFC 9725 endpoints MUST support OPTIONS (CORS)`);
    else if (!acceptPost?.split(',').some((t) => t.trim() === SDP)) this.#items.set('options', 'warn', `${response.status} without Accept-Post: ${SDP} (a SHOULD)`);
    else this.#items.set('options', 'pass', `${response.status}, Accept-Post: ${acceptPost}`);
  }

  /** A strong entity-tag, or none (allowed without ICE restarts); returns it. */
  #judgeEtag(etag: string | undefined): string | undefined {
    if (etag === undefined) {
      this.#items.set('etag', 'n/a', 'none: allowed only for a session without ICE restarts, and a trickle PATCH cannot name its ICE session');
      return undefined;
    }
    this.#result.etag = etag;
    if (etag.startsWith('W/')) this.#items.set('etag', 'fail', `${etag}: weak, and RFC 9725 asks for a strong entity-tag`);
    else if (!/^"[^"]*"$/.test(etag)) this.#items.set('etag', 'fail', `${etag}: not an entity-tag (a quoted string)`);
    else this.#items.set('etag', 'pass', etag);
    return etag;
  }

  #judgeIceServers(link: string | undefined): void {
    const servers = iceServersFromLinks(link);
    this.#result.iceServers = servers;
    if (servers.length === 0) {
      this.#items.set('ice-servers', 'n/a', link ? 'Link headers, none rel="ice-server"' : 'none announced');
      return;
    }
    const bad = servers.filter((server) => {
      try {
        parseIceUrl(server.urls);
        return /^turns?:/.test(server.urls) && server.username === undefined;
      } catch {
        return true;
      }
    });
    const described = servers.map((s) => `${s.urls}${s.username !== undefined ? ' (with credentials)' : ''}`).join(', ');
    this.#items.set('ice-servers', bad.length > 0 ? 'fail' : 'pass', bad.length > 0 ? `not usable: ${bad.map((s) => s.urls).join(', ')} (of ${described})` : described);
  }

  /** RFC 9725: the answer is recvonly, and carries every candidate of the media server. */
  #judgeAnswer(sdp: string): boolean {
    if (!sdp.startsWith('v=0')) {
      this.#items.set('answer', 'fail', `not SDP: ${JSON.stringify(sdp.slice(0, 60))}`);
      return false;
    }
    const parsed = sdpTransform.parse(sdp);
    const media = parsed.media.filter((m) => m.type === 'audio' || m.type === 'video');
    const directions = media.map((m) => `${m.type} ${m.direction ?? 'sendrecv'}`);
    const candidates = parsed.media.reduce((n, m) => n + (m.candidates?.length ?? 0), 0);
    const problems = [
      ...media.filter((m) => m.direction !== 'recvonly').map((m) => `${m.type} is ${m.direction ?? 'sendrecv'}, not recvonly`),
      ...(candidates === 0 ? ['no candidate (RFC 9725: the answer carries them all)'] : []),
    ];
    this.#items.set('answer', problems.length > 0 ? 'fail' : 'pass', `${directions.join(', ')}; ${candidates} candidates${problems.length ? `: ${problems.join('; ')}` : ''}`);
    return true;
  }

  /**
   * Our candidates by PATCH, after the answer is applied (the offer went without them); where
   * the server takes them, its preconditions: 428 without If-Match, 412 for a stale tag.
   * Returns whether the server takes trickled candidates.
   */
  async #trickle(peer: ClientPeer, offerSdp: string, resource: string, etag: string | undefined): Promise<boolean> {
    const local = peer.localCandidates();
    const offered = sdpTransform.parse(offerSdp).media.some((m) => (m.candidates?.length ?? 0) > 0);
    if (!local || local.candidates.length === 0 || offered) {
      this.#items.set('trickle', 'n/a', offered ? `the ${this.options.engine} client puts its candidates in the offer` : 'no candidate to trickle');
      this.#items.set('trickle-precondition', 'n/a', 'no trickle');
      return false;
    }
    const body = writeTrickleFragment(offerSdp, { ...local, end: true });
    const patch = (ifMatch: string | undefined) =>
      this.#request('a PATCH', resource, { method: 'PATCH', headers: { 'Content-Type': SDPFRAG, ...(ifMatch !== undefined ? { 'If-Match': ifMatch } : {}) }, body });
    const response = await patch(etag ?? '*');
    const said = describeResponse(response.status, response.text);
    if (response.status === 204) {
      const problems = [...(response.headers.etag ? [`an ETag (${response.headers.etag}): RFC 9725 sends none on a trickle answer`] : []), ...(response.text ? ['a body'] : [])];
      this.#items.set('trickle', problems.length ? 'fail' : 'pass', `204 for ${local.candidates.length} candidates${problems.length ? `, with ${problems.join(' and ')}` : ''}`);
    } else if ([405, 422, 501].includes(response.status)) {
      this.#items.set('trickle', 'n/a', `not supported: ${said}`);
      this.#items.set('trickle-precondition', 'n/a', 'no trickle');
      return false;
    } else {
      this.#items.set('trickle', 'fail', said);
      this.#items.set('trickle-precondition', 'n/a', 'trickle did not work');
      return false;
    }
    const [missing, stale] = [await patch(undefined), await patch('"webrtc-echo-stale"')];
    const wrong = [...(missing.status !== 428 ? [`without If-Match: ${describeResponse(missing.status, missing.text)}, not 428`] : []), ...(stale.status !== 412 ? [`stale If-Match: ${describeResponse(stale.status, stale.text)}, not 412`] : [])];
    this.#items.set('trickle-precondition', wrong.length ? 'fail' : 'pass', wrong.length ? wrong.join('; ') : '428 without If-Match, 412 with a stale one');
    return true;
  }

  async #connect(peer: ClientPeer, states: StateWatch, postedAt: number): Promise<boolean> {
    try {
      await this.#deadline.race('the connection', states.connected);
    } catch (err) {
      this.#items.set('connection', 'fail', err instanceof ClientError ? err.message : String(err));
      return false;
    }
    this.#result.connectMs = Math.round(performance.now() - postedAt);
    const pair = describePair(await peer.selectedPair());
    this.#items.set('connection', 'pass', `connected ${this.#result.connectMs} ms after the POST${pair ? `: ${pair}` : ''}`);
    return true;
  }

  /** Our clips on every leg (raw RTP; a stack that encodes its own media sends that), for PUBLISH_MS. */
  async #publish(peer: ClientPeer): Promise<void> {
    let keyframeRequests = 0;
    if (peer.media.mode === 'rtp') {
      for (const leg of peer.media.legs as readonly RtpLeg[]) {
        const sent = new Set<string>();
        this.#sent.set(leg.kind, sent);
        const mid = leg.midExtension;
        const player = new MediaPlayer(
          { kind: leg.kind, payloadType: leg.payloadType, ssrc: leg.ssrc, send: (packet) => (sent.add(rtpPayloadOf(packet).toString('base64')), leg.send(packet)) },
          await loadClip(leg.kind),
          { extensions: mid ? [{ id: mid.id, value: Buffer.from(mid.mid) }] : undefined },
        );
        leg.onRtcp((rtcp) => {
          if (keyframeRequestTargets(rtcp).includes(leg.ssrc >>> 0)) keyframeRequests++;
          player.handleRtcp(rtcp);
        });
        this.#players.push(player);
        player.start();
      }
    }
    await this.#deadline.race('publishing', new Promise((resolve) => setTimeout(resolve, PUBLISH_MS)));
    if (peer.media.mode === 'rtp') {
      this.#result.sent = Object.fromEntries(this.#players.map((p) => [p.target.kind, p.stats.packets]));
      const described = this.#players.map((p) => `${p.target.kind} ${p.stats.packets} packets`).join(', ');
      this.#items.set('media', 'pass', `${described} in ${PUBLISH_MS / 1000} s; ${keyframeRequests} keyframe requests from the server`);
    } else {
      const stats = await peer.media.stats();
      this.#items.set('media', 'pass', stats.map((s) => `${s.kind} ${s.packetsSent} packets (${this.options.engine} encodes its own)`).join(', '));
    }
  }

  /** A viewer of ours at the WHEP URL: our payloads must come back unchanged. */
  async #watch(resource: string): Promise<void> {
    const id = new URL(resource).pathname.split('/').filter(Boolean).pop() ?? '';
    const url = new URL(this.options.whep!.replaceAll('{id}', encodeURIComponent(id)), this.options.url).toString();
    const engine = await loadClientEngine(this.options.engine);
    const viewer = engine.createClientPeer({ audio: this.options.audio, video: this.options.video, direction: 'recvonly', gatherTimeoutMs: 2_000, network: networkFor(this.options.url, this.options.network), log: this.options.log });
    this.#peers.push(viewer);
    const states = watchStates(viewer);
    const offer = await this.#deadline.race('the WHEP offer', viewer.createOffer());
    const created = await this.#request('the WHEP POST', url, { method: 'POST', headers: { 'Content-Type': SDP }, body: offer.sdp });
    if (created.status !== 201 || !created.headers.location) {
      this.#items.set('watch', 'fail', `POST ${url}: ${describeResponse(created.status, created.text)}${created.headers.location ? '' : ', no Location'}`);
      return;
    }
    const viewerResource = new URL(created.headers.location, created.url).toString();
    const got = new Map<MediaKind, { packets: number; unchanged: number }>();
    if (viewer.media.mode === 'rtp') {
      for (const leg of viewer.media.legs as readonly RtpLeg[]) {
        const count = { packets: 0, unchanged: 0 };
        got.set(leg.kind, count);
        leg.onRtp((packet) => {
          count.packets++;
          if (this.#sent.get(leg.kind)?.has(rtpPayloadOf(packet).toString('base64'))) count.unchanged++;
        });
      }
    }
    let detail: string;
    let status: 'pass' | 'fail' = 'pass';
    try {
      await this.#deadline.race('the WHEP answer', viewer.acceptAnswer({ type: 'answer', sdp: created.text }));
      await this.#deadline.race('the WHEP connection', states.connected);
      const kinds = [...got.keys()];
      const enough = () => kinds.every((kind) => got.get(kind)!.unchanged >= WATCH_PACKETS);
      const started = performance.now();
      while (!enough() && performance.now() - started < Math.min(5_000, this.#deadline.remainingMs - 1_000)) await new Promise((resolve) => setTimeout(resolve, 50));
      this.#result.watched = Object.fromEntries(got);
      detail = kinds.map((kind) => `${kind} ${got.get(kind)!.packets} packets back, ${got.get(kind)!.unchanged} with our payloads unchanged`).join(', ');
      if (!enough()) status = 'fail';
    } catch (err) {
      detail = `${url}: ${(err as Error).message}`;
      status = 'fail';
    }
    const deleted = await this.#request('the WHEP DELETE', viewerResource, { method: 'DELETE' });
    if (deleted.status !== 200) {
      status = 'fail';
      detail += `; its DELETE: ${describeResponse(deleted.status, deleted.text)}`;
    }
    this.#items.set('watch', status, `${detail} (at ${viewerResource})`);
  }

  /** RFC 9725: sessions answer GET with 2xx and no content. */
  async #get(resource: string): Promise<void> {
    const response = await this.#request('a GET', resource, { method: 'GET' });
    const ok = response.status >= 200 && response.status < 300 && response.text === '';
    this.#items.set('get', ok ? 'pass' : 'fail', `${describeResponse(response.status, response.text)}${ok ? '' : ': RFC 9725 answers GET with 2xx and no content'}`);
  }

  /**
   * New credentials with If-Match: * ask for an ICE restart. Done: 200, a fragment with the
   * server's new credentials, a new ETag. Not done: RFC 9725 names 422 (where trickle is), and the
   * session MUST go on. Run last before the DELETE: after a real restart our stack, which does
   * not know the new credentials, loses the connection.
   */
  async #iceRestart(peer: ClientPeer, states: StateWatch, offerSdp: string, resource: string, trickled: boolean): Promise<void> {
    const local = peer.localCandidates();
    const body = writeTrickleFragment(offerSdp, {
      ufrag: randomBytes(4).toString('hex'),
      pwd: randomBytes(16).toString('hex'),
      candidates: local?.candidates ?? [],
      end: true,
    });
    const response = await this.#request('an ICE restart', resource, { method: 'PATCH', headers: { 'Content-Type': SDPFRAG, 'If-Match': '*' }, body });
    const said = describeResponse(response.status, response.text);
    if (response.status === 200) {
      const fragment = sdpTransform.parse(response.text);
      const parts = [fragment, ...(fragment.media ?? [])];
      const problems = [
        ...(response.headers['content-type']?.split(';')[0]?.trim() !== SDPFRAG ? [`Content-Type ${response.headers['content-type'] ?? 'none'}`] : []),
        ...(!parts.some((p) => p.iceUfrag) || !parts.some((p) => p.icePwd) ? ['no new ice-ufrag/ice-pwd'] : []),
        ...(!response.headers.etag || response.headers.etag === this.#result.etag ? ['no new ETag'] : []),
      ];
      this.#items.set('ice-restart', problems.length ? 'fail' : 'pass', problems.length ? `200, but ${problems.join(', ')}` : `done: 200, new ETag ${response.headers.etag}`);
      return;
    }
    // Refused: the session must go on with its ICE session as it was.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const kept = states.current === 'connected';
    if (response.status === 422 || (!trickled && [405, 501].includes(response.status))) {
      this.#items.set('ice-restart', kept ? 'pass' : 'fail', `not supported: ${said}; the session ${kept ? 'goes on' : `did not go on (${states.current}), as RFC 9725 asks`}`);
    } else {
      this.#items.set('ice-restart', 'fail', `${said}${trickled && [405, 501].includes(response.status) ? ': RFC 9725 names 422 for the PATCH it does not support when it takes the other' : ''}`);
    }
  }

  async #delete(resource: string): Promise<void> {
    const response = await this.#request('the DELETE', resource, { method: 'DELETE' });
    const status = response.status === 200 ? 'pass' : response.status >= 200 && response.status < 300 ? 'warn' : 'fail';
    this.#items.set('delete', status, `${describeResponse(response.status, response.text)}${status === 'warn' ? ': RFC 9725 confirms with 200 OK' : ''}`);
  }

  /** One request, bounded by the run's deadline; the bearer token on each. Unreachable: a ClientError. */
  async #request(step: string, url: string, init: { method: string; headers?: Record<string, string>; body?: string }): Promise<HttpResponse> {
    const headers = { ...init.headers, ...(this.options.token ? { Authorization: `Bearer ${this.options.token}` } : {}) };
    try {
      return await this.#deadline.race(step, httpRequest(url, { ...init, headers, signal: this.#deadline.signal, ca: this.options.ca }));
    } catch (err) {
      if (err instanceof ClientError) throw err;
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new ClientError('signaling-unreachable', `${init.method} ${url}: ${cause}`);
    }
  }
}

interface StateWatch {
  readonly connected: Promise<void>;
  readonly current: PeerState;
}

/** The peer's state as it goes, and a promise of its first `connected` (rejected on failure). */
function watchStates(peer: ClientPeer): StateWatch {
  let current: PeerState = 'new';
  const connected = new Promise<void>((resolve, reject) => {
    peer.onStateChange((state) => {
      current = state;
      if (state === 'connected') resolve();
      if (state === 'failed' || state === 'closed') reject(new ClientError('connection-failed', `the connection went ${state}`));
    });
  });
  connected.catch(() => {});
  return {
    connected,
    get current() {
      return current;
    },
  };
}
