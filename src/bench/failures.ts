import type { SessionRecord } from './worker/protocol.js';
import type { FailureCount } from './types.js';

/** Failed sessions grouped by reason, most frequent first, with one message as an example. */
export function countFailures(records: readonly SessionRecord[]): FailureCount[] {
  const byReason = new Map<string, FailureCount>();
  for (const record of records) {
    if (record.ok) continue;
    const reason = record.reason ?? 'unknown';
    const entry = byReason.get(reason) ?? { reason, count: 0, example: record.message ?? '' };
    entry.count++;
    byReason.set(reason, entry);
  }
  return [...byReason.values()].sort((a, b) => b.count - a.count);
}
