/**
 * The offer is parsed once (src/sdp/offer.ts) and rewritten in step (src/sdp/parsed-offer.ts):
 * whatever the rewrites do to the text, the parse they hand on must be what a fresh parse of
 * that text would give, or the engine would read one offer and apply another. And the one
 * candidate codec (src/sdp/candidate-line.ts) reads each line as the parse does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { candidatesOf, parseCandidate } from '../../src/sdp/candidate-line.js';
import { applyCandidatePolicy, candidatePolicy, parseCidrList } from '../../src/sdp/candidate-policy.js';
import { parseOffer } from '../../src/sdp/offer.js';
import { rewriteCandidates, type ParsedOffer } from '../../src/sdp/parsed-offer.js';
import { ROOT } from '../helpers/cli.js';
import { realOffer } from '../helpers/offer-shapes.js';

const OFFERS = readdirSync(`${ROOT}testdata/offers`).map((file) => file.replace(/\.json$/, ''));

const candidatesInParse = (offer: ParsedOffer) => offer.parsed.media.flatMap((m) => m.candidates ?? []);

test('the codec reads every candidate line of every real offer as the offer\'s one parse does', () => {
  for (const name of OFFERS) {
    const { sdp } = realOffer(name);
    assert.deepEqual(candidatesOf(sdp), candidatesInParse(parseOffer(sdp)), name);
  }
  assert.equal(parseCandidate('a=candidate:1 1 udp 1 127.0.0.1 9'), undefined, 'no typ: not a candidate the grammar reads');
  assert.equal(parseCandidate('candidate:1 1 udp 1 2130706433 9 typ host')?.ip, '2130706433', 'an address is text, even one that looks like a number');
});

test('after the candidate policy and an address rewrite, the parse handed on equals a fresh parse of the new text', () => {
  const denyAll = candidatePolicy({ listenHost: '127.0.0.1', deny: parseCidrList('0.0.0.0/0,::/0') });
  const publicServer = candidatePolicy({ listenHost: '0.0.0.0' });
  let rewritten = 0;
  for (const name of OFFERS) {
    const offer = parseOffer(realOffer(name).sdp);
    for (const policy of [denyAll, publicServer]) {
      const { offer: out } = applyCandidatePolicy(offer, policy);
      assert.deepEqual(out.parsed, parseOffer(out.sdp).parsed, `${name}: policy`);
      if (out !== offer) rewritten++;
    }
    const moved = rewriteCandidates(offer, (c) => (c?.type === 'host' ? { address: '192.0.2.1' } : 'keep'));
    assert.deepEqual(moved.parsed, parseOffer(moved.sdp).parsed, `${name}: new addresses`);
    assert.ok(candidatesInParse(moved).every((c) => c.type !== 'host' || c.ip === '192.0.2.1'));
  }
  assert.ok(rewritten > 0, 'some offers had candidates to drop');
});

test('nothing to rewrite: the same offer back, the same object', () => {
  const offer = parseOffer(realOffer('chromium-datachannel').sdp);
  assert.equal(rewriteCandidates(offer, () => 'keep'), offer);
});
