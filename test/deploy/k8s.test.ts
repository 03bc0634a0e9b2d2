/**
 * deploy/k8s, validated offline: every object against the Kubernetes OpenAPI schema
 * (npm kubernetes-models, ajv validators generated from the API's own definitions), then
 * strictly (no field the API does not know, through the same package's TypeScript types, as
 * `kubectl apply --validate=strict` would refuse them), then against what the server needs:
 * readiness on /healthz, a drain that fits in the grace period, options that `serve` has.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { ROOT, runCli } from '../helpers/cli.js';
import { parseDockerfile, resolveUser } from '../helpers/dockerfile.js';
import { makeOffer } from '../helpers/offer.js';
import { spawnServe } from '../helpers/serve-process.js';
import sdpTransform from 'sdp-transform';

const DIR = `${ROOT}deploy/k8s/`;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  /** Read as plain data: the schema tests above check its shape. */
  spec: Record<string, any>;
}

function loadManifests(): { file: string; object: K8sObject }[] {
  const kustomization = parseAllDocuments(readFileSync(`${DIR}kustomization.yaml`, 'utf8'))[0]!.toJS() as { resources: string[] };
  return kustomization.resources.flatMap((file) =>
    parseAllDocuments(readFileSync(DIR + file, 'utf8')).map((doc) => {
      assert.deepEqual(doc.errors, [], `${file}: YAML errors`);
      return { file, object: doc.toJS() as K8sObject };
    }),
  );
}

/** `apps/v1` → kubernetes-models/apps/v1, `v1` → kubernetes-models/v1. */
async function modelClass(apiVersion: string, kind: string): Promise<new (data: unknown) => { validate(): void }> {
  const module = (await import(`kubernetes-models/${apiVersion}`)) as Record<string, new (data: unknown) => { validate(): void }>;
  const model = module[kind];
  assert.ok(model, `kubernetes-models has no ${apiVersion} ${kind}`);
  return model;
}

/** Type-checks each object as a literal of its API type: TypeScript refuses fields the type does not have. */
function strictFieldErrors(objects: { file: string; object: K8sObject }[]): string[] {
  const source = objects
    .map(({ object }, i) => {
      const group = object.apiVersion;
      return `import type { I${object.kind} as T${i} } from 'kubernetes-models/${group}/${object.kind}';\nexport const o${i}: T${i} = ${JSON.stringify(object, null, 2)};\n`;
    })
    .join('\n');
  const fileName = `${ROOT}test/deploy/__k8s_manifests__.ts`;
  const options: ts.CompilerOptions = { strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, skipLibCheck: true, types: [] };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (f) => (f === fileName ? source : readFile(f));
  host.fileExists = (f) => f === fileName || fileExists(f);
  host.getSourceFile = (f, lang, ...rest) => (f === fileName ? ts.createSourceFile(f, source, lang) : getSourceFile(f, lang, ...rest));
  const program = ts.createProgram([fileName], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

const manifests = loadManifests();
const byKind = (kind: string) => manifests.find((m) => m.object.kind === kind)?.object;

test('every manifest in deploy/k8s is valid against the Kubernetes API schema', async () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();
  assert.deepEqual([...new Set(manifests.map((m) => m.file))].sort(), files, 'kustomization.yaml lists every manifest');
  assert.deepEqual(manifests.map((m) => m.object.kind).sort(), ['Deployment', 'Ingress', 'PodDisruptionBudget', 'Service']);
  for (const { file, object } of manifests) {
    const Model = await modelClass(object.apiVersion, object.kind);
    assert.doesNotThrow(() => new Model(object).validate(), `${file}: ${object.kind}`);
  }
});

test('no manifest has a field the Kubernetes API does not know', () => {
  assert.deepEqual(strictFieldErrors(manifests), []);
});

test('the validators catch what they should: a misspelled field and a wrong type fail', async () => {
  const deployment = structuredClone(byKind('Deployment')!);
  const container = deployment.spec.template.spec.containers[0];
  container.readinesProbe = container.readinessProbe;
  const strict = strictFieldErrors([{ file: 'typo', object: deployment }]);
  assert.equal(strict.length, 1);
  assert.match(strict[0]!, /'"readinesProbe"' does not exist in type 'IContainer'/);

  const wrongType = structuredClone(byKind('Deployment')!);
  wrongType.spec.template.spec.containers[0].ports[0].containerPort = 'eighty';
  const Model = await modelClass('apps/v1', 'Deployment');
  assert.throws(() => new Model(wrongType).validate(), /containerPort must be integer/);
});

test('the Deployment fits the server: readiness on /healthz, a preStop wait and the drain within the grace period, non-root, UDP range, one pod per node', async () => {
  const deployment = byKind('Deployment')!;
  const pod = deployment.spec.template.spec;
  const [container] = pod.containers;
  const args: string[] = container.args;
  assert.equal(args[0], 'serve');
  const flag = (name: string) => args.find((a) => a.startsWith(`${name}=`))?.split('=')[1];

  const httpPort = container.ports.find((p: { name: string }) => p.name === 'http');
  assert.equal(httpPort.containerPort, Number(flag('--port') ?? 8080));
  assert.deepEqual(container.readinessProbe.httpGet, { path: '/healthz', port: 'http' });
  assert.ok(!container.livenessProbe?.httpGet, 'liveness is not /healthz: a draining pod answers 503 there and must not be restarted');

  const preStopSeconds = Number(container.lifecycle.preStop.exec.command[1]);
  assert.deepEqual(container.lifecycle.preStop.exec.command, ['sleep', String(preStopSeconds)]);
  const drainSeconds = Number(flag('--drain-timeout') ?? 30);
  assert.ok(
    pod.terminationGracePeriodSeconds > preStopSeconds + drainSeconds,
    `grace ${pod.terminationGracePeriodSeconds} s > preStop ${preStopSeconds} s + drain ${drainSeconds} s`,
  );

  // The image's user (Dockerfile USER) is the pod's.
  const imageUser = resolveUser(parseDockerfile(readFileSync(`${ROOT}Dockerfile`, 'utf8')).final.instructions.find((i) => i.keyword === 'USER')!.rest);
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.runAsUser, imageUser.uid);

  // Media: the node's network, a port range, the node's address, one pod per node.
  assert.equal(pod.hostNetwork, true);
  assert.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet');
  assert.match(flag('--udp-port-range') ?? '', /^\d+-\d+$/);
  assert.equal(flag('--public-ip'), '$(PUBLIC_IP)');
  assert.equal(container.env.find((e: { name: string }) => e.name === 'PUBLIC_IP').valueFrom.fieldRef.fieldPath, 'status.hostIP');
  const antiAffinity = pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0];
  assert.equal(antiAffinity.topologyKey, 'kubernetes.io/hostname');
  assert.deepEqual(antiAffinity.labelSelector.matchLabels, deployment.spec.template.metadata.labels);
  assert.equal(deployment.spec.strategy.rollingUpdate.maxSurge, 0, 'no surge: a new pod cannot share a node with the old one');

  // Every option the manifest passes is one `serve` has.
  const help = await runCli(['serve', '--help']);
  const known = new Set([...help.stdout.matchAll(/--[\w-]+/g)].map((m) => m[0]));
  for (const arg of args.slice(1)) assert.ok(known.has(arg.split('=')[0]!), `serve has no option ${arg}`);
});

