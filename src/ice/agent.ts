/**
 * A full ICE agent (RFC 8445) for one session of the echo server, over any datagram transport:
 * every STUN message the data plane receives comes in through `receive`, and the agent's own
 * go out through `IceTransport.send`. One component (RTP and RTCP multiplexed), one check list
 * (BUNDLE), host and peer-reflexive candidates.
 *
 * The offerer is the controlling agent unless its offer is `a=ice-lite`; then we control and
 * nominate (regular nomination, RFC 8445 §8.1.1). Controlled, we:
 * - answer checks whose USERNAME and MESSAGE-INTEGRITY hold (anything else is dropped without
 *   an answer: the server's sockets are public and an error response tells a prober it found one),
 *   and learn the sender as a peer-reflexive candidate (§7.3.1.3);
 * - send the triggered check at once, not at the next Ta tick (§7.3.1.4): a pion client nominates
 *   only when a check of ours makes it look at its pairs again, or on its next 200 ms tick
 *   (docs/triggered-check.md measured 52 -> 3 ms);
 * - check the offer's candidates ourselves once the client has checked us or `checkHoldOffMs`
 *   has passed, whichever is first, paced at Ta: a client that cannot reach our candidates is
 *   reached from here, while a libdatachannel client gets no check before it can have applied
 *   our answer (its DTLS fails when one arrives earlier, libdatachannel PR #1612);
 * - select a pair once the client nominated it (USE-CANDIDATE) and our own check on it has
 *   succeeded (§7.3.1.5, §8.1.1): by then the client has handled our answer to its check and
 *   answered ours, so its ICE is connected before anything we send on the pair;
 * - keep consent (RFC 7675): a check every 4-6 s on the selected pair, consent lost 30 s after
 *   the last answer.
 *
 * Everything the agent arms is released by close(), and nothing runs after it.
 */
import { randomBytes } from 'node:crypto';
import { errorCode, errorCodeAttribute, iceRole, iceRoleAttribute, priority, priorityAttribute, useCandidate, useCandidateAttribute, username, usernameAttribute, xorMappedAddressAttribute } from '../stun/attributes.js';
import { ATTR, encodeStun, METHOD_BINDING, parseStun, unknownRequired, verifyIntegrity, type StunAttribute, type StunMessage } from '../stun/message.js';
import { candidatePriority, checkPriority, family, pairPriority } from './candidates.js';
import { Transactions, type Transaction } from './transactions.js';
import type { AnsweredByPlane, IceAgentEvents, IceAgentState, IceCredentials, IceRole, IceTransport, LocalCandidate, RemoteCandidate, SelectedPair, UdpAddress } from './types.js';

export interface IceTiming {
  /** Pacing of ordinary checks (RFC 8445 §14.2). */
  taMs: number;
  /** First retransmission timeout of a check (RFC 8489 §6.2.1: 500 ms without an RTT estimate). */
  rtoMs: number;
  /** Requests per check transaction, the first included (RFC 8489 Rc). */
  maxRequests: number;
  /** The last request's wait for an answer, in RTOs (RFC 8489 Rm). */
  lastWaitRtos: number;
  /** Mean interval of consent checks; each is drawn from 0.8-1.2 times it (RFC 7675 §5.1: 4-6 s). */
  consentIntervalMs: number;
  /** Consent is lost this long after the last authenticated answer on the selected pair (RFC 7675: 30 s). */
  consentTimeoutMs: number;
  /** Disconnected after this long without any authenticated STUN from the selected remote. */
  disconnectedAfterMs: number;
}

export const DEFAULT_TIMING: IceTiming = {
  taMs: 50,
  rtoMs: 500,
  maxRequests: 7,
  lastWaitRtos: 16,
  consentIntervalMs: 5_000,
  consentTimeoutMs: 30_000,
  disconnectedAfterMs: 8_000,
};

export interface IceAgentOptions {
  transport: IceTransport;
  /** Ours: the answer's a=ice-ufrag and a=ice-pwd. */
  local: IceCredentials;
  /** The offer's. */
  remote: IceCredentials;
  /** The offer is `a=ice-lite`: we are the controlling agent. */
  remoteLite?: boolean;
  localCandidates: readonly LocalCandidate[];
  remoteCandidates: readonly RemoteCandidate[];
  /** How long after start() we wait for the client's first check before checking it ourselves. */
  checkHoldOffMs: number;
  timing?: Partial<IceTiming>;
  events?: IceAgentEvents;
  /** For tests: the tie-breaker (RFC 8445 §7.1.3); random by default. */
  tieBreaker?: bigint;
}

