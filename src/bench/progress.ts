/**
 * A one-line progress display on stderr, redrawn in place, only on a terminal (a pipe or a
 * log file gets nothing). Redraws at most every 100 ms.
 */
export function progressLine(stream: NodeJS.WriteStream = process.stderr): { update(line: string): void; done(): void } {
  if (!stream.isTTY) return { update() {}, done() {} };
  let last = 0;
  let shown = false;
  const started = performance.now();
  return {
    update(line) {
      const now = performance.now();
      if (now - last < 100) return;
      last = now;
      const text = `[${((now - started) / 1000).toFixed(0).padStart(4)} s] ${line}`.slice(0, (stream.columns || 80) - 1);
      stream.write(`\r\x1b[2K${text}`);
      shown = true;
    },
    done() {
      if (shown) stream.write('\r\x1b[2K');
    },
  };
}
