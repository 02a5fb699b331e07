// Typed lint for the whole project, plus the dependency rule of the house: core imports no SDK and no adapter;
// src never imports the emulator; only adapters (and the local host) speak to Azure and Graph SDKs.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const sdkPatterns = ['@azure/*', '@microsoft/*', 'azurite', 'azurite/*'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bin/**', '.local-data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: sdkPatterns, message: 'src/core is plain TypeScript: SDKs belong in src/adapters.' },
            { group: ['**/adapters/**', '**/local/**', '**/emulator/**', '**/functions/**', '**/compose', '**/config'], message: 'The dependency rule points inwards: core imports none of these.' },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'process', message: 'Only src/config.ts reads the environment; pass values in.' }],
    },
  },
  {
    files: ['src/**/*.ts', 'functions/**/*.ts'],
    ignores: ['src/local/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/emulator/**', 'azurite', 'azurite/*'], message: 'Production code never imports the emulator or Azurite.' }] }],
    },
  },
  {
    files: ['**/*.mjs', 'bin/**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
