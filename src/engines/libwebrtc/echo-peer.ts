/**
 * The libwebrtc server side: answers one offer, echoes every data channel message on its channel,
 * and echoes media by sending each received track back on its own transceiver.
 *
 * libwebrtc has no raw RTP API, so the media echo is not packet for packet: the received stream
 * is decoded and the decoded frames (or audio) are encoded again for the way back. The client
 * gets the same content with its own sequence numbers, timestamps, payload sizes and codec
 * settings, a little later, and libwebrtc answers the client's keyframe requests from its own
 * encoder. Counters therefore come from getStats(), not from a packet path.
 */
import type { CandidatePair, EchoCounters, EchoPeer, EchoPeerOptions, IceState, PeerState } from '../engine.js';
import type { SessionDescription } from '../../sdp/description.js';
import type { ParsedOffer } from '../../sdp/parsed-offer.js';
import { splitCandidates, type SdpCandidate } from '../../sdp/candidates.js';
import { HeldCandidates, racesEarlyChecks } from '../kit/held-candidates.js';
import { stackTakes } from '../kit/refusal.js';
import { safely } from '../kit/close.js';
import { waitForGathering } from '../kit/gathering.js';
import { messageBytes, toMessage } from '../kit/messages.js';
import { PeerStates } from '../kit/state-reporter.js';
import { WrtcPeerConnection, closePeer, followStates, gatheringComplete, peerConfig } from './addon.js';
import { guardProcessExit } from './exit-guard.js';
import { inboundIceActivity, selectedPairFromStats, sumRtpStats } from './stats.js';

/**
 * How often media counters are refreshed from getStats(), in ms. The interface reads counters
 * synchronously (also right after close(), when stats are gone), so they trail by up to this.
 * The same poll notices a client that closed (see #transportClosed).
 */
const STATS_INTERVAL_MS = 500;

export async function createLibwebrtcEchoPeer(offer: ParsedOffer, options: EchoPeerOptions): Promise<EchoPeer> {
  guardProcessExit();
  const pc = new WrtcPeerConnection(peerConfig(options.network));
  const peer = new LibwebrtcEchoPeer(pc, options);
  try {
    // libwebrtc checks the offer's candidates as soon as it has them: a libdatachannel client
    // gets them only after a hold-off (kit/held-candidates.ts), and is learned from its own
    // checks until then (peer-reflexive).
    const { sdp, candidates } = racesEarlyChecks(offer.parsed) ? libdatachannelOffer(offer.sdp) : { sdp: offer.sdp, candidates: [] };
    // libwebrtc fires `track` inside setRemoteDescription, before it resolves; every transceiver
    // and its receiving track exist by the time it does, so the echo is wired up right after.
    await stackTakes(() => pc.setRemoteDescription({ type: 'offer', sdp }));
    await peer.echoTracks();
    const answer = await stackTakes(() => pc.createAnswer());
    await stackTakes(() => pc.setLocalDescription(answer));
    await waitForGathering(gatheringComplete(pc), options.gatherTimeoutMs, peer.log, 'answer');
    peer.start(candidates);
    return peer;
  } catch (err) {
    peer.close();
    throw err;
  }
}

/**
 * A libdatachannel client's offer as libwebrtc takes it: without its candidates (held back, see
 * above), and when it had some, with `a=setup:active` for `actpass`, so that libwebrtc answers
 * `passive` and the client sends the ClientHello once its own ICE is connected. As DTLS client,
 * libwebrtc sends its hello once its own check succeeds, which after the hold-off (or under
 * load) can be before the client's ICE is connected: libdatachannel 0.24.5 keeps that hello but
 * often handles it only with the resend 1 s later (docs/triggered-check.md). libwebrtc keeps an early ClientHello
 * (DtlsTransport's cached ClientHello) and answers it once it is writable. libdatachannel picks
 * SCTP stream ids by DTLS role (RFC 8832 §6), so the role is all that changes.
 */
function libdatachannelOffer(offerSdp: string): { sdp: string; candidates: SdpCandidate[] } {
  const { sdp, candidates } = splitCandidates(offerSdp);
  // Without candidates (our own client's offers) nothing is held back: the client always checks
  // first, and libwebrtc keeps the role it chose before.
  if (candidates.length === 0) return { sdp, candidates };
  return { sdp: sdp.replace(/^a=setup:actpass(?=\r?$)/gm, 'a=setup:active'), candidates };
}

class LibwebrtcEchoPeer implements EchoPeer {
  readonly counters: EchoCounters = { rtpPackets: 0, rtpBytes: 0, keyframeRequests: 0, messages: 0, messageBytes: 0 };
  readonly #pc: RTCPeerConnection;
  readonly log: EchoPeerOptions['log'];
  readonly #states: PeerStates;
  readonly #channels = new Set<RTCDataChannel>();
  readonly #admitDataChannel: EchoPeerOptions['admitDataChannel'];
  #statsTimer: NodeJS.Timeout | undefined;
  #statsInFlight = false;
  #inboundActivity = 0;
  #answerSdp = '';
  #heldCandidates: HeldCandidates | undefined;
  #closed = false;

