/**
 * The control plane of one native echo session: the answer, the ICE agent on the data plane's
 * sockets, and data channels over its DTLS application data. What an EchoPeer of the native
 * engine wraps; the engine routes the plane's events here (`receiveStun` for `stun` events on
 * this session's sockets, `handle` for the others with this session's id).
 *
 * Lifecycle: constructed from the offer (the answer is ready at once: host candidates need no
 * gathering), `start()` when the answer leaves (the check hold-off counts from then), `close()`
 * on any path (idempotent; frees the agent's timers, SCTP and the plane's session).
 */
import type { SessionDescription as ParsedSdp } from 'sdp-transform';
import { randomBytes } from 'node:crypto';
import { IceAgent, type IceTiming } from '../../ice/agent.js';
import { checkPriority } from '../../ice/candidates.js';
import { newCredentials } from '../../ice/credentials.js';
import type { AnsweredByPlane, IceAgentEvents, IceAgentState, IceCredentials, LocalCandidate, SelectedPair } from '../../ice/types.js';
import type { PlaybackPlan } from '../../sdp/playback.js';
import { buildAnswer, type NativeAnswer } from './answer.js';
import { stackPolicy } from './stack-policy.js';
import { DataChannelEcho } from './data-channels.js';
import type { NativePlane, PlaneEvent, SrtpProfileName, UdpAddress } from './plane.js';

export type NativeSessionState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

export interface NativeSessionOptions {
  plane: Pick<NativePlane, 'fingerprint' | 'send' | 'createSession' | 'allowRemote' | 'selectRemote' | 'stopIceAnswers' | 'sendApplicationData' | 'closeSession'>;
  offer: ParsedSdp;
  /** The sockets this session's candidates are on, as `openSocket` returned them. */
  sockets: ReadonlyArray<{ socket: number; local: UdpAddress }>;
  /** Our host candidates (src/ice/candidates.ts hostCandidates of `sockets`). */
  candidates: readonly LocalCandidate[];
  /** Default: stackPolicy(offer). */
  checkHoldOffMs?: number;
  /** Our DTLS role for an actpass offer. Default: stackPolicy(offer). */
  dtlsRole?: 'client' | 'server';
  iceTiming?: Partial<IceTiming>;
  /** Default: the answer's DEFAULT_MAX_MESSAGE_SIZE. */
  maxMessageSize?: number;
  srtpProfiles?: SrtpProfileName[];
  admitDataChannel?(label: string): boolean;
  /** Every data channel the client opened is closed again (it had opened one at least). */
  onChannelsClosed?(): void;
  onState?(state: NativeSessionState): void;
  /** The ICE agent's own states (EchoPeer.onIceStateChange). */
  onIceState?(state: IceAgentState): void;
  onError?(error: unknown): void;
  /** The ICE agent's trace (IceAgentEvents.trace), for a debug log. */
  iceTrace?: IceAgentEvents['trace'];
  /** A WHEP viewer's offer: its played sections are answered sendonly (answer.ts). */
  playback?: PlaybackPlan;
  /** A viewer's PLI/FIR or NACK about a section it is played on (`rtcp-feedback`). */
  onFeedback?(mid: string, pli: boolean, nack: readonly number[]): void;
  /** For tests and --public-ip: the candidates the answer announces (default `candidates`). */
  announced?: readonly LocalCandidate[];
}

const DEFAULT_SRTP_PROFILES: SrtpProfileName[] = ['SRTP_AEAD_AES_128_GCM', 'SRTP_AES128_CM_SHA1_80'];

export class NativeSession {
  readonly answer: NativeAnswer;
  readonly ice: IceAgent;
  /** Our ICE credentials (the answer's): a router on a shared socket finds the agent by `ufrag`. */
  readonly localCredentials: IceCredentials;
  /** The data plane's session id. */
  readonly id: number;
  readonly dataChannels: DataChannelEcho | undefined;
  #state: NativeSessionState = 'new';
  #dtlsConnected = false;