type PairState = 'waiting' | 'in-progress' | 'succeeded' | 'failed';

interface Pair {
  key: string;
  socket: number;
  local: LocalCandidate;
  remote: RemoteCandidate;
  priority: bigint;
  state: PairState;
  /** Controlled: the client sent USE-CANDIDATE on it. Controlling: we are nominating it. */
  nominated: boolean;
  /**
   * The address of ours the remote's STUN last arrived at on this pair (the data plane's packet
   * info), where everything for it leaves from: a socket bound to a wildcard would otherwise
   * answer from whichever address the kernel picks, and pion drops such answers.
   */
  source: string | undefined;
}

/** Comprehension-required attributes a Binding request may carry (RFC 8445 §7.2.2). */
const KNOWN_REQUEST_ATTRIBUTES = new Set<number>([ATTR.USERNAME, ATTR.PRIORITY, ATTR.USE_CANDIDATE, ATTR.XOR_MAPPED_ADDRESS, ATTR.ERROR_CODE, ATTR.MAPPED_ADDRESS]);

/** Remote candidates an agent keeps, from the offer and trickled (the server's own limit is lower: 64 by default). */
export const MAX_REMOTE_CANDIDATES = 256;

export class IceAgent {
  #state: IceAgentState = 'new';
  #role: IceRole;
  readonly #tieBreaker: bigint;
  readonly #timing: IceTiming;
  readonly #pairs = new Map<string, Pair>();
  readonly #remotes: RemoteCandidate[];
  readonly #validated = new Set<string>();
  readonly #transactions: Transactions<Pair>;
  #selected: Pair | undefined;
  #holdOff: NodeJS.Timeout | undefined;
  #pacer: NodeJS.Timeout | undefined;
  #consent: NodeJS.Timeout | undefined;
  #checking = false;
  #inbound = 0;
  #lastConsentAnswer = 0;
  #lastFromSelected = 0;

