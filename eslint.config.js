import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['error'] }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // The link rule lives in one place (issue 23): the tables that decide who sees a patient's data are queried only by
    // the access layer (common/access.ts, common/scope.ts) and the repositories, never by services, the proxy or the gate directly.
    files: ['api/src/**', 'common/**', 'dicom-proxy/src/**', 'dicom-gate/src/**'],
    ignores: ['common/access.ts', 'common/scope.ts', '**/repository.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'Literal[value=/\\b(patient_doctor_links|dicom_studies)\\b/]',
          message: 'Query patient_doctor_links and dicom_studies through common/access.ts or a repository, not here.',
        },
        {
          selector: 'TemplateElement[value.raw=/\\b(patient_doctor_links|dicom_studies)\\b/]',
          message: 'Query patient_doctor_links and dicom_studies through common/access.ts or a repository, not here.',
        },
      ],
    },
  },
  {
    files: ['scripts/**', 'bench/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // Response bodies in tests are untyped JSON checked against the OpenAPI document.
    files: ['test/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
