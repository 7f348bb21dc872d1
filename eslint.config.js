import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const PRINCIPAL_TABLES = /^(sessions|users|hospitals|viewer_sessions|study_shares)(\s+as\s+\w+)?$/;
const WRITES = new Set(['insert', 'update', 'delete', 'del', 'increment', 'decrement', 'upsert']);

/**
 * `local/principal-writes`: an insert, update or delete on a table a principal is read from must start with
 * `principalWrite(db, table)` (common/principal-cache.ts), which marks it for the barrier; `db('users')…update()` is
 * refused. Follows the builder chain from the write down to the call that named the table.
 */
const principalWrites = {
  meta: {
    type: 'problem',
    schema: [],
    messages: { marked: "Write '{{table}}' through principalWrite(db, '{{table}}') (common/principal-cache.ts), so the barrier knows." },
  },
  create(context) {
    return {
      CallExpression(node) {
        if (node.callee.type !== 'MemberExpression' || node.callee.property.type !== 'Identifier' || !WRITES.has(node.callee.property.name))
          return;
        let root = node.callee.object;
        while (root && (root.type === 'CallExpression' || root.type === 'MemberExpression')) {
          if (root.type === 'CallExpression' && root.callee.type === 'Identifier') break;
          root = root.type === 'CallExpression' ? root.callee : root.object;
        }
        const arg = root?.type === 'CallExpression' ? root.arguments[0] : undefined;
        if (
          arg?.type === 'Literal' &&
          typeof arg.value === 'string' &&
          PRINCIPAL_TABLES.test(arg.value) &&
          root.callee.name !== 'principalWrite'
        ) {
          context.report({ node, messageId: 'marked', data: { table: arg.value.split(/\s/)[0] } });
        }
      },
    };
  },
};

export default tseslint.config(
  { ignores: ['node_modules/', '**/dist/', 'web/.dist-*/', '.data/', 'coverage/'] },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } } },
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
    // Every write of a table a principal is read from is marked for the barrier (common/principal-cache.ts).
    files: ['api/src/**', 'common/**', 'dicom-proxy/src/**', 'dicom-gate/src/**'],
    plugins: { local: { rules: { 'principal-writes': principalWrites } } },
    rules: { 'local/principal-writes': 'error' },
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