  constructor(private readonly options: IceAgentOptions) {
    this.#timing = { ...DEFAULT_TIMING, ...options.timing };
    this.#role = options.remoteLite ? 'controlling' : 'controlled';
    this.#tieBreaker = options.tieBreaker ?? randomBytes(8).readBigUInt64BE(0);
    this.#remotes = [...options.remoteCandidates];
    this.#transactions = new Transactions((transaction) => this.#timedOut(transaction));
    for (const remote of this.#remotes) this.#pairsFor(remote);
  }

  get state(): IceAgentState {
    return this.#state;
  }

  get role(): IceRole {
    return this.#role;
  }

  /** Authenticated STUN received so far (checks, answers to ours, consent): the session's sign of life. */
  get inboundActivity(): number {
    return this.#inbound;
  }

  get selectedPair(): SelectedPair | undefined {
    const pair = this.#selected;
    return pair && { socket: pair.socket, local: pair.local, remote: pair.remote, source: sourceOf(pair) };
  }

  /**
   * A remote candidate learnt after the offer (trickled: WHIP/WHEP PATCH). Paired with our
   * sockets of its family; its pairs are checked in turn by the pacer, as the offer's are. One
   * already known (from the offer, trickled before, or learnt from a check) changes nothing.
   * False once the agent is closed or failed, or past MAX_REMOTE_CANDIDATES.
   */
  addRemoteCandidate(remote: RemoteCandidate): boolean {
    if (this.#state === 'closed' || this.#state === 'failed') return false;
    if (this.#remotes.some((r) => r.address === remote.address && r.port === remote.port)) return true;
    if (this.#remotes.length >= MAX_REMOTE_CANDIDATES) return false;
    this.#remotes.push(remote);
    this.#pairsFor(remote);
    return true;
  }

  /** Whether a STUN answer with this transaction id is one of ours (a router on a shared socket asks). */
  ownsTransaction(transactionId: Buffer): boolean {
    return this.#transactions.has(transactionId);
  }

  /** Call once the answer is on its way: the hold-off starts now. */
  start(): void {
    if (this.#state !== 'new') return;
    this.#setState('checking');
    // A lite client never checks: there is nothing to wait for but its answer being applied.
    if (this.options.checkHoldOffMs <= 0) this.#startChecks(true);
    else this.#holdOff = setTimeout(() => this.#startChecks(true), this.options.checkHoldOffMs);
  }

  /**
   * One datagram that arrived on `socket` from `from`, at our address `local` where the data
   * plane says (its `stun` event); anything but STUN for this agent is ignored. Never throws.
   * `answered`: the data plane already answered this check with success and allowed its sender
   * (plane.ts CreateSessionOptions.ice, checked against our credentials there), and maybe sent
   * the triggered check: the agent does everything else the check makes it do.
   */
  receive(socket: number, from: UdpAddress, data: Buffer, local?: string, answered?: AnsweredByPlane): void {
    const message = parseStun(data);
    if (message) this.receiveMessage(socket, from, message, local, answered);
  }

  receiveMessage(socket: number, from: UdpAddress, message: StunMessage, local?: string, answered?: AnsweredByPlane): void {
    if (this.#state === 'closed' || this.#state === 'failed' || message.method !== METHOD_BINDING) return;
    const arrivedAt = local || undefined;
    if (message.class === 'request') this.#onRequest(socket, from, message, arrivedAt, answered);
    else if (message.class === 'success' || message.class === 'error') this.#onAnswer(socket, from, message, arrivedAt);
    else if (this.#validated.has(validatedKey(socket, from))) this.#inbound++; // an indication (keepalive) from a known remote
  }

  close(): void {
    if (this.#state === 'closed') return;
    clearTimeout(this.#holdOff);
    clearInterval(this.#pacer);
    clearTimeout(this.#consent);
    this.#transactions.clear();
    this.#selected = undefined;
    this.#setState('closed');
  }

  #onRequest(socket: number, from: UdpAddress, message: StunMessage, arrivedAt: string | undefined, answered: AnsweredByPlane | undefined): void {
    const { local, remote } = this.options;
    // A check the plane answered passed the same USERNAME and MESSAGE-INTEGRITY test there, with our password.
    if (username(message) !== `${local.ufrag}:${remote.ufrag}` || (!answered && !verifyIntegrity(message, local.pwd))) return;
    this.#trace('request', { remote: from, nominate: useCandidate(message) });
    // Every answer leaves from the address the request reached (RFC 8489 §6.3.3: to the source, from the destination).
    const unknown = unknownRequired(message, KNOWN_REQUEST_ATTRIBUTES);
    if (unknown.length > 0) {
      const list = Buffer.alloc(unknown.length * 2);
      unknown.forEach((type, i) => list.writeUInt16BE(type, i * 2));
      this.#respondError(socket, from, message, 420, 'Unknown Attribute', [{ type: ATTR.UNKNOWN_ATTRIBUTES, value: list }], arrivedAt);
      return;
    }
    this.#inbound++;
    if (this.#resolveRoleConflict(socket, from, message, arrivedAt)) return;
    if (answered) {
      // The plane allowed the sender before its answer left (as #validate would have).
      this.#validated.add(validatedKey(socket, from));
    } else {
      // Validated before the answer leaves: a client that is DTLS client sends its hello once it has it.
      this.#validate(socket, from, arrivedAt);
      this.#respond(socket, from, message, arrivedAt);
    }

    let remoteCandidate = this.#remotes.find((r) => r.address === from.address && r.port === from.port);
    if (!remoteCandidate) {
      // Peer-reflexive (RFC 8445 §7.3.1.3): the priority the client gave it in its check.
      remoteCandidate = { address: from.address, port: from.port, type: 'prflx', priority: priority(message) ?? 1, foundation: `prflx${this.#remotes.length}` };
      this.#remotes.push(remoteCandidate);
    }
    const pair = this.#pair(socket, remoteCandidate, arrivedAt);
    if (arrivedAt) pair.source = arrivedAt;
    if (this.#selected === pair) {
      this.#lastFromSelected = Date.now();
      if (this.#state === 'disconnected') this.#setState('connected');
    }
    if (this.#role === 'controlled' && useCandidate(message)) pair.nominated = true;
    // The plane sent the triggered check already, with its answer: ours from here on, and, as
    // for our own triggered check (§7.3.1.4), an In-Progress check of ours on the pair stops
    // resending but may still be answered.
    if (answered?.check) {
      this.#transactions.quiet(pair);
      this.#check(pair, false, answered.check);
    }
    if (pair.state === 'succeeded') {
      if (pair.nominated && this.#role === 'controlled') this.#select(pair);
      // Beyond RFC 8445 §7.3.1.4 (nothing for a Succeeded pair): until a pair is selected, a
      // check back anyway. A pion client nominates when a check of ours reaches a pair that works
      // for it, or on its next 200 ms tick (pion/ice 2.3 selection.go, HandleBindingRequest); when
      // our check got there first (ours after the hold-off, its own still on the way) that tick
      // was all it had left.
      else if (!this.#selected && !this.#transactions.pending(pair)) this.#check(pair);
    } else if (!answered?.check) {
      // Triggered check (§7.3.1.4): an In-Progress one stops resending but may still be answered.
      this.#transactions.quiet(pair);
      this.#check(pair);
    }
    // The client has our answer (its check carries our ufrag): the race the hold-off guards is
    // over. The triggered check took this Ta slot; ordinary checks follow one Ta later.
    if (!this.#checking) this.#startChecks(false);
  }

  /** RFC 8445 §7.3.1.1. True when the request was answered with 487 and is done with. */
  #resolveRoleConflict(socket: number, from: UdpAddress, message: StunMessage, arrivedAt: string | undefined): boolean {
    const theirs = iceRole(message);
    if (!theirs || theirs.role !== this.#role) return false;
    const weWin = this.#tieBreaker >= theirs.tieBreaker;
    if (this.#role === 'controlling' ? weWin : !weWin) {
      this.#respondError(socket, from, message, 487, 'Role Conflict', [], arrivedAt);
      return true;
    }
    this.#switchRole();
    return false;
  }

  #switchRole(): void {
    this.#role = this.#role === 'controlling' ? 'controlled' : 'controlling';
    for (const pair of this.#pairs.values()) pair.priority = this.#pairPriority(pair.local, pair.remote);
    const role = this.#role;
    this.#emit(() => this.options.events?.role?.(role));
  }

  #onAnswer(socket: number, from: UdpAddress, message: StunMessage, arrivedAt: string | undefined): void {
    const transaction = this.#transactions.get(message.transactionId);
    if (!transaction || !verifyIntegrity(message, this.options.remote.pwd)) return;
    const pair = transaction.subject;
    this.#transactions.finish(transaction);
    this.#inbound++;
    this.#trace('answer', { remote: from, class: message.class });
    // Symmetric (§7.2.5.2.1): the answer comes from where the check went, to the socket it left from.
    if (from.address !== pair.remote.address || from.port !== pair.remote.port || socket !== pair.socket) {
      if (transaction.kind === 'check') pair.state = 'failed';
      return;
    }
    if (message.class === 'error') {
      if (errorCode(message)?.code === 487 && transaction.kind === 'check') {
        // §7.2.5.1: take the other role than the one the check claimed, and check again.
        if (this.#role === transaction.role) this.#switchRole();
        this.#check(pair);
      } else if (transaction.kind === 'check') {
        pair.state = 'failed';
      }
      return;
    }
    if (arrivedAt) pair.source = arrivedAt;
    this.#validate(socket, from, sourceOf(pair));
    if (transaction.kind === 'consent') {
      this.#lastConsentAnswer = this.#lastFromSelected = Date.now();
      if (this.#state === 'disconnected') this.#setState('connected');
      return;
    }
    pair.state = 'succeeded';
    if (this.#role === 'controlled') {
      if (pair.nominated) this.#select(pair);
    } else if (transaction.useCandidate) {
      this.#select(pair);
    } else if (![...this.#pairs.values()].some((p) => p.nominated)) {
      pair.nominated = true;
      this.#check(pair, true);
    }
  }

  #startChecks(now: boolean): void {
    clearTimeout(this.#holdOff);
    this.#holdOff = undefined;
    if (this.#checking || this.#state === 'closed') return;
    this.#checking = true;
    if (this.#state === 'new') this.#setState('checking');
    if (now) this.#pace();
    this.#pacer = setInterval(() => this.#pace(), this.#timing.taMs);
  }

  /** One ordinary check per Ta, the highest-priority waiting pair first (§6.1.4.2). */
  #pace(): void {
    if (this.#selected) return this.#stopPacing();
    let next: Pair | undefined;
    for (const pair of this.#pairs.values()) {
      if (pair.state === 'waiting' && (!next || pair.priority > next.priority)) next = pair;
    }
    if (next) this.#check(next);
  }

  #stopPacing(): void {
    clearInterval(this.#pacer);
    this.#pacer = undefined;
  }

  /** `sentAs`: the data plane sent this check's first request, with that transaction id. */
  #check(pair: Pair, nominate = false, sentAs?: Buffer): void {
    const { remote, local } = this.options;
    const transactionId = sentAs ?? randomBytes(12);
    const attributes: StunAttribute[] = [
      usernameAttribute(`${remote.ufrag}:${local.ufrag}`),
      // The priority a peer-reflexive candidate of ours would have (§7.1.1).
      priorityAttribute(checkPriority(pair.local)),
      iceRoleAttribute(this.#role, this.#tieBreaker),
    ];
    if (nominate) attributes.push(useCandidateAttribute());
    const request = encodeStun({ class: 'request', transactionId, attributes, integrityKey: remote.pwd, fingerprint: true });
    // A check the plane sent to a pair our own check proved already leaves it Succeeded.
    if (!(sentAs && pair.state === 'succeeded')) pair.state = 'in-progress';
    let sends = 0;
    const send = () => {
      this.#trace('check', { remote: pair.remote, nominate, retransmit: sends++ });
      this.#send(pair.socket, pair.remote, request, sourceOf(pair));
    };
    const transaction = { id: transactionId, subject: pair, kind: 'check' as const, role: this.#role, useCandidate: nominate, send };
    if (sentAs) this.#trace('check', { remote: pair.remote, nominate, retransmit: sends++ });
    this.#transactions.start(transaction, this.#timing, sentAs !== undefined);
  }

  #timedOut(transaction: Transaction<Pair>): void {
    const pair = transaction.subject;
    this.#trace('timeout', { remote: pair.remote });
    if (transaction.kind === 'check' && pair.state === 'in-progress' && !this.#transactions.pending(pair)) pair.state = 'failed';
  }

  #select(pair: Pair): void {
    if (this.#selected === pair || this.#state === 'closed') return;
    this.#selected = pair;
    this.#stopPacing();
    // Ordinary checks on other pairs are done with (§8.1.2); their answers are still taken.
    for (const other of this.#pairs.values()) if (other !== pair) this.#transactions.quiet(other);
    this.#lastConsentAnswer = this.#lastFromSelected = Date.now();
    this.#emit(() => this.options.events?.selected?.({ socket: pair.socket, local: pair.local, remote: pair.remote, source: sourceOf(pair) }));
    if (this.#state !== 'connected') this.#setState('connected');
    this.#scheduleConsent();
  }

  #scheduleConsent(): void {
    clearTimeout(this.#consent);
    const interval = this.#timing.consentIntervalMs * (0.8 + 0.4 * Math.random());
    this.#consent = setTimeout(() => this.#consentTick(), interval);
  }

  #consentTick(): void {
    const pair = this.#selected;
    if (!pair || this.#state === 'closed') return;
    const now = Date.now();
    if (now - this.#lastConsentAnswer >= this.#timing.consentTimeoutMs) {
      // RFC 7675 §5.1: consent expired; nothing more may be sent to the client.
      this.#selected = undefined;
      this.#transactions.clear();
      this.#setState('failed');
      return;
    }
    if (now - this.#lastFromSelected >= this.#timing.disconnectedAfterMs && this.#state === 'connected') this.#setState('disconnected');
    const { remote, local } = this.options;
    const transactionId = randomBytes(12);
    const request = encodeStun({
      class: 'request',
      transactionId,
      attributes: [usernameAttribute(`${remote.ufrag}:${local.ufrag}`), priorityAttribute(checkPriority(pair.local)), iceRoleAttribute(this.#role, this.#tieBreaker)],
      integrityKey: remote.pwd,
      fingerprint: true,
    });
    const send = () => this.#send(pair.socket, pair.remote, request, sourceOf(pair));
    // One request per consent check, not retransmitted: the next check comes in 4-6 s (RFC 7675 §5.1).
    this.#transactions.start({ id: transactionId, subject: pair, kind: 'consent', role: this.#role, useCandidate: false, send }, { ...this.#timing, maxRequests: 1, lastWaitRtos: this.#timing.consentTimeoutMs / this.#timing.rtoMs });
    this.#scheduleConsent();
  }

  #respond(socket: number, from: UdpAddress, request: StunMessage, arrivedAt: string | undefined): void {
    const response = encodeStun({
      class: 'success',
      transactionId: request.transactionId,
      attributes: [xorMappedAddressAttribute(from, request.transactionId)],
      integrityKey: this.options.local.pwd,
      fingerprint: true,
    });
    this.#send(socket, from, response, arrivedAt);
  }

  #respondError(socket: number, from: UdpAddress, request: StunMessage, code: number, reason: string, extra: StunAttribute[], arrivedAt: string | undefined): void {
    const response = encodeStun({
      class: 'error',
      transactionId: request.transactionId,
      attributes: [errorCodeAttribute(code, reason), ...extra],
      integrityKey: this.options.local.pwd,
      fingerprint: true,
    });
    this.#send(socket, from, response, arrivedAt);
  }

  #send(socket: number, to: UdpAddress, data: Buffer, from: string | undefined): void {
    if (this.#state === 'closed') return;
    try {
      this.options.transport.send(socket, to, data, from);
    } catch {
      // A transport that cannot send now (a closed socket): the check times out like a lost one.
    }
  }

  /** Once per socket and remote; `source` is where that remote reaches us, for the data plane to send from. */
  #validate(socket: number, remote: UdpAddress, source: string | undefined): void {
    const key = validatedKey(socket, remote);
    if (this.#validated.has(key)) return;
    this.#validated.add(key);
    this.#emit(() => this.options.events?.validated?.(socket, { address: remote.address, port: remote.port }, source));
  }

  /** Pairs of a remote candidate with each of our sockets of its family. */
  #pairsFor(remote: RemoteCandidate): void {
    for (const local of this.options.localCandidates) {
      if (family(local.address) === family(remote.address)) this.#pair(local.socket, remote);
    }
  }

  #pair(socket: number, remote: RemoteCandidate, arrivedAt?: string): Pair {
    const key = `${socket}|${remote.address}|${remote.port}`;
    let pair = this.#pairs.get(key);
    if (pair) return pair;
    const local = this.#localFor(socket, remote.address, arrivedAt);
    pair = { key, socket, local, remote, priority: this.#pairPriority(local, remote), state: 'waiting', nominated: false, source: undefined };
    this.#pairs.set(key, pair);
    return pair;
  }

  /**
   * Our candidate on `socket` for a remote of this family: the one at the address its check
   * reached, where the data plane says. A check can reach a socket on an address we did not
   * announce for it (a dual-stack socket, a NAT with --public-ip): it is then the socket's
   * first candidate, or a peer-reflexive one.
   */
  #localFor(socket: number, remoteAddress: string, arrivedAt?: string): LocalCandidate {
    const candidates = this.options.localCandidates.filter((c) => c.socket === socket);
    const reached = arrivedAt === undefined ? undefined : candidates.find((c) => c.address === arrivedAt);
    if (reached) return reached;
    const sameFamily = candidates.find((c) => family(c.address) === family(remoteAddress));
    return sameFamily ?? candidates[0] ?? { socket, address: '', port: 0, priority: candidatePriority('prflx', 0), foundation: 'prflx' };
  }

  #pairPriority(local: LocalCandidate, remote: RemoteCandidate): bigint {
    return this.#role === 'controlling' ? pairPriority(local.priority, remote.priority) : pairPriority(remote.priority, local.priority);
  }

  #setState(state: IceAgentState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#emit(() => this.options.events?.state?.(state));
  }

  #trace(what: Parameters<NonNullable<IceAgentEvents['trace']>>[0], detail: Parameters<NonNullable<IceAgentEvents['trace']>>[1]): void {
    const trace = this.options.events?.trace;
    if (trace) this.#emit(() => trace(what, detail));
  }

  #emit(call: () => void): void {
    try {
      call();
    } catch {
      // A listener's error is its own: the agent goes on.
    }
  }
}

/** Where a pair's traffic leaves from: where its remote reaches us, else its local candidate's address. */
function sourceOf(pair: Pair): string | undefined {
  return pair.source ?? (pair.local.address || undefined);
}

function validatedKey(socket: number, remote: UdpAddress): string {
  return `${socket}|${remote.address}|${remote.port}`;
}
