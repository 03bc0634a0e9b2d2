/** Writes report.md, report.json and report.html into one directory. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MatrixResult } from '../matrix.js';
import { renderHtml } from './html.js';
import { renderJson } from './json.js';
import { renderMarkdown } from './markdown.js';

export async function writeReports(result: MatrixResult, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    ['report.md', renderMarkdown(result)],
    ['report.json', renderJson(result)],
    ['report.html', renderHtml(result)],
  ];
  for (const [name, text] of files) await writeFile(join(dir, name), text);
  return files.map(([name]) => join(dir, name));
}
