// The bench's answer: a readable table on stdout and the whole result as JSON in bench/results.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Latency } from './stats';

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const lat = (l: Latency | undefined) =>
  l && l.count > 0 ? `p50 ${l.p50} / p95 ${l.p95} / p99 ${l.p99} ms (n=${l.count})` : 'n/a';

export type Row = [string, string];

export function table(title: string, rows: Row[]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return [`\n${title}`, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n');
}

export const format = { mib, kib, lat };

/** Where this run's result goes: `<folder>/<start time>.json` (folder relative to root). */
export function resultFile(root: string, folder = 'bench/results'): string {
  const dir = path.join(root, folder);
  mkdirSync(dir, { recursive: true });
  return path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
}

/** Writes (or rewrites: each phase's figures are saved as it ends) the result to `file`. */
export function writeResult(file: string, result: unknown): void {
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
}
