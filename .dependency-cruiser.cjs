// dependency-cruiser, run by `npm run deps` (part of `npm run check`): no import cycle, type-only
// imports included (eslint's import/no-cycle counts only imports that run), and the layer
// boundaries of docs/ARCHITECTURE.md ("Layout and dependency direction"), written by layer folder.
// `npm run deps:graph` draws docs/dependencies.md from the same cruise (scripts/dependencies.ts).

/** The process wiring that starts the channel simulator and the dev server. */
const wiring = String.raw`^src/(?:system\.ts|main\.ts|commands/)`;
/** The channel simulator (the channels' stand-in) and the Temporal dev server. */
const startedByWiring = String.raw`^(?:simulator|src/dev)/`;
const temporalWorkflowSide = String.raw`(?:^|/)node_modules/@temporalio/(?:workflow|common)/`;
/** The workflows' interceptor module (the workflow side of src/tracing.ts). */
const workflowTracing = String.raw`^src/workflows/tracing\.ts$`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      comment: 'Modules never import each other, not even for types: one of them holds the other.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'client-stands-alone',
      comment:
        "The merchants' client is a package of its own: it imports only its own modules, " +
        "openapi-fetch and Node, never paycenter's code.",
      severity: 'error',
      from: { path: '^packages/client/' },
      to: {
        pathNot: ['^packages/client/', '(?:^|/)node_modules/openapi-fetch/'],
        dependencyTypesNot: ['core'],
      },
    },
    {
      name: 'workflows-deterministic',
      comment:
        'Workflow code imports only other workflow modules, src/domain, @temporalio/workflow and ' +
        '@temporalio/common (and, for types, activities and the channel interface).',
      severity: 'error',
      from: { path: '^src/workflows/', pathNot: workflowTracing },
      to: {
        pathNot: [
          '^src/workflows/',
          '^src/domain/',
          temporalWorkflowSide,
          '^src/activities/',
          String.raw`^src/channels/types\.ts$`,
        ],
      },
    },
    {
      name: 'workflow-tracing-sandbox-only',
      comment:
        "The workflows' interceptor module loads the SDK's OpenTelemetry workflow interceptors, " +
        'which are made for the sandbox, and Temporal’s workflow-side packages; nothing else.',
      severity: 'error',
      from: { path: workflowTracing },
      to: {
        pathNot: [
          temporalWorkflowSide,
          String.raw`(?:^|/)node_modules/@temporalio/interceptors-opentelemetry/lib/workflow/`,
        ],
      },
    },
    {
      name: 'workflows-activity-types-only',
      comment: 'Workflow code imports activities and the channel interface for their types only.',
      severity: 'error',
      from: { path: '^src/workflows/' },
      to: {
        path: ['^src/activities/', String.raw`^src/channels/types\.ts$`],
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'contracts-only-domain',
      comment:
        "Contracts import only src/domain and Temporal's define functions, so every layer can " +
        'import them without a cycle.',
      severity: 'error',
      from: { path: '^src/workflows/contracts/' },
      to: { pathNot: ['^src/workflows/contracts/', '^src/domain/', temporalWorkflowSide] },
    },
    {
      name: 'domain-pure',
      comment: 'src/domain holds pure rules: it imports no other part of paycenter.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: '^(?!src/domain/)(?:src|simulator)/' },
    },
    {
      name: 'simulator-and-dev-by-wiring-only',
      comment:
        'Only the process wiring (src/system.ts, src/main.ts, src/commands) starts the ' +
        'simulator and the dev server; product code never uses them.',
      severity: 'error',
      from: { path: '^src/', pathNot: [wiring, startedByWiring] },
      to: { path: startedByWiring },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a cycle through `import type` is still a cycle.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.json'],
    },
    reporterOptions: {
      mermaid: { minify: false },
    },
  },
};
