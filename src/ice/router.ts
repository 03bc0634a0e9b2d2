/**
 * STUN on a socket that several sessions share (the data plane's mux socket): which agent a
 * message is for. A request names it by its USERNAME (`<our ufrag>:<theirs>`, RFC 8445
 * §7.2.2), an answer by the transaction id of the agent's own request, an indication by the
 * address it came from, once a check from there named its agent. On a socket of its own, a
 * session's agent takes everything; no router is needed.
 */
import { username } from '../stun/attributes.js';
import { parseStun } from '../stun/message.js';
import type { IceAgent } from './agent.js';
import type { AnsweredByPlane, UdpAddress } from './types.js';

export class IceRouter {
  readonly #byUfrag = new Map<string, IceAgent>();
  readonly #byAddress = new Map<string, IceAgent>();

  add(ufrag: string, agent: IceAgent): void {
    this.#byUfrag.set(ufrag, agent);
  }

  /** Forgets the agent under every key it had. */
  remove(agent: IceAgent): void {
    for (const [key, value] of this.#byUfrag) if (value === agent) this.#byUfrag.delete(key);
    for (const [key, value] of this.#byAddress) if (value === agent) this.#byAddress.delete(key);
  }

  /** Hands one datagram (that reached our address `local`) to its agent; false when no agent takes it (not STUN, or no one's). */
  route(socket: number, from: UdpAddress, data: Buffer, local?: string, answered?: AnsweredByPlane): boolean {
    const message = parseStun(data);
    if (!message) return false;
    const addressKey = `${socket}|${from.address}|${from.port}`;
    let agent: IceAgent | undefined;
    if (message.class === 'request') {
      const name = username(message);
      const colon = name?.indexOf(':') ?? -1;
      agent = name && colon > 0 ? this.#byUfrag.get(name.slice(0, colon)) : undefined;
      if (agent) this.#byAddress.set(addressKey, agent);
    } else if (message.class === 'indication') {
      agent = this.#byAddress.get(addressKey);
    } else {
      // An answer to one of an agent's checks: usually from an address that checked it already.
      const known = this.#byAddress.get(addressKey);
      if (known?.ownsTransaction(message.transactionId)) agent = known;
      else for (const candidate of new Set(this.#byUfrag.values())) {
        if (candidate.ownsTransaction(message.transactionId)) {
          agent = candidate;
          break;
        }
      }
    }
    if (!agent) return false;
    agent.receiveMessage(socket, from, message, local, answered);
    return true;
  }
}
