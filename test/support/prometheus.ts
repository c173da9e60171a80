// Reading a Prometheus text exposition the way a scraper does, for tests: a sample by metric name
// and labels, summed over the samples whose labels include the ones asked for.
import assert from 'node:assert/strict';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of an exposition (comments and HELP/TYPE lines skipped). */
export function samplesOf(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    assert.ok(match, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, label, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[label!] = value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of the samples named so whose labels include these; 0 when there is none. */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}) {
  return samplesOf(text)
    .filter((s) => s.name === name)
    .filter((s) => Object.entries(labels).every(([label, value]) => s.labels[label] === value))
    .reduce((sum, s) => sum + s.value, 0);
}

/** GETs a /metrics URL: its text, after checking it answers 200 in the text format. */
export async function scrape(url: string): Promise<string> {
  const answer = await fetch(url);
  assert.equal(answer.status, 200, url);
  assert.match(answer.headers.get('content-type') ?? '', /^text\/plain/);
  return answer.text();
}