test('the Service, Ingress and PodDisruptionBudget select the Deployment\'s pods and its named HTTP port', () => {
  const labels = byKind('Deployment')!.spec.template.metadata.labels;
  const service = byKind('Service')!;
  assert.deepEqual(service.spec.selector, labels);
  assert.equal(service.spec.ports[0].targetPort, 'http');
  assert.deepEqual(byKind('PodDisruptionBudget')!.spec.selector.matchLabels, labels);
  const backend = byKind('Ingress')!.spec.rules[0].http.paths[0].backend.service;
  assert.deepEqual(backend, { name: service.metadata.name, port: { name: 'http' } });
  assert.ok(byKind('Ingress')!.spec.tls?.length, 'the Ingress serves HTTPS');
});

test("the Deployment's command line runs: the answer announces the node's address on ports of the range, /healthz names the pod", { timeout: 60_000 }, async (t) => {
  const [container] = byKind('Deployment')!.spec.template.spec.containers;
  // What the kubelet does: $(VAR) from the container's env (here a documentation address that
  // nothing is sent to, and a pod name); the port is a free one instead of 8080.
  const env: Record<string, string> = { PUBLIC_IP: '203.0.113.7', POD_NAME: 'webrtc-echo-7d9c-x2k4q' };
  const args = (container.args as string[]).slice(1).map((a) => a.replace(/\$\((\w+)\)/g, (_, name: string) => env[name]!)).map((a) => (a.startsWith('--port=') ? '--port=0' : a));
  const server = await spawnServe(t, ['--host', '127.0.0.1', ...args]);
  const health = (await (await fetch(`${server.url}/healthz`)).json()) as { instance?: string };
  assert.equal(health.instance, env.POD_NAME);
  const { offer, peer } = await makeOffer();
  t.after(() => peer.close());
  const response = await fetch(`${server.url}/offer`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(offer) });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('x-echo-instance'), env.POD_NAME);
  const [min, max] = args.find((a) => a.startsWith('--udp-port-range='))!.split('=')[1]!.split('-').map(Number);
  const candidates = sdpTransform.parse(((await response.json()) as { sdp: string }).sdp).media.flatMap((m) => m.candidates ?? []);
  const host = candidates.filter((c) => c.type === 'host' && c.transport.toLowerCase() === 'udp' && !c.ip.includes(':'));
  assert.ok(host.length > 0, 'IPv4 host candidates');
  for (const c of host) {
    assert.equal(c.ip, env.PUBLIC_IP, 'the announced address is the node address');
    assert.ok(c.port >= min! && c.port <= max!, `port ${c.port} in ${min}-${max}`);
  }
});
