/**
 * The server's own side of a run, where our server engine tells it: the `transport` facts of
 * its `session-connected` log line (EchoPeer.transportFacts: the DTLS role it took, the SRTP
 * profile, whether its SCTP announced zero checksum), as sub-checks beside the client's. They
 * never change a cell's verdict. A foreign server, or an engine that tells nothing, has none.
 */
import type { TransportFact } from '../../engines/engine.js';
import { SubChecks, type SubCheck } from '../../client/sub-checks.js';
import { dtlsRoles } from '../../sdp/negotiated.js';

interface LoggedFacts {
  dtlsRole?: TransportFact<'client' | 'server'>;
  srtpProfile?: TransportFact<string>;
  sctpZeroChecksum?: TransportFact<boolean>;
}

/** The facts of the last `session-connected` line that has them (a run has one session). */
export function loggedTransportFacts(serverLog: string): LoggedFacts | undefined {
  let found: LoggedFacts | undefined;
  for (const line of serverLog.split('\n')) {
    if (!line.includes('"session-connected"') || !line.includes('"transport"')) continue;
    // Logs in the evidence carry a prefix (`  4745 err | `) before the JSON.
    const json = line.slice(line.indexOf('{'));
    try {
      const entry = JSON.parse(json) as { event?: string; transport?: LoggedFacts };
      if (entry.event === 'session-connected' && entry.transport) found = entry.transport;
    } catch {
      // a line cut short
    }
  }
  return found;
}

/** Sub-checks from the server's own facts; undefined where the server logged none. */
export function serverChecksOf(serverLog: string, sdp?: { offer?: string; answer?: string }): SubCheck[] | undefined {
  const facts = loggedTransportFacts(serverLog);
  if (!facts) return undefined;
  const checks = new SubChecks();
  const role = facts.dtlsRole;
  if (role?.known) {
    const negotiated = sdp?.offer && sdp.answer ? dtlsRoles(sdp.offer, sdp.answer) : undefined;
    const expected = negotiated && !negotiated.problem ? negotiated.answerer : undefined;
    if (expected && expected !== role.value) checks.fail('dtls-role', `the server's stack took DTLS ${role.value}, but its answer's a=setup makes it the DTLS ${expected}`);
    else checks.pass('dtls-role', `the server's stack took DTLS ${role.value}${expected ? ', as its answer\'s a=setup says' : ''}`);
  } else if (role) {
    checks.notApplicable('dtls-role', role.why);
  }
  const profile = facts.srtpProfile;
  if (profile?.known) {
    if (/NULL/i.test(profile.value)) checks.fail('srtp-profile', `the server's stack chose ${profile.value}: no encryption`);
    else checks.pass('srtp-profile', `the server's stack chose ${profile.value}`);
  } else if (profile) {
    checks.notApplicable('srtp-profile', profile.why);
  }
  const zero = facts.sctpZeroChecksum;
  if (zero?.known) checks.pass('sctp-zero-checksum', zero.value ? "the server's SCTP announced Zero Checksum Acceptable" : "the server's SCTP did not announce zero checksum (off): every packet carries its CRC32c");
  else if (zero) checks.notApplicable('sctp-zero-checksum', zero.why);
  return checks.list();
}
