// `sandbox`: the channel simulator alone (test mode only), as docker-compose and the tests run it;
// the command keeps its name for the scripts and compose files that run it.
import type { Logger } from 'pino';
import type { Config } from '../config';
import { demoChannelKeys } from '../keyStore';
import { startSimulator } from '../system';
import { refuseInLiveMode, runProcesses } from './processes';

export async function sandboxCommand(configured: Config, log: Logger): Promise<void> {
  refuseInLiveMode('sandbox', configured);
  await runProcesses(configured, log, async ({ config, keep }) => {
    const sandbox = await startSimulator(config, log, demoChannelKeys(config));
    keep(sandbox);
    log.info({ url: sandbox.url }, 'sandbox channel listening');
  });
}
