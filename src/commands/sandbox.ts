// `sandbox`: the sandbox channel alone (test mode only), as docker-compose and the tests run it.
import type { Logger } from 'pino';
import type { Config } from '../config';
import { demoChannelKeys } from '../keyStore';
import { startSandbox } from '../system';
import { refuseInLiveMode, runProcesses } from './processes';

export async function sandboxCommand(configured: Config, log: Logger): Promise<void> {
  refuseInLiveMode('sandbox', configured);
  await runProcesses(configured, log, async ({ config, keep }) => {
    const sandbox = await startSandbox(config, log, demoChannelKeys(config));
    keep(sandbox);
    log.info({ url: sandbox.url }, 'sandbox channel listening');
  });
}
