/** Turns a BenchResult into the human table, or into one JSON document (`--json`). */
import { STEPS, STEP_LABELS } from '../client/timings.js';
import type { Summary } from './stats.js';
import type { BenchResult, Cost, FailureCount } from './types.js';

export function printJson(result: BenchResult): string {
  return `${JSON.stringify(result, null, 2)}\n`;
}

export function printTable(result: BenchResult): string {
  const client = result.generator === 'pion' ? 'pion load worker' : `client engine ${result.clientEngine}`;
  const out: string[] = [`webrtc-echo bench against ${result.url} (${client}, ${result.workers} worker${result.workers > 1 ? 's' : ''}, ${result.durationSeconds} s)`];
  const { connect, echo, datachannel, idle } = result;
  if (connect) {
    for (const [name, phase] of [['one after another', connect.sequential], [connect.concurrent?.ratePerSecond ? `started at ${connect.concurrent.ratePerSecond}/s (open loop, at most ${connect.concurrent.concurrency} in flight)` : `concurrency ${connect.concurrent?.concurrency}`, connect.concurrent]] as const) {
      if (!phase) continue;
      out.push('', `connect, ${name}: ${phase.ok}/${phase.sessions} ok, ${phase.sessionsPerSecond} sessions/s (first echo over ${connect.firstEchoVia})`);
      out.push(table(['step (ms from start)', 'p50', 'p95', 'p99', 'max'], STEPS.map((step) => [STEP_LABELS[step], ...quantiles(phase.steps[step])])));
      out.push(...failures(phase.failures), cost(phase));
    }
  }
  if (echo) {
    out.push('', `media echo: ${echo.opened} sessions, ${echo.payloadBytes}-byte payloads`, ...failures(echo.failures));
    out.push(
      table(
        ['packets/s', 'per session', 'Mbit/s', 'echoed', 'loss', 'rtt p50', 'rtt p99', 'server CPU', 'µs/packet', 'gen CPU', 'gen µs/packet', 'machine', 'limited by'],
        echo.steps.map((s) => [
          String(s.packetsPerSecond), String(s.packetsPerSecondPerSession), String(s.megabitsPerSecond),
          `${(s.echoedFraction * 100).toFixed(2)}%`, `${(s.loss * 100).toFixed(2)}%`,
          ms(s.rttMs?.p50), ms(s.rttMs?.p99), pct(s.server?.cpuPercent), num(s.serverCpuUsPerPacket),
          pct(round1(s.generator.reduce((sum, w) => sum + w.cpuPercent, 0))), num(s.generatorCpuUsPerPacket), pct(s.machine?.busyPercent), s.limitedBy ?? '',
        ]),
      ),
    );
    if (echo.capacity) out.push(`echo capacity: ${echo.capacity.packetsPerSecond} packets/s (${echo.capacity.megabitsPerSecond} Mbit/s) under 1% loss; ramp stopped by ${echo.capacity.stoppedBy}`);
  }
  if (datachannel) {
    const d = datachannel;
    out.push('', `data channel echo: ${d.opened}/${d.sessions} sessions, ${d.messageBytes}-byte messages, ${d.window} in flight each`, ...failures(d.failures));
    out.push(`  ${d.echoed}/${d.sent} echoed, ${d.messagesPerSecond} messages/s (${d.megabitsPerSecond} Mbit/s), round trip p50 ${ms(d.rttMs?.p50)} p99 ${ms(d.rttMs?.p99)}`, cost(d));
  }
  if (idle) {
    out.push('', 'idle connected sessions, server memory', ...failures(idle.failures));
    out.push(table(['sessions', 'held', 'server RSS MiB', 'KiB per session'], idle.levels.map((l) => [String(l.sessions), String(l.held), num(l.serverRssMiB), num(l.rssPerSessionKiB)])));
  }
  for (const warning of result.generatorWarnings) out.push(`warning: ${warning}`);
  for (const error of result.errors) out.push(`error: ${error}`);
  return `${out.join('\n')}\n`;
}

function quantiles(summary: Summary | null): string[] {
  return summary ? [summary.p50, summary.p95, summary.p99, summary.max].map((v) => v.toFixed(1)) : ['n/a', '', '', ''];
}

function failures(list: FailureCount[]): string[] {
  return list.map((f) => `  failed: ${f.count} × ${f.reason} (e.g. ${f.example})`);
}

function cost(phase: Cost): string {
  const server = phase.server ? `server CPU ${phase.server.cpuPercent}% (peak ${phase.server.peakCpuPercent}%), RSS ${phase.server.peakRssMiB} MiB peak` : 'server not sampled';
  const gen = phase.generator.map((w) => (w.generator === 'node' ? `${w.cpuPercent}% (loop thread ${w.mainThreadCpuPercent}%)` : `${w.cpuPercent}%`)).join(', ');
  return `  ${server}; generator CPU ${gen || 'n/a'}`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const ms = (v: number | undefined) => (v === undefined ? 'n/a' : `${v.toFixed(2)} ms`);
const pct = (v: number | undefined) => (v === undefined ? 'n/a' : `${v}%`);
const num = (v: number | undefined) => (v === undefined ? 'n/a' : String(v));
const round1 = (v: number) => Math.round(v * 10) / 10;
