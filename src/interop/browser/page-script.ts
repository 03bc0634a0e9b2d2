/**
 * The script of the browser client's page, Chromium and Firefox alike, as plain browser
 * JavaScript (a string, so no compiler helper ever leaks into it). `window.echoTest(options)`
 * runs one Echo Test and resolves with a plain result; it never rejects.
 *
 * Test 0: fake camera (and microphone) from getUserMedia, passes once the echoed video
 * decodes (`framesDecoded > 0` on the inbound video). Test 1: a data channel, a short
 * random string out, the identical string back. Both: non-trickle, the offer is POSTed
 * once ICE gathering completes, as the Echo Test protocol wants.
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
      if (received !== sent) throw fail('echo-mismatch', 'sent ' + JSON.stringify(sent) + ', got back ' + JSON.stringify(received));
    } else {
      result.video = await step('echoed video to decode', decodedVideo(pc));
      mark('firstEcho');
    }
    result.ok = true;
  } catch (err) {
    result.reason = err.reason || 'engine-error';
    result.message = err.message || String(err);
  } finally {
    clearTimeout(timer);
    result.connectionState = pc.connectionState;
    result.selectedPair = await selectedPair(pc).catch(() => undefined);
    if (stream) for (const track of stream.getTracks()) track.stop();
    pc.close();
    mark('closed');
  }
  return result;
};

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
