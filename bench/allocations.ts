// Sums a sampled heap profile (BENCH_HEAP_PROFILE, bench/serve.ts) by function and by package:
// where a process's garbage comes from. `node --import tsx bench/allocations.ts <file> [top]`.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** The package a script belongs to (the innermost `node_modules/<name>`), else the project's own path. */
export function packageOf(url: string): string {
  const inModules = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inModules) return inModules[1]!;
  if (url.startsWith('node:')) return 'node';
  const own = /\/(src|bench|simulator)\/(.*)$/.exec(url);
  return own ? `${own[1]}/${own[2]}` : url || '(native)';
}

export function sumAllocations(head: ProfileNode) {
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let total = 0;
  const add = (map: Map<string, number>, key: string, bytes: number) =>
    map.set(key, (map.get(key) ?? 0) + bytes);
  const visit = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    if (node.selfSize > 0) {
      total += node.selfSize;
      add(
        byFunction,
        `${functionName || '(anonymous)'} ${packageOf(url)}:${lineNumber + 1}`,
        node.selfSize,
      );
      add(byPackage, packageOf(url), node.selfSize);
    }
    node.children.forEach(visit);
  };
  visit(head);
  const ranked = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]);
  return { total, byFunction: ranked(byFunction), byPackage: ranked(byPackage) };
}

if (process.argv[1]?.endsWith('allocations.ts')) {
  const [file, top = '25'] = process.argv.slice(2);
  if (!file) throw new Error('usage: bench/allocations.ts <file.heapprofile> [top]');
  const { head } = JSON.parse(readFileSync(file, 'utf8')) as { head: ProfileNode };
  const { total, byFunction, byPackage } = sumAllocations(head);
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  const share = (bytes: number) => `${((100 * bytes) / total).toFixed(1)}%`;
  console.log(`sampled allocations: ${mib(total)}`);
  console.log('\nby package');
  for (const [name, bytes] of byPackage.slice(0, Number(top))) {
    console.log(`  ${share(bytes).padStart(6)}  ${mib(bytes).padStart(10)}  ${name}`);
  }
  console.log('\nby function');
  for (const [name, bytes] of byFunction.slice(0, Number(top))) {
    console.log(`  ${share(bytes).padStart(6)}  ${mib(bytes).padStart(10)}  ${name}`);
  }
}
