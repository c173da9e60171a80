// The workflow code a worker runs, as one bundle. `npm run build` prebuilds it next to this module
// (dist/src/workflows.bundle.js), so a production worker starts without webpack; from the sources
// (npm start, tests) it is bundled once per process, which takes seconds.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';

/** The prebuilt bundle's file name, beside the compiled modules (see scripts/build.ts). */
export const prebuiltBundleName = 'workflows.bundle.js';

let bundle: Promise<WorkflowBundle> | undefined;
const prebuilt = path.join(__dirname, prebuiltBundleName);

/** Where this process's workflow code comes from, for its start line. */
export function workflowBundleOrigin(): string {
  return existsSync(prebuilt) ? `prebuilt (${prebuiltBundleName})` : 'bundled at start';
}

export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= existsSync(prebuilt)
    ? Promise.resolve({ code: readFileSync(prebuilt, 'utf8') })
    : bundleWorkflows();
  return bundle;
}

/** Bundles src/workflows with the SDK's bundler, quietly but for its warnings and errors. */
export async function bundleWorkflows(): Promise<WorkflowBundle> {
  return bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    // Traces workflows whose start carries a trace context (src/tracing.ts); inert otherwise.
    workflowInterceptorModules: [require.resolve('./workflows/tracing')],
    logger: {
      log: () => {},
      trace: () => {},
      debug: () => {},
      info: () => {},
      warn: console.warn,
      error: console.error,
    },
  });
}
