// What the machine's tasks waited for while a load ran: Linux's pressure stall information
// (/proc/pressure/cpu and io, cumulative microseconds in which at least one runnable task waited
// for a core, or for the disk; "full": every non-idle task waited for the disk). Beside the commit
// probes it tells whether an ack stood in a queue for the CPU or behind the disk.
import { readFileSync } from 'node:fs';

/** Share of the load's wall time, in percent. */
export interface Pressure {
  cpuSome: number;
  ioSome: number;
  ioFull: number;
}

export interface PressureTotals {
  cpuSomeUs: number;
  ioSomeUs: number;
  ioFullUs: number;
}

/** The `total=` of a pressure file's `some` or `full` line (microseconds). */
export function stallTotal(file: string, kind: 'some' | 'full'): number | undefined {
  const line = file.split('\n').find((l) => l.startsWith(`${kind} `));
  const total = line && /\btotal=(\d+)/.exec(line)?.[1];
  return total ? Number(total) : undefined;
}

/** The machine's stall totals now; undefined where the kernel keeps none (no PSI, not Linux). */
export function pressureTotals(): PressureTotals | undefined {
  try {
    const cpu = readFileSync('/proc/pressure/cpu', 'utf8');
    const io = readFileSync('/proc/pressure/io', 'utf8');
    const cpuSomeUs = stallTotal(cpu, 'some');
    const ioSomeUs = stallTotal(io, 'some');
    const ioFullUs = stallTotal(io, 'full');
    if (cpuSomeUs === undefined || ioSomeUs === undefined || ioFullUs === undefined) {
      return undefined;
    }
    return { cpuSomeUs, ioSomeUs, ioFullUs };
  } catch {
    return undefined;
  }
}

/** The stalls between two readings as shares of `wallMs`. */
export function pressureBetween(
  before: PressureTotals,
  after: PressureTotals,
  wallMs: number,
): Pressure {
  const percent = (us: number) => Math.round((us / (wallMs * 1000)) * 1000) / 10;
  return {
    cpuSome: percent(after.cpuSomeUs - before.cpuSomeUs),
    ioSome: percent(after.ioSomeUs - before.ioSomeUs),
    ioFull: percent(after.ioFullUs - before.ioFullUs),
  };
}
