// `simulator`: the channel simulator alone (test mode only), as docker-compose and the tests run it.
// `sandbox` is its older name, still accepted by src/main.ts for scripts written before.
import type { Logger } from 'pino';
import type { Config } from '../config';
import { demoChannelKeys } from '../keyStore';
import { startSimulator } from '../system';
import { refuseInLiveMode, runProcesses } from './processes';

export async function simulatorCommand(configured: Config, log: Logger): Promise<void> {
  refuseInLiveMode('simulator', configured);
  await runProcesses(configured, log, async ({ config, keep }) => {
    const simulator = await startSimulator(config, log, demoChannelKeys(config));
    keep(simulator);
    log.info({ url: simulator.url }, 'channel simulator listening');
  });
}
