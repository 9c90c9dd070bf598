// Lint: typescript-eslint's recommended rules plus exhaustive switches over closed unions
// (shared/design/transport.md). Type-aware, so it reads tsconfig.json.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A switch with a default arm is exhaustive by construction; one without must name every case.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Specs load the built package the way a plain-JavaScript user does.
    files: ['spec/**/*.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
