/**
 * The transport sub-checks: the DTLS roles (from the SDP, and from the stack where it says),
 * the SRTP profile (test 0) and SCTP zero checksum (test 1), where the stack can see them.
 * Plain code, no Node API: the browser client's page script runs the same checks.
 */
import type { TransportFacts } from '../engines/engine.js';
import { dtlsRoles } from '../sdp/negotiated.js';
import type { SubChecks } from './sub-checks.js';

/** What the run got to, for the DTLS role check of a run that did not connect. */
export interface RunProgress {
  iceConnected: boolean;
  connected: boolean;
}

/**
 * dtls-role: the roles a=setup gives (offer actpass, answer active: the server is the DTLS
 * client, RFC 8842 §5), the stack's own (where it says), and whether the handshake finished.
 */
export function checkDtlsRole(
  offerSdp: string,
  answerSdp: string,
  facts: TransportFacts | undefined,
  progress: RunProgress,
  checks: SubChecks,
  /** Who the facts come from, in the details: our stack, or the browser of the page client. */
  stackName = 'our stack',
): void {
  const negotiated = dtlsRoles(offerSdp, answerSdp);
  const sdp = `offer ${negotiated.offerSetup ?? 'without a=setup'}, answer ${negotiated.answerSetup ?? 'without a=setup'}`;
  if (negotiated.problem) {
    checks.fail('dtls-role', `${negotiated.problem} (${sdp})`);
    return;
  }
  const ours = negotiated.offerer!;
  const theirs = negotiated.answerer!;
  const taken = facts?.dtlsRole;
  if (taken?.known && taken.value !== ours) {
    checks.fail('dtls-role', `the SDP makes us the DTLS ${ours} (${sdp}) but ${stackName} took ${taken.value}`);
    return;
  }
  const roles = `we are the DTLS ${ours}, the server the DTLS ${theirs} (${sdp}${taken?.known ? `; ${stackName} says ${taken.value}` : taken ? `; ${taken.why}` : ''})`;
  if (!progress.connected && progress.iceConnected) {
    checks.fail('dtls-role', `ICE connected but the DTLS handshake did not complete: ${roles}`);
    return;
  }
  if (!progress.connected) {
    checks.notApplicable('dtls-role', `not connected (ICE did not connect either): ${roles}`);
    return;
  }
  checks.pass('dtls-role', roles);
}

/** srtp-profile: any profile but the NULL ones (no encryption) passes; the stack's name is the detail. */
export function checkSrtpProfile(facts: TransportFacts, checks: SubChecks): void {
  const profile = facts.srtpProfile;
  if (!profile.known) checks.notApplicable('srtp-profile', profile.why);
  else if (/NULL/i.test(profile.value)) checks.fail('srtp-profile', `${profile.value}: no encryption`);
  else checks.pass('srtp-profile', profile.value);
}

/**
 * sctp-zero-checksum: the association works either way (RFC 9653 is optional for both ends);
 * what it records is whether the remote announced it, the parameter pion 3.1 cannot parse.
 */
export function checkSctpZeroChecksum(facts: TransportFacts, channelOpened: boolean, checks: SubChecks): void {
  const fact = facts.sctpZeroChecksum;
  if (!fact.known) {
    checks.notApplicable('sctp-zero-checksum', fact.why);
    return;
  }
  const said = fact.value ? 'the remote SCTP announced Zero Checksum Acceptable (0x8001)' : 'the remote SCTP did not announce zero checksum';
  if (!channelOpened) checks.fail('sctp-zero-checksum', `${said}, and the data channel did not open`);
  else checks.pass('sctp-zero-checksum', `${said}; the data channel opened`);
}
