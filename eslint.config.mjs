// The Temporal TypeScript samples' habits: promises are awaited or handled, and
// workflow code (which runs in a deterministic sandbox) reaches no Node module.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeModules = builtinModules.flatMap((name) => [name, `node:${name}`]);
const workflowFiles = ['src/workflows/**/*.ts', 'src/jobs/**/*.ts', 'src/kinds/**/*workflow*.ts', 'src/kinds/*/message.ts', 'src/kinds/*/contract.ts'];

export default tseslint.config(
  { ignores: ['eslint.config.mjs', 'scratch/**', 'dist/**', 'node_modules/**', 'test/histories/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's describe and it return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'object-shorthand': ['error', 'always'],
    },
  },
  {
    // The dashboard's browser modules: plain JavaScript served as is, so no type information and the browser's globals.
    files: ['src/dashboard/public/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      sourceType: 'module',
      parserOptions: { projectService: false },
      globals: Object.fromEntries(
        ['window', 'document', 'fetch', 'sessionStorage', 'localStorage', 'location', 'history', 'navigator', 'console', 'setTimeout', 'clearTimeout',
          'setInterval', 'clearInterval', 'URL', 'URLSearchParams', 'AbortController', 'performance', 'requestAnimationFrame', 'Event', 'HTMLElement', 'FormData', 'addEventListener', 'removeEventListener'].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    files: workflowFiles,
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeModules.map((name) => ({ name, message: 'workflow code runs in a sandbox without Node modules; do this in an activity', allowTypeImports: true })),
          patterns: [
            { group: ['**/activities', '**/activities/**', '!**/activities/contract'], message: 'workflows call activities through proxyActivities with `import type` only', allowTypeImports: true },
          ],
        },
      ],
    },
  },
);
