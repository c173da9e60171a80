// The simulator as a process of its own (`src/main.ts simulator`, as deployed), which a test
// can kill without warning (SIGKILL) and start again on the same DATA_DIR.
import { startPaycenterProcess, type PaycenterProcess } from './paycenterProcess';

export type SimulatorProcess = PaycenterProcess;

/**
 * Starts `src/main.ts simulator` with `env` (DATA_DIR, SIMULATOR_PORT, ...) and waits until it answers
 * /healthz; rejects with its output if it exits first.
 */
export function startSimulatorProcess(env: Record<string, string>): Promise<SimulatorProcess> {
  return startPaycenterProcess('simulator', env, `http://127.0.0.1:${env.SIMULATOR_PORT}/healthz`);
}
