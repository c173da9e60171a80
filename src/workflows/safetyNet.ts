// The safety-net scan (scheduled, and on an operator's request): cheap checks of the books for
// states the workflows should never leave behind; its result is the scan's report (contract:
// ./contracts/safetyNetScan.ts).
import { ActivityFailure, log, patched, proxyActivities } from '@temporalio/workflow';
import type { SafetyNetActivities } from '../activities/safetyNet';
import {
  emptyCheckReport,
  safetyNetChecks,
  safetyNetChecksBeforeWorkflowStarts,
  safetyNetReport,
  type CheckReport,
  type SafetyNetCheck,
  type SafetyNetReport,
} from '../domain/safetyNet';
import type { SafetyNetInput } from './contracts/safetyNetScan';

// A check reads the books and starts or signals workflows, all safe to repeat; the next scheduled
// scan is the real retry, so a check that keeps failing is reported rather than retried for long.
const scans = proxyActivities<SafetyNetActivities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumAttempts: 3 },
});

export async function safetyNetScan(input: SafetyNetInput): Promise<SafetyNetReport> {
  const scannedAt = new Date(Date.now()).toISOString();
  // Scans also start the workflows of pay orders whose start was lost, and sweep expired keys.
  const startsWorkflows = patched('safety-net-starts-missing-workflows');
  const checks: CheckReport[] = [];
  for (const check of startsWorkflows ? safetyNetChecks : safetyNetChecksBeforeWorkflowStarts) {
    // A check added to running scans: one that started before it replays without it.
    if (check === 'MONEY_NOT_CONSERVED' && !patched('safety-net-money-invariant')) continue;
    checks.push(await runCheck(check, scannedAt, input));
  }
  const swept = startsWorkflows && !input.merchantId ? await sweepIdempotencyKeys() : undefined;
  const report = safetyNetReport(
    { scannedAt, merchantId: input.merchantId },
    checks,
    await scans.countOpenSafetyNetFindings(),
    swept,
  );
  log.info('safety-net scan done', {
    autoCorrected: report.autoCorrected.length,
    flagged: report.flagged.length,
    openFindings: report.openFindings,
  });
  return report;
}

/** Housekeeping: a failed sweep is logged and left to the next scan. */
async function sweepIdempotencyKeys(): Promise<number | undefined> {
  try {
    return await scans.sweepExpiredIdempotencyKeys();
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    log.error('idempotency key sweep failed', { error: String(err.cause ?? err) });
    return undefined;
  }
}

/** One check as an activity named by its summary in the UI; a failed check does not stop the others. */
async function runCheck(
  check: SafetyNetCheck,
  scannedAt: string,
  input: SafetyNetInput,
): Promise<CheckReport> {
  try {
    return await scans.runSafetyNetCheck.executeWithOptions({ summary: check }, [
      { check, scannedAt, input },
    ]);
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    log.error('safety-net check failed', { check, error: String(err.cause ?? err) });
    return { ...emptyCheckReport(check), error: err.cause?.message ?? err.message };
  }
}