  /** Throws UnanswerableOffer (a 4xx for the route) or Error when the plane refuses the session. */
  constructor(private readonly options: NativeSessionOptions) {
    const { plane } = options;
    const ice = newCredentials();
    this.localCredentials = ice;
    const policy = stackPolicy(options.offer);
    this.answer = buildAnswer({
      offer: options.offer,
      ice,
      candidates: options.announced ?? options.candidates,
      fingerprint: plane.fingerprint,
      maxMessageSize: options.maxMessageSize,
      dtlsRole: options.dtlsRole ?? policy.dtlsRole,
      playback: options.playback,
    });
    const facts = this.answer.offer;
    const socket = options.sockets[0]?.socket;
    if (socket === undefined) throw new Error('a native session needs a socket');
    const tieBreaker = randomBytes(8).readBigUInt64BE(0);
    const id = plane.createSession({
      socket,
      // The plane answers the client's checks while we are controlled (a full client, the
      // offerer), sends the checks they trigger and selects; a lite offer makes us controlling,
      // and every check stays the agent's.
      ice: facts.iceLite
        ? undefined
        : {
            localUfrag: ice.ufrag,
            localPwd: ice.pwd,
            remoteUfrag: facts.ice.ufrag,
            remotePwd: facts.ice.pwd,
            tieBreaker,
            // What IceAgent #check puts in PRIORITY from each of our addresses.
            checkPriorities: options.candidates.filter((c) => c.socket === socket).map((c) => ({ address: c.address, priority: checkPriority(c) })),
          },
      dtlsRole: this.answer.dtlsRole,
      remoteFingerprint: facts.fingerprint,
      srtpProfiles: options.srtpProfiles ?? DEFAULT_SRTP_PROFILES,
      sections: this.answer.sections,
    });
    if (typeof id === 'string') throw new Error(`the data plane refused the session: ${id}`);
    this.id = id;
    this.ice = new IceAgent({
      transport: { send: (s, to, data, from) => void plane.send(s, to, data, from) },
      local: ice,
      remote: facts.ice,
      remoteLite: facts.iceLite,
      localCandidates: options.candidates,
      remoteCandidates: facts.candidates,
      checkHoldOffMs: options.checkHoldOffMs ?? policy.checkHoldOffMs,
      timing: options.iceTiming,
      tieBreaker,
      events: {
        state: (state) => this.#onIceState(state),
        validated: (_socket, remote, source) => plane.allowRemote(id, remote, source),
        selected: (pair: SelectedPair) => plane.selectRemote(id, pair.remote, pair.source),
        role: (role) => {
          if (role === 'controlling') plane.stopIceAnswers(id);
        },
        trace: options.iceTrace,
      },
    });
    const data = this.answer.dataChannel;
    this.dataChannels = data
      ? new DataChannelEcho({
          send: (packets) => plane.sendApplicationData(id, packets, true),
          senderSealsChecksum: true,
          localPort: data.localPort,
          remotePort: data.remotePort,
          maxMessageSize: data.maxMessageSize,
          admit: options.admitDataChannel,
          onAllClosed: options.onChannelsClosed,
          onError: options.onError,
        })
      : undefined;
  }

  get state(): NativeSessionState {
    return this.#state;
  }

  /** Call when the answer leaves: the ICE agent starts (and its check hold-off with it). */
  start(): void {
    this.ice.start();
  }

  /**
   * A `stun` event on one of this session's sockets (`local`: the address of ours it reached;
   * `answered`: the plane answered the check already).
   */
  receiveStun(socket: number, from: UdpAddress, data: Buffer, local?: string, answered?: AnsweredByPlane): void {
    this.ice.receive(socket, from, data, local, answered);
  }

  /** The plane's other events for this session. */
  handle(event: Exclude<PlaneEvent, { type: 'stun' }>): void {
    if (this.#state === 'closed') return;
    switch (event.type) {
      case 'dtls-connected':
        // Connected even before ICE selected a pair: a client that is DTLS client (libdatachannel,
        // see stack-policy.ts) shakes hands on its first working pair, from an address ICE
        // validated, and the plane answers there until selectRemote names the selected one.
        this.#dtlsConnected = true;
        this.dataChannels?.start();
        this.#setState('connected');
        break;
      case 'app-data':
        this.dataChannels?.receive(event.data, event.sctpChecksumValid);
        break;
      case 'dtls-failed':
        this.#setState('failed');
        break;
      case 'dtls-closed':
        this.close();
        break;
      case 'rtcp-bye':
        break;
      case 'rtcp-feedback':
        try {
          this.options.onFeedback?.(event.mid, event.pli, event.nack);
        } catch (error) {
          this.options.onError?.(error);
        }
        break;
    }
  }

  close(): void {
    if (this.#state === 'closed') return;
    this.ice.close();
    this.dataChannels?.close();
    this.options.plane.closeSession(this.id);
    this.#setState('closed');
  }

  #onIceState(state: IceAgentState): void {
    try {
      this.options.onIceState?.(state);
    } catch (error) {
      this.options.onError?.(error);
    }
    if (state === 'checking') this.#setState('connecting');
    else if (state === 'connected') this.#setState(this.#dtlsConnected ? 'connected' : 'connecting');
    else if (state === 'disconnected' || state === 'failed') this.#setState(state);
    // Consent lost: nothing more may go to the client, answers to its checks included.
    if (state === 'failed') this.options.plane.stopIceAnswers(this.id);
  }

  #setState(state: NativeSessionState): void {
    if (this.#state === state || this.#state === 'closed') return;
    this.#state = state;
    try {
      this.options.onState?.(state);
    } catch (error) {
      this.options.onError?.(error);
    }
  }
}
