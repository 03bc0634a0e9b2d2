#!/usr/bin/env node
// The container's health check: exit 0 when GET /healthz answers 200, 1 otherwise (also while
// the server drains: it answers 503 then). ECHO_HEALTH_URL overrides the URL; for https the
// certificate is not verified (this checks the local process, it authenticates nothing).
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';

const url = new URL(process.env.ECHO_HEALTH_URL ?? 'http://127.0.0.1:8080/healthz');
const get = url.protocol === 'https:' ? httpsGet : httpGet;
const req = get(url, { timeout: 2_000, rejectUnauthorized: false }, (res) => {
  res.resume();
  process.exitCode = res.statusCode === 200 ? 0 : 1;
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', (err) => {
  process.stderr.write(`healthcheck: ${url.href}: ${err.message}\n`);
  process.exitCode = 1;
});
