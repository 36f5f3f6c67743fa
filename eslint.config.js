import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'dist-cli/', 'node_modules/', 'out/', 'bin/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
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
