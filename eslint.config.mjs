// Lint for `npm run check`: typescript-eslint's type-aware rules, and the import boundaries of
// docs/ARCHITECTURE.md ("Layout and dependency direction") as errors.
import js from '@eslint/js';
import importPlugin from 'eslint-plugin-import';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Workflow code runs in Temporal's deterministic sandbox: besides other workflow modules it may
// load only the pure rules of src/domain and Temporal's workflow-side packages. Activities (and
// the channel interface) are for their types, which are erased.
// A module in a folder of src/workflows (contracts/, payment/) reaches src one `../` further, and
// the workflow modules of its parent folder with one `../`.
const segments = String.raw`[\w-][\w.-]*(?:/[\w-][\w.-]*)*`; // no '.' or '..' among them
// Pure rules of src/domain that compute with node:crypto (HMACs): fine for the API and the
// activities, but not loadable in the workflow sandbox.
const domainWithNodeModules = 'cashierTokens|merchantSignature';
const workflowImports = (
  toSrc,
  toWorkflows,
  temporalPackages = '@temporalio/(?:workflow|common)',
) => {
  const allowed = String.raw`${toWorkflows}${segments}|${toSrc}domain/${segments}|${temporalPackages}`;
  const typeOnly = String.raw`${toSrc}activities/${segments}|${toSrc}channels/types`;
  return {
    '@typescript-eslint/no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            regex: `^(?!(?:${allowed}|${typeOnly})$)`,
            message:
              'workflow code imports only other workflow modules, src/domain, @temporalio/workflow and @temporalio/common (and activity types)',
          },
          {
            regex: `^(?:${typeOnly})$`,
            allowTypeImports: true,
            message: 'workflow code imports activities and the channel interface for types only',
          },
          {
            regex: `^${toSrc}domain/(?:${domainWithNodeModules})$`,
            allowTypeImports: true,
            message: 'this domain module uses node:crypto, which the workflow bundle does not have',
          },
        ],
      },
    ],
  };
};

export default defineConfig(
  {
    ignores: [
      'node_modules/',
      '.data/',
      'dist/',
      '**/*.js',
      '**/*.cjs',
      '**/*.mjs',
      // The cashier's browser script is ours and linted (below).
      '!src/api/cashier/assets/*.js',
    ],
  },
  {
    files: ['src/api/cashier/assets/*.js'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'script', ecmaVersion: 2019, globals: globals.browser },
  },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    plugins: { import: importPlugin },
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    settings: {
      // Only our own modules are read for import/no-cycle: packages cannot import them back.
      'import/extensions': ['.ts'],
      'import/ignore': ['node_modules'],
      'import/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import/resolver': { typescript: { project: './tsconfig.json' } },
    },
    rules: {
      // node:test's describe/it return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      // A switch over a union with no default names every member; a default covers the rest.
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      // Async functions that do not await are how Fastify plugins, activity fakes and
      // `eventually` probes meet their Promise-returning interfaces.
      '@typescript-eslint/require-await': 'off',
      // `const { secret: _secret, ...view } = row` drops a field on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { ignoreRestSiblings: true, argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      // TypeScript's noFallthroughCasesInSwitch already refuses a case that falls through with
      // statements; cases that share a body may have a comment between them.
      'no-fallthrough': ['error', { allowEmptyCase: true }],
      // Only cycles of imports that run: `import type` is erased (and ignored by the rule).
      'import/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    // Harnesses read the API's JSON answers as they come (`any`); typing every answer is not
    // worth it.
    files: ['test/**/*.ts', 'chaos/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  { files: ['src/workflows/*.ts'], rules: workflowImports(String.raw`\.\./`, String.raw`\./`) },
  {
    // The workflows' interceptor module (the workflow side of src/tracing.ts) runs the SDK's
    // OpenTelemetry workflow interceptors, which are made for the sandbox; nothing else may.
    files: ['src/workflows/tracing.ts'],
    rules: workflowImports(
      String.raw`\.\./`,
      String.raw`\./`,
      String.raw`@temporalio/(?:workflow|common|interceptors-opentelemetry/lib/workflow)`,
    ),
  },
  {
    files: ['src/workflows/*/*.ts'],
    rules: workflowImports(String.raw`\.\./\.\./`, String.raw`\.{1,2}/`),
  },
  {
    // Activities reach the database through the books (src/db/books), which hold the SQL.
    files: ['src/activities/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: String.raw`^(?:drizzle-orm(?:/.*)?|\.\./db/schema)$`,
              allowTypeImports: true,
              message:
                'activities read and write the books through src/db/books, which hold the SQL',
            },
          ],
        },
      ],
    },
  },
  {
    // The API speaks HTTP: its SQL lives in src/services and src/db/books.
    files: ['src/api/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: String.raw`^(?:drizzle-orm(?:/.*)?|(?:\.\./)+db/schema)$`,
              allowTypeImports: true,
              message: 'the API calls src/services and src/db/books, which hold the SQL',
            },
          ],
        },
      ],
    },
  },
  {
    // The channel simulator (simulator/) and the dev server are started by the process wiring
    // (src/system.ts, src/main.ts, src/commands), never used by product code.
    files: ['src/**/*.ts'],
    ignores: ['src/dev/**', 'src/system.ts', 'src/main.ts', 'src/commands/**'],
    rules: {
      'import/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './src',
              from: './simulator',
              message: 'only the process wiring (src/system.ts) starts the channel simulator',
            },
            {
              target: './src',
              from: './src/dev',
              message: 'only the process wiring (src/commands) starts the dev server',
            },
          ],
        },
      ],
    },
  },
  {
    // The simulator stands in for the channels: of paycenter it may know only what both sides of
    // a channel's wire share (each channel's protocol, Alipay's bill format, Beijing time formats,
    // the key pairs) and the HTML page helper; its engine, faces and trade model are its own.
    files: ['simulator/**/*.ts'],
    rules: {
      'import/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './simulator',
              from: './src',
              except: [
                './channels/alipay/protocol.ts',
                './channels/alipay/bill.ts',
                './channels/bankcard/protocol.ts',
                './channels/sandbox/protocol.ts',
                './channels/wechatpay/protocol.ts',
                './channels/chinaTime.ts',
                './channels/keys.ts',
                './html.ts',
              ],
              message:
                "the simulator imports from src only the channels' wire protocols and the page helper",
            },
          ],
        },
      ],
    },
  },
);
