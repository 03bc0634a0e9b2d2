/**
 * Horizontal scale behind an existing HTTP load balancer: Debian's HAProxy and nginx, each run
 * from the recommended configuration in deploy/lb/, in front of two `webrtc-echo serve`
 * processes. Every offer is answered by one instance; the answer's candidates are UDP sockets
 * of that instance's own process (so the media goes straight to it: the balancer carries HTTP
 * only); offers spread across both; real clients connect through it; and when one instance
 * drains, every offer still gets an answer, from the other.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import sdpTransform from 'sdp-transform';
import { ROOT, runCli } from '../helpers/cli.js';
import { openHeldSession } from '../helpers/held-session.js';
import { balancerMissing, startBalancer, type BalancerName } from '../helpers/load-balancer.js';
import { makeOffer } from '../helpers/offer.js';
import { spawnServe, type ServeProcess } from '../helpers/serve-process.js';
import { skipUnlessCi, withTimeout } from '../helpers/timeout.js';
import { udpPortsOf } from '../helpers/udp-sockets.js';

const OFFERS = 20;

test('docs/deploy.md shows the load balancer configurations exactly as deploy/lb/ has them (the files these tests run)', () => {
  const doc = readFileSync(`${ROOT}docs/deploy.md`, 'utf8');
  for (const [file, fence] of [['haproxy.cfg', 'haproxy'], ['nginx.conf', 'nginx']]) {
    const config = readFileSync(`${ROOT}deploy/lb/${file}`, 'utf8');
    assert.ok(doc.includes(`\`\`\`${fence}\n${config}\`\`\``), `docs/deploy.md has deploy/lb/${file} verbatim`);
  }
});

interface Answered {
  status: number;
  instance: string | null;
  ports: number[];
}

/** POSTs one real offer through `url` and reads who answered and the answer's candidate ports. */
async function offerThrough(url: string): Promise<Answered> {
  const { offer, peer } = await makeOffer();
  try {
    const response = await fetch(`${url}/offer`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(offer) });
    const instance = response.headers.get('x-echo-instance');
    if (response.status !== 200) return { status: response.status, instance, ports: [] };
    const answer = (await response.json()) as { sdp: string };
    const ports = sdpTransform
      .parse(answer.sdp)
      .media.flatMap((m) => m.candidates ?? [])
      .filter((c) => c.transport.toLowerCase() === 'udp')
      .map((c) => c.port);
    return { status: 200, instance, ports: [...new Set(ports)] };
  } finally {
    peer.close();
  }
}

async function sessionsCreated(server: ServeProcess): Promise<number> {
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  return Number(/^echo_sessions_created_total (\d+)$/m.exec(metrics)?.[1]);
}

for (const balancer of ['haproxy', 'nginx'] as BalancerName[]) {
  describe(`behind ${balancer}`, { skip: skipUnlessCi(balancerMissing(balancer)), timeout: 180_000 }, () => {
    test(`two instances behind ${balancer}: each offer answered by one, with its own candidates; offers spread; clients connect; a draining instance's share goes to the other`, async (t) => {
      // Short connect timeout: the offers below are never applied, their sessions go after 5 s.
      const instances = {
        // Every offer of this test comes from one address through the balancer: the per-address
        // rate limit would count them all as one client (a deployment sets --trust-proxy instead).
        a: await spawnServe(t, ['--host', '127.0.0.1', '--port', '0', '--instance-id', 'a', '--session-timeout', '5', '--offer-rate', '0']),
        b: await spawnServe(t, ['--host', '127.0.0.1', '--port', '0', '--instance-id', 'b', '--session-timeout', '5', '--offer-rate', '0']),
      };
      const lb = await startBalancer(t, balancer, Object.values(instances).map((s) => new URL(s.url).host));
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${lb.child.pid}/status`, 'utf8'))?.[1]);
      assert.notEqual(uid, 0, `${balancer} runs unprivileged`);

      const answers: Answered[] = [];
      for (let i = 0; i < OFFERS; i++) answers.push(await offerThrough(lb.url));
      const counts = { a: 0, b: 0 };
      for (const [i, answer] of answers.entries()) {
        assert.equal(answer.status, 200, `offer ${i}`);
        assert.ok(answer.instance === 'a' || answer.instance === 'b', `offer ${i} names the instance that answered: ${answer.instance}`);
        counts[answer.instance]++;
        // The candidates are that instance's own sockets, and none of the other's.
        const own = udpPortsOf(instances[answer.instance].child.pid!);
        const other = udpPortsOf(instances[answer.instance === 'a' ? 'b' : 'a'].child.pid!);
        assert.ok(answer.ports.length > 0, `offer ${i}: the answer has UDP candidates`);
        for (const port of answer.ports) {
          assert.ok(own.has(port), `offer ${i}: candidate port ${port} is a socket of instance ${answer.instance}`);
          assert.ok(!other.has(port), `offer ${i}: candidate port ${port} is not the other instance's`);
        }
      }
      t.diagnostic(`${balancer}: ${OFFERS} offers → a ${counts.a}, b ${counts.b}`);
      assert.ok(counts.a >= OFFERS / 4 && counts.b >= OFFERS / 4, `offers spread across both instances: ${JSON.stringify(counts)}`);
      assert.deepEqual({ a: await sessionsCreated(instances.a), b: await sessionsCreated(instances.b) }, counts, 'each instance counted exactly the sessions it answered');

      // Real clients through the balancer: signaling via the balancer, media straight to the instance.
      for (const args of [['-t', '1'], ['-t', '0', '--media', '--engine', 'werift']]) {
        const run = await runCli(['client', '-s', `${lb.url}/offer`, ...args, '--json'], 30_000);
        assert.equal(run.code, 0, run.stderr);
        assert.equal((JSON.parse(run.stdout) as { attempts?: number }).attempts, undefined, 'connected at the first attempt');
      }

      // Instance a drains (a live session keeps it up): every offer is still answered, by b.
      const held = await openHeldSession(t, `${instances.a.url}/offer`);
      instances.a.child.kill('SIGTERM');
      await instances.a.event('draining');
      const during: Answered[] = [];
      for (let i = 0; i < 10; i++) during.push(await offerThrough(lb.url));
      assert.deepEqual(
        during.map((a) => `${a.status} ${a.instance}`),
        Array(10).fill('200 b'),
        'while a drains, the balancer sends every offer to b',
      );
      await held.echo();
      await held.close();
      assert.equal(await withTimeout(instances.a.exited, 10_000, 'a exits once its session ends'), 0);
      const refused = instances.a.logs.filter((l) => l.event === 'request-rejected' && l.error === 'ECHO_ERR_DRAINING').length;
      t.diagnostic(`${balancer}: offers a refused while draining (each resent to b): ${refused}`);
    });
  });
}
