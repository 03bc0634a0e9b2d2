/**
 * The offer checks that run before any stack sees an offer (src/sdp/offer.ts): text, line
 * length, BUNDLE and the offer limits, first on real offers as functions, then over HTTP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { EchoError } from '../../src/errors/echo-error.js';
import { OFFER_LIMIT_DEFAULTS, parseOfferBody } from '../../src/sdp/offer.js';
import { ROOT } from '../helpers/cli.js';
import { realOffer, shapedOffer } from '../helpers/offer-shapes.js';
import { postJson, startTestServer } from '../helpers/server.js';
import { TESTED_ENGINES } from '../helpers/engines.js';

const REAL_OFFERS = readdirSync(`${ROOT}testdata/offers`).map((file) => file.replace(/\.json$/, ''));

function codeOf(body: unknown): string | undefined {
  try {
    parseOfferBody(body);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof EchoError, `threw ${String(err)}`);
    return err.code;
  }
}

/** The first media section's lines, to edit. */
function editSdp(name: string, edit: (sdp: string) => string): { type: 'offer'; sdp: string } {
  const offer = realOffer(name);
  return { type: 'offer', sdp: edit(offer.sdp) };
}

test('every captured real offer (Chromium, pion, aiortc, GStreamer, our engines) passes the checks within the default limits', () => {
  assert.ok(REAL_OFFERS.length >= 14, `testdata/offers has ${REAL_OFFERS.length} offers`);
  for (const name of REAL_OFFERS) assert.equal(codeOf(realOffer(name)), undefined, name);
});

test('NUL, other control characters and a lone CR are ECHO_ERR_INVALID_SDP_CHARACTERS; TAB and LF-only lines are not', () => {
  for (const bad of ['\0', '\x01', '\x1b', '\x7f', '\u0085', '\r']) {
    assert.equal(codeOf(editSdp('chromium-media', (sdp) => sdp.replace('s=-', `s=-${bad}x`))), 'ECHO_ERR_INVALID_SDP_CHARACTERS', JSON.stringify(bad));
  }
  assert.equal(codeOf(editSdp('chromium-media', (sdp) => sdp.replace('s=-', 's=-\tx'))), undefined, 'TAB');
  assert.equal(codeOf(editSdp('chromium-media', (sdp) => sdp.replaceAll('\r\n', '\n'))), undefined, 'LF line endings');
});

test('a line over 4 KiB is ECHO_ERR_UNPARSABLE_SDP, one of exactly 4 KiB is not', () => {
  const withLine = (length: number) => editSdp('chromium-media', (sdp) => sdp.replace('s=-\r\n', `s=-\r\na=x-pad:${'p'.repeat(length - 'a=x-pad:'.length)}\r\n`));
  assert.equal(codeOf(withLine(4096)), undefined);
  assert.equal(codeOf(withLine(4097)), 'ECHO_ERR_UNPARSABLE_SDP');
  // Counted in bytes: 2,000 two-byte characters are 4,000 bytes plus the attribute name.
  assert.equal(codeOf(editSdp('chromium-media', (sdp) => sdp.replace('s=-', `s=${'é'.repeat(2100)}`))), 'ECHO_ERR_UNPARSABLE_SDP');
});

