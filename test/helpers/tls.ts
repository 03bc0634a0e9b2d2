/** A throwaway self-signed certificate, made with Debian's openssl at test time. */
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { request } from 'node:https';

export interface TestCert {
  certFile: string;
  keyFile: string;
  cert: string;
  /** base64 SHA-256 of the public key (SPKI), what Chromium's --ignore-certificate-errors-spki-list takes. */
  spkiSha256: string;
}

/** A P-256 certificate valid for a day, for `names` (DNS names and IP addresses); removed when the test ends. */
export function makeTestCert(t: TestContext | undefined, names: string[] = ['127.0.0.1', 'localhost']): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'webrtc-echo-tls-'));
  t?.after(() => rmSync(dir, { recursive: true, force: true }));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const san = names.map((name) => (/^[\d.]+$|:/.test(name) ? `IP:${name}` : `DNS:${name}`)).join(',');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${san}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  const cert = readFileSync(certFile, 'utf8');
  const spki = new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' });
  return { certFile, keyFile, cert, spkiSha256: createHash('sha256').update(spki).digest('base64') };
}

/** One HTTPS request trusting only `ca` (Node 20's fetch takes no CA of its own). */
export function httpsRequest(
  url: string,
  ca: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', ca, headers: init.headers, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end(init.body);
  });
}
