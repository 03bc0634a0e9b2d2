/** What the ICE agent (agent.ts) takes and gives: sockets by number, addresses as text. */

/** An address as a socket gives and takes it: IPv4 dotted quad or IPv6 text (no brackets, no IPv4-mapped form). */
export interface UdpAddress {
  address: string;
  port: number;
}

/**
 * Where the agent's STUN goes out: the native data plane's sockets (`NativePlane.send`), or
 * node dgram sockets in tests. Received STUN comes back in through `IceAgent.receive`.
 */
export interface IceTransport {
  /**
   * `from`: the address of ours it should leave from (where the remote's checks arrive, or the
   * pair's local candidate), for a socket bound to a wildcard; undefined: the kernel chooses.
   */
  send(socket: number, to: UdpAddress, data: Buffer, from?: string): void;
}

export interface IceCredentials {
  ufrag: string;
  pwd: string;
}

/** RTCIceConnectionState, as far as one agent has it. `closed` is last. */
export type IceAgentState = 'new' | 'checking' | 'connected' | 'disconnected' | 'failed' | 'closed';

export type IceRole = 'controlling' | 'controlled';

/** One of our host candidates: a socket and the address it is announced with for one family. */
export interface LocalCandidate {
  socket: number;
  address: string;
  port: number;
  priority: number;
  foundation: string;
}

export interface RemoteCandidate {
  address: string;
  port: number;
  priority: number;
  type: 'host' | 'srflx' | 'prflx' | 'relay';
  foundation: string;
}

/** The pair ICE selected, as the data plane needs it (`selectRemote`) and the session reports it. */
export interface SelectedPair {
  socket: number;
  local: LocalCandidate;
  remote: RemoteCandidate;
  /** The address of ours the remote reaches on this pair (where its STUN arrived), if the data plane said; else the local candidate's. */
  source: string | undefined;
}

/**
 * A check the data plane answered before the agent saw it (plane.ts PlaneEvent `stun`): the
 * agent neither answers nor validates it again. `check`: the transaction id of the triggered
 * check the plane sent back with its answer; the agent adopts it (resends it, takes its answer).
 */
export interface AnsweredByPlane {
  check?: Buffer;
}

export interface IceAgentEvents {
  state?(state: IceAgentState): void;
  /**
   * An address that passed a check either way (its check answered by us, or ours answered by
   * it): the data plane may now take DTLS and SRTP from it (`NativePlane.allowRemote`). Once
   * per socket and address.
   */
  validated?(socket: number, remote: UdpAddress, source: string | undefined): void;
  /** The agent switched ICE role (a role conflict, RFC 8445 §7.3.1.1 or a 487 answer). */
  role?(role: IceRole): void;
  /** The pair nominated and valid: where DTLS and media go (`NativePlane.selectRemote`); again on a later nomination. */
  selected?(pair: SelectedPair): void;
  /** Every check sent and STUN message taken, for a debug log (off unless given). */
  trace?(what: 'check' | 'consent' | 'request' | 'answer' | 'timeout', detail: { remote: UdpAddress; nominate?: boolean; class?: string; retransmit?: number }): void;
}
