import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // scratch/: a working folder kept out of git (.git/info/exclude), never linted.
  { ignores: ['dist/', 'dist-cli/', 'node_modules/', 'out/', 'bin/', 'scratch/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // Folder = layer (shared/design/architecture.md): plain arithmetic, tasks and judges are pure
    // logic, tested in Node without a GPU, so they never reach into the GPU, the model or a shell.
    files: ['src/math/**/*.ts', 'src/tasks/**/*.ts', 'src/judge/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/gpu/*', '**/model/*', '**/rl/*', '**/worker/*', '**/ui/*', '**/cli/*'],
              message: 'Pure logic (src/math, src/tasks, src/judge) never imports the GPU, the model, the run or a shell; see shared/design/architecture.md.',
            },
          ],
        },
      ],
    },
  },
  {
    // The UI renders untrusted text (model, dataset and judge output): never through HTML.
    files: ['src/ui/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { property: 'innerHTML', message: 'Render untrusted text with textContent.' },
        { property: 'outerHTML', message: 'Render untrusted text with textContent.' },
        { property: 'insertAdjacentHTML', message: 'Render untrusted text with textContent.' },
      ],
    },
  },
);