  constructor(pc: RTCPeerConnection, options: EchoPeerOptions) {
    this.#pc = pc;
    this.#admitDataChannel = options.admitDataChannel;
    this.log = options.log.child({ engine: 'libwebrtc', role: 'echo' });
    this.#states = new PeerStates((err) => this.log.error({ err }, 'state listener threw'));
    followStates(pc, this.#states, () => this.close());
    pc.ondatachannel = (event) => this.#echoChannel(event.channel);
  }

  get answer(): SessionDescription {
    return { type: 'answer', sdp: this.#answerSdp };
  }

  onStateChange(listener: (state: PeerState) => void): void {
    this.#states.connection.listen(listener);
  }

  onIceStateChange(listener: (state: IceState) => void): void {
    this.#states.ice.listen(listener);
  }

  /**
   * After the offer is applied: every media section sends its own received track back. The
   * direction is set before the answer is created, so the answer says sendrecv (recvonly where
   * the client only sends, which libwebrtc derives from the offer by itself).
   */
  async echoTracks(): Promise<void> {
    const replacements: Array<Promise<void>> = [];
    for (const transceiver of this.#pc.getTransceivers()) {
      const track = transceiver.receiver.track;
      if (track.kind !== 'audio' && track.kind !== 'video') continue;
      transceiver.direction = 'sendrecv';
      replacements.push(transceiver.sender.replaceTrack(track));
    }
    await Promise.all(replacements);
  }

  /** After the answer is complete: keep its final SDP, start counting, and start the hold-off of `held`. */
  start(held: readonly SdpCandidate[]): void {
    this.#answerSdp = this.#pc.localDescription?.sdp ?? '';
    if (this.#closed) return;
    this.#heldCandidates = new HeldCandidates({
      candidates: held,
      add: ({ candidate, mid }) => this.#pc.addIceCandidate({ candidate, sdpMid: mid }),
      iceState: () => this.#states.ice.current,
      log: this.log,
    });
    this.#statsTimer = setInterval(() => this.#refreshCounters(), STATS_INTERVAL_MS);
    // Bookkeeping only: an open echo peer must not keep the process alive by this timer.
    this.#statsTimer.unref();
  }

  /** From the last stats poll (every STATS_INTERVAL_MS): see inboundIceActivity. */
  inboundActivity(): number {
    return this.#inboundActivity;
  }

  /** libwebrtc's own checks of the selected pair make a live client answer. */
  probeLiveness(): void {}

  /** A trickled candidate (WHIP/WHEP PATCH). wrtc applies it asynchronously; a refusal is only logged. */
  addRemoteCandidate({ candidate, mid }: SdpCandidate): void {
    this.#pc.addIceCandidate({ candidate, sdpMid: mid }).catch((err: unknown) => this.log.debug({ err, candidate }, 'trickled candidate not added'));
  }

  async selectedPair(): Promise<CandidatePair | undefined> {
    if (this.#closed) return undefined;
    try {
      return selectedPairFromStats(await this.#pc.getStats());
    } catch {
      return undefined; // closed meanwhile
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const logError = (err: unknown) => this.log.debug({ err }, 'error while closing');
    clearInterval(this.#statsTimer);
    this.#heldCandidates?.cancel();
    this.#pc.ondatachannel = null;
    const channels = [...this.#channels];
    this.#channels.clear();
    closePeer(this.#pc, channels, logError);
    this.#states.close();
  }

  #echoChannel(channel: RTCDataChannel): void {
    if (this.#closed || this.#admitDataChannel?.(channel.label) === false) {
      safely(() => channel.close(), (err) => this.log.debug({ err }, 'channel not closed'));
      return;
    }
    channel.binaryType = 'arraybuffer';
    this.#channels.add(channel);
    // Messages that arrived before this wrapper existed can come out of order: wrtc hands them
    // over after registering the wrapper, so one arriving in between overtakes them. Nothing here
    // can tell (docs/workarounds.md, libwebrtc; scripts/libwebrtc-order-soak.mjs).
    // The DOM typings give send() one overload per kind; the stack takes either, as it came.
    const echo: { send(data: string | ArrayBuffer): void } = channel;
    channel.onmessage = (event: MessageEvent<string | ArrayBuffer>) => {
      this.counters.messages++;
      this.counters.messageBytes += messageBytes(toMessage(event.data));
      try {
        echo.send(event.data);
      } catch (err) {
        this.log.debug({ err, label: channel.label }, 'echo message not sent');
      }
    };
    channel.onclose = () => this.#channels.delete(channel);
  }

  /**
   * libwebrtc never leaves `connected` when the client closes: it reports `failed` once ICE
   * consent runs out (about 17 s here). A client that ends the association (SCTP ABORT, DTLS
   * close_notify, as libwebrtc and Chromium do) leaves the transports reading `closed`, which is
   * checked here. libdatachannel's close changes none of them; that session ends at `failed`.
   */
  #transportClosed(): boolean {
    const transports = [this.#pc.sctp?.transport, ...this.#pc.getSenders().map((sender) => sender.transport)];
    return transports.some((transport) => transport?.state === 'closed');
  }

  /**
   * rtpPackets/rtpBytes: what the echo's senders put on the wire (re-encoded, so not the client's
   * packet count). keyframeRequests: PLI/FIR libwebrtc's decoders sent to the client's sender —
   * the echo's own requests, since the client's requests about the echo never leave this peer.
   */
  #refreshCounters(): void {
    if (this.#closed || this.#statsInFlight) return;
    this.#statsInFlight = true;
    this.#pc
      .getStats()
      .then((report) => {
        if (this.#closed) return;
        const totals = sumRtpStats(report);
        this.counters.rtpPackets = totals.packetsSent;
        this.counters.rtpBytes = totals.bytesSent;
        this.counters.keyframeRequests = totals.keyframeRequestsSent;
        this.#inboundActivity = inboundIceActivity(report);
        if (totals.dtlsClosed || this.#transportClosed()) {
          this.log.debug('the client closed the connection');
          this.close();
        }
      })
      .catch((err: unknown) => this.log.debug({ err }, 'getStats failed'))
      .finally(() => {
        this.#statsInFlight = false;
      });
  }
}
