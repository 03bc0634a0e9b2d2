/**
 * The script of the browser client's page, Chromium and Firefox alike, as plain browser
 * JavaScript (a string, so no compiler helper ever leaks into it). `window.echoTest(options)`
 * runs one Echo Test and resolves with a plain result; it never rejects.
 *
 * Test 0: fake camera (and microphone) from getUserMedia, passes once the echoed video
 * decodes (`framesDecoded > 0` on the inbound video). Test 1: a data channel, a short
 * random string out, the identical string back. Both: non-trickle, the offer is POSTed
 * once ICE gathering completes, as the Echo Test protocol wants.
 *
 * Sub-checks (src/client/sub-checks.ts, the same names and meaning as our CLI client's) go in
 * `result.checks`: the DTLS roles from a=setup and getStats()'s transport.dtlsRole, the SRTP
 * cipher (transport.srtpCipher), and in test 1 a binary, an empty text, an empty binary and a
 * max-message-size message after the string echo. A page sees no RTP or RTCP: the mid, NACK
 * and PLI checks are n/a, with the browser's own NACK/PLI counters as the detail.
 */
export const PAGE_SCRIPT = String.raw`
window.echoTest = async function echoTest({ url, test, audio, timeoutMs, iceServers = [], relayOnly = false }) {
  const started = performance.now();
  const timings = {};
  const mark = (step) => { if (timings[step] === undefined) timings[step] = Math.round((performance.now() - started) * 10) / 10; };
  const result = { ok: false, test, timings, candidates: { local: [], remote: [] } };
  const fail = (reason, message) => Object.assign(new Error(message), { reason });
  let timer;
  const deadline = new Promise((_, reject) => { timer = setTimeout(() => reject(fail('timeout', 'timed out after ' + timeoutMs + ' ms waiting for ' + waitingFor)), timeoutMs); });
  let waitingFor = 'the offer';
  const step = (what, promise) => { waitingFor = what; return Promise.race([promise, deadline]); };
  const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: relayOnly ? 'relay' : 'all' });
  const checks = [];
  result.checks = checks;
  const check = (name, status, detail) => checks.push({ name, status, detail });
  let offerSdp, answerSdp;
  let stream;
  try {
    let channel;
    if (test === 0) {
      stream = await step('the camera', navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240, frameRate: 15 }, audio }));
      for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendrecv', streams: [stream] });
    } else {
      channel = pc.createDataChannel('echo');
    }
    const connected = new Promise((resolve, reject) => {
      pc.addEventListener('iceconnectionstatechange', () => {
        if (pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed') mark('iceConnected');
      });
      pc.addEventListener('connectionstatechange', () => {
        if (pc.connectionState === 'connected') { mark('iceConnected'); mark('connected'); resolve(); }
        if (pc.connectionState === 'failed') reject(fail('connection-failed', 'the connection failed (ICE or DTLS)'));
      });
    });
    connected.catch(() => {});
    await step('the offer', pc.setLocalDescription());
    await step('ICE gathering', new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
    }));
    result.candidates.local = candidateLines(pc.localDescription.sdp);
    offerSdp = pc.localDescription.sdp;
    mark('offerReady');

    let response;
    try {
      response = await step('the answer', fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ type: pc.localDescription.type, sdp: pc.localDescription.sdp }),
      }));
    } catch (err) {
      if (err.reason) throw err;
      throw fail('signaling-unreachable', 'POST ' + url + ' failed: ' + err.message + ' (server down, or no CORS headers)');
    }
    if (!response.ok) throw fail('signaling-http-error', 'POST ' + url + ' answered ' + response.status + ': ' + (await response.text()).slice(0, 300));
    let answer;
    try { answer = await response.json(); } catch (err) { throw fail('signaling-bad-answer', 'the answer is not JSON'); }
    if (!answer || answer.type !== 'answer' || typeof answer.sdp !== 'string') throw fail('signaling-bad-answer', 'the reply is not an SDP answer');
    result.candidates.remote = candidateLines(answer.sdp);
    answerSdp = answer.sdp;
    mark('answerReceived');
    try {
      await step('the answer to apply', pc.setRemoteDescription(answer));
    } catch (err) {
      if (err.reason) throw err;
      throw fail('answer-rejected', 'the answer was refused: ' + err.message);
    }
    await step('the connection', connected);

    if (test === 1) {
      if (channel.readyState !== 'open') await step('the data channel to open', new Promise((resolve) => channel.addEventListener('open', resolve, { once: true })));
      mark('channelOpen');
      const sent = Math.random().toString(36).slice(2, 7);
      const reply = new Promise((resolve) => channel.addEventListener('message', (event) => resolve(String(event.data)), { once: true }));
      const sentAt = performance.now();
      channel.send(sent);
      const received = await step('the echoed message', reply);
      mark('firstEcho');
      result.dataChannel = { sent, received, rttMs: Math.round((performance.now() - sentAt) * 10) / 10 };
      // The sub-checks run after a wrong echo too: they say more about it. Bounded by what is left.
      const left = timeoutMs - (performance.now() - started) - 500;
      if (left > 500) await probeDataChannel(channel, offerSdp, answerSdp, pc.sctp, check, Math.min(3000, left));
      if (received !== sent) throw fail('echo-mismatch', 'sent ' + JSON.stringify(sent) + ', got back ' + JSON.stringify(received));
    } else {
      result.video = await step('echoed video to decode', decodedVideo(pc));
      mark('firstEcho');
      await mediaChecks(pc, check);
    }
    result.ok = true;
  } catch (err) {
    result.reason = err.reason || 'engine-error';
    result.message = err.message || String(err);
  } finally {
    clearTimeout(timer);
    await transportChecks(pc, test, offerSdp, answerSdp, timings, check).catch((err) => check('dtls-role', 'n/a', 'getStats failed: ' + err.message));
    result.connectionState = pc.connectionState;
    result.selectedPair = await selectedPair(pc).catch(() => undefined);
    if (stream) for (const track of stream.getTracks()) track.stop();
    pc.close();
    mark('closed');
  }
  return result;
};

/** The a=setup of the first section that has one, else the session's. */
function setupOf(sdp) {
  const lines = sdp.split(/\r?\n/);
  const firstMedia = lines.findIndex((l) => l.startsWith('m='));
  const inMedia = lines.slice(firstMedia < 0 ? lines.length : firstMedia).find((l) => l.startsWith('a=setup:'));
  const atSession = lines.slice(0, firstMedia < 0 ? lines.length : firstMedia).find((l) => l.startsWith('a=setup:'));
  const line = inMedia || atSession;
  return line ? line.slice('a=setup:'.length).trim() : undefined;
}

/** The transport stats (RTCTransportStats) of a report, the first one: the page bundles everything. */
function transportOf(stats) {
  for (const report of stats.values()) if (report.type === 'transport') return report;
  return undefined;
}

/** dtls-role, srtp-profile (test 0) and sctp-zero-checksum (test 1, never visible to a page), as src/client/transport-checks.ts decides them. */
async function transportChecks(pc, test, offerSdp, answerSdp, timings, check) {
  if (!offerSdp || !answerSdp) return;
  const offered = setupOf(offerSdp);
  const answered = setupOf(answerSdp);
  const sdp = 'offer ' + (offered || 'without a=setup') + ', answer ' + (answered || 'without a=setup');
  const transport = pc.connectionState === 'closed' ? undefined : transportOf(await pc.getStats());
  if (!answered) check('dtls-role', 'fail', 'the answer has no a=setup (' + sdp + ')');
  else if (answered === 'actpass') check('dtls-role', 'fail', 'the answer says actpass, which only an offer may (RFC 8842 §5.3): nobody is the DTLS client (' + sdp + ')');
  else if (answered !== 'active' && answered !== 'passive') check('dtls-role', 'fail', 'the answer\'s a=setup:' + answered + ' is not a role (' + sdp + ')');
  else if (offered && offered !== 'actpass' && offered === answered) check('dtls-role', 'fail', 'both sides ' + answered + ' (' + sdp + ')');
  else {
    const ours = answered === 'active' ? 'server' : 'client';
    const stackRole = transport && transport.dtlsRole;
    const known = stackRole === 'client' || stackRole === 'server';
    const taken = 'we are the DTLS ' + ours + ', the server the DTLS ' + (ours === 'client' ? 'server' : 'client') + ' (' + sdp + '; ' +
      (known ? 'the browser says ' + stackRole : 'getStats() transport has no dtlsRole') + ')';
    if (known && stackRole !== ours) check('dtls-role', 'fail', 'the SDP makes us the DTLS ' + ours + ' (' + sdp + ') but the browser took ' + stackRole);
    else if (timings.connected === undefined && timings.iceConnected !== undefined) check('dtls-role', 'fail', 'ICE connected but the DTLS handshake did not complete: ' + taken);
    else if (timings.connected === undefined) check('dtls-role', 'n/a', 'not connected (ICE did not connect either): ' + taken);
    else check('dtls-role', 'pass', taken);
  }
  if (timings.connected === undefined) return;
  if (test === 0) {
    const cipher = transport && transport.srtpCipher;
    if (!cipher) check('srtp-profile', 'n/a', transport ? 'getStats() transport has no srtpCipher' : 'getStats() has no transport');
    else if (/NULL/i.test(cipher)) check('srtp-profile', 'fail', cipher + ': no encryption');
    else check('srtp-profile', 'pass', cipher + (transport.dtlsCipher ? ' (DTLS ' + transport.dtlsCipher + ')' : ''));
  } else {
    check('sctp-zero-checksum', 'n/a', 'a page sees no SCTP INIT parameters');
  }
}

/** A page sees no RTP or RTCP: mid, NACK and PLI are n/a, with what the browser counted itself. */
async function mediaChecks(pc, check) {
  const stats = await pc.getStats();
  let inbound, outbound;
  for (const report of stats.values()) {
    if (report.type === 'inbound-rtp' && report.kind === 'video') inbound = report;
    if (report.type === 'outbound-rtp' && report.kind === 'video') outbound = report;
  }
  const n = (value) => (value === undefined ? '?' : value);
  check('mid-extension', 'n/a', 'a page sees no RTP header extensions');
  check('nack', 'n/a', 'a page can neither hold back a packet nor send RTCP (the browser itself sent ' + n(inbound && inbound.nackCount) + ' NACKs, got ' + n(outbound && outbound.nackCount) + ')');
  check('pli-keyframe', 'n/a', 'a page cannot send RTCP (the browser itself sent ' + n(inbound && inbound.pliCount) + ' PLIs, decoded ' + n(inbound && inbound.keyFramesDecoded) + ' keyframes)');
}

/** The a=max-message-size of the data channel section: 64 KiB when absent (RFC 8841 §6.1), 0: any size. */
function maxMessageSizeOf(sdp) {
  const line = sdp.split(/\r?\n/).find((l) => l.startsWith('a=max-message-size:'));
  return line ? Number(line.slice('a=max-message-size:'.length)) : 65536;
}

/** The data channel sub-checks of src/client/data-channel-probes.ts: binary, empty text, empty binary, max-message-size. */
async function probeDataChannel(channel, offerSdp, answerSdp, sctp, check, ms) {
  channel.binaryType = 'arraybuffer';
  const limits = [['answer', maxMessageSizeOf(answerSdp)], ['offer', maxMessageSizeOf(offerSdp)], ['cap', 262144]];
  if (sctp && typeof sctp.maxMessageSize === 'number' && isFinite(sctp.maxMessageSize)) limits.push(['browser', sctp.maxMessageSize]);
  const size = Math.min.apply(null, limits.map((l) => l[1]).filter((v) => v > 0));
  const big = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(big.subarray(i, Math.min(size, i + 65536)));
  const every = new Uint8Array(256).map((_, i) => i);
  const probes = [
    { name: 'dc-binary', message: every, describe: 'a 256-byte binary message (every byte value)' },
    { name: 'dc-empty-string', message: '', describe: 'an empty string' },
    { name: 'dc-empty-binary', message: new Uint8Array(0), describe: 'an empty binary message' },
    { name: 'max-message-size', message: big, describe: 'a ' + size + '-byte binary message (the smallest of: ' + limits.map((l) => l[0] + ' ' + (l[1] === 0 ? 'any' : l[1])).join(', ') + ')' },
  ];
  const received = [];
  const done = new Promise((resolve) => channel.addEventListener('message', (event) => {
    received.push(typeof event.data === 'string' ? event.data : new Uint8Array(event.data));
    if (received.length >= probes.length) resolve();
  }));
  const sentAt = performance.now();
  const unsent = {};
  for (const probe of probes) {
    try { channel.send(probe.message); } catch (err) { unsent[probe.name] = err.message; }
  }
  await Promise.race([done, new Promise((resolve) => setTimeout(resolve, ms))]);
  const elapsed = Math.round(performance.now() - sentAt);
  const sizeOf = (m) => (typeof m === 'string' ? new TextEncoder().encode(m).length : m.length);
  const same = (a, b) => {
    if (typeof a === 'string' || typeof b === 'string') return typeof a === typeof b && a === b;
    return a.length === b.length && a.every((v, i) => v === b[i]);
  };
  const show = (m) => (typeof m === 'string' ? 'text ' + JSON.stringify(m.length > 60 ? m.slice(0, 60) + '…' : m) : 'binary of ' + m.length + ' bytes');
  const left = received.slice();
  const matched = {};
  for (const probe of probes) {
    const index = left.findIndex((m) => same(m, probe.message));
    if (index < 0 || unsent[probe.name] !== undefined) continue;
    left.splice(index, 1);
    matched[probe.name] = true;
  }
  for (const probe of probes) {
    if (unsent[probe.name] !== undefined) { check(probe.name, 'fail', probe.describe + ' could not be sent: ' + unsent[probe.name]); continue; }
    if (matched[probe.name]) { check(probe.name, 'pass', probe.describe + ' came back the same (the probes took ' + elapsed + ' ms)'); continue; }
    let index = left.findIndex((m) => sizeOf(m) === sizeOf(probe.message));
    if (index < 0) index = left.findIndex((m) => typeof m === typeof probe.message);
    const instead = index >= 0 ? left.splice(index, 1)[0] : undefined;
    check(probe.name, 'fail', instead === undefined ? probe.describe + ' did not come back within ' + ms + ' ms' : probe.describe + ' came back as ' + show(instead));
  }
}

function candidateLines(sdp) {
  return sdp.split(/\r?\n/).filter((line) => line.startsWith('a=candidate:')).map((line) => line.slice(2));
}

/** Polls getStats until the inbound video has decoded a frame. */
async function decodedVideo(pc) {
  for (;;) {
    const stats = await pc.getStats();
    for (const report of stats.values()) {
      if (report.type === 'inbound-rtp' && report.kind === 'video' && report.framesDecoded > 0) {
        const codec = report.codecId ? stats.get(report.codecId) : undefined;
        return { framesDecoded: report.framesDecoded, packetsReceived: report.packetsReceived, codec: codec ? codec.mimeType : undefined };
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The candidate pair in use, to show which addresses (and mDNS names) connected. */
async function selectedPair(pc) {
  const stats = await pc.getStats();
  for (const report of stats.values()) {
    if (report.type !== 'candidate-pair' || !report.nominated || report.state !== 'succeeded') continue;
    const local = stats.get(report.localCandidateId);
    const remote = stats.get(report.remoteCandidateId);
    return { local: local && (local.address + ':' + local.port + ' ' + local.candidateType), remote: remote && (remote.address + ':' + remote.port + ' ' + remote.candidateType) };
  }
  return undefined;
}
`;