test('a BUNDLE group naming a mid no section carries, a bundled section without a mid, and a repeated mid are ECHO_ERR_UNPARSABLE_SDP', () => {
  assert.equal(codeOf(editSdp('chromium-media', (sdp) => sdp.replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE 0 1 7'))), 'ECHO_ERR_UNPARSABLE_SDP');
  assert.equal(codeOf(editSdp('chromium-media', (sdp) => sdp.replace('a=mid:1\r\n', ''))), 'ECHO_ERR_UNPARSABLE_SDP');
  assert.equal(codeOf(editSdp('chromium-media', (sdp) => sdp.replace('a=mid:1\r\n', 'a=mid:0\r\n'))), 'ECHO_ERR_UNPARSABLE_SDP');
  // Without a BUNDLE group, a section without a mid is legal (pre-JSEP offers): the stack decides.
  assert.equal(codeOf(editSdp('chromium-media', (sdp) => sdp.replace('a=group:BUNDLE 0 1\r\n', '').replace('a=mid:1\r\n', ''))), undefined);
  const message = (() => {
    try {
      parseOfferBody(editSdp('chromium-media', (sdp) => sdp.replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE 0 1 7')));
    } catch (err) {
      return (err as Error).message;
    }
  })();
  assert.match(message ?? '', /mid "7"/);
});

test('codec lines the stacks parse as numbers must be numbers: a=rtpmap:96 VP8/:90000 aborted the libdatachannel server (fuzz seed 1)', () => {
  const broken = ['a=rtpmap:96 VP8/:90000', 'a=rtpmap:96 VP8/', 'a=rtpmap:96 VP8/99999999999', 'a=rtpmap:128 VP8/90000', 'a=rtpmap:x VP8/90000', 'a=rtpmap:96 VP8/90000/', 'a=fmtp:96', 'a=fmtp:-1 x=1', 'a=rtcp-fb:9x nack'];
  for (const line of broken) {
    assert.equal(codeOf(editSdp('chromium-media', (sdp) => sdp.replace(/^a=rtpmap:96 VP8\/90000$/m, line))), 'ECHO_ERR_UNPARSABLE_SDP', line);
  }
  assert.equal(codeOf(editSdp('chromium-media', (sdp) => sdp.replace(/^a=rtcp-fb:96 nack$/m, 'a=rtcp-fb:* nack'))), undefined, 'the rtcp-fb wildcard');
});

test('media sections and distinct candidates over the limits are refused with their own codes; a candidate repeated in bundled sections counts once', () => {
  const { maxMediaSections, maxCandidates } = OFFER_LIMIT_DEFAULTS;
  assert.equal(codeOf(shapedOffer({ audio: maxMediaSections / 2, video: maxMediaSections / 2 })), undefined);
  assert.equal(codeOf(shapedOffer({ audio: maxMediaSections / 2, video: maxMediaSections / 2 + 1 })), 'ECHO_ERR_TOO_MANY_MEDIA_SECTIONS');
  assert.equal(codeOf(shapedOffer({ audio: 1, candidatesPerSection: maxCandidates })), undefined);
  assert.equal(codeOf(shapedOffer({ audio: 1, candidatesPerSection: maxCandidates + 1 })), 'ECHO_ERR_TOO_MANY_CANDIDATES');
  // Chromium writes its candidates into every bundled section: 16 sections of the same 4 are 4.
  const chromium = realOffer('chromium-media').sdp;
  const candidates = chromium.split('\r\n').filter((line) => line.startsWith('a=candidate:')).slice(0, 4);
  const repeated = shapedOffer({ audio: 8, video: 8, candidatesPerSection: 0 }).sdp.replace(/a=setup:actpass\r\n/g, `a=setup:actpass\r\n${candidates.join('\r\n')}\r\n`);
  assert.equal((repeated.match(/^a=candidate:/gm) ?? []).length, 64);
  assert.equal(codeOf({ type: 'offer', sdp: repeated }), undefined);
  assert.deepEqual(
    (() => {
      try {
        parseOfferBody(shapedOffer({ audio: 3 }), { maxMediaSections: 2, maxCandidates: 64 });
      } catch (err) {
        return (err as EchoError).context;
      }
    })(),
    { count: 3, max: 2 },
  );
});

test('over HTTP: each refusal gets its status and code, the limits are the server options, and no session is left', async (t) => {
  const server = await startTestServer(t, 'libdatachannel', { maxMediaSections: 4, maxCandidates: 8 });
  const url = `${server.url}/offer`;
  const cases: [string, unknown, number, string][] = [
    ['NUL', editSdp('pion-media', (sdp) => sdp.replace('s=-', 's=\0')), 400, 'ECHO_ERR_INVALID_SDP_CHARACTERS'],
    ['a 5 KiB line', editSdp('pion-media', (sdp) => sdp.replace('s=-', `s=${'x'.repeat(5000)}`)), 422, 'ECHO_ERR_UNPARSABLE_SDP'],
    ['a BUNDLE group naming mid 9', editSdp('libdatachannel-media', (sdp) => sdp.replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE 0 1 9')), 422, 'ECHO_ERR_UNPARSABLE_SDP'],
    ['5 media sections', shapedOffer({ audio: 5 }), 422, 'ECHO_ERR_TOO_MANY_MEDIA_SECTIONS'],
    ['9 candidates', shapedOffer({ audio: 1, candidatesPerSection: 9 }), 422, 'ECHO_ERR_TOO_MANY_CANDIDATES'],
  ];
  for (const [name, body, status, code] of cases) {
    const response = await postJson(url, body);
    assert.equal(response.status, status, name);
    assert.equal(((await response.json()) as { error: string }).error, code, name);
  }
  assert.equal(server.sessions.size, 0);
  const response = await postJson(url, shapedOffer({ audio: 2, video: 2, candidatesPerSection: 2 }));
  assert.equal(response.status, 200, 'an offer at the limits is answered');
  await response.json();
});

test('ICE credentials that read as numbers stay text (a=ice-ufrag:6018, werift writes such): parsed as strings, and every engine answers them (the native engine answered 500)', async (t) => {
  const digits = editSdp('werift-media', (sdp) => sdp.replace(/a=ice-ufrag:.*/g, 'a=ice-ufrag:6018').replace(/a=ice-pwd:.*/g, 'a=ice-pwd:1234567890123456789012'));
  const parsed = parseOfferBody(digits).parsed;
  for (const part of [parsed, ...parsed.media] as Array<{ iceUfrag?: unknown; icePwd?: unknown }>) {
    if (part.iceUfrag !== undefined) assert.equal(part.iceUfrag, '6018');
    if (part.icePwd !== undefined) assert.equal(part.icePwd, '1234567890123456789012');
  }
  for (const engine of TESTED_ENGINES) {
    const server = await startTestServer(t, engine);
    const response = await postJson(`${server.url}/offer`, digits);
    assert.equal(response.status, 200, `${engine}: ${await response.text()}`);
    await server.close();
  }
});
