// typescript-eslint's recommended rules with type information, on every TypeScript source; Prettier
// owns formatting (eslint-config-prettier turns off the rules that would fight it).
import { createRequire } from 'node:module';
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/** The CloudFront Function the construct deploys (and `npm start` runs): plain JavaScript, held to its runtime. */
const CLOUDFRONT_FUNCTIONS = ['lib/pusher-endpoint/viewer-request.js'];
const cloudfrontRuntime = createRequire(import.meta.url)('./local/cloudfront/cloudfront-js-2.0.json');
/** Syntax cloudfront-js-2.0 does not document (it lists ES 5.1, and of later versions only some features). */
const UNDOCUMENTED = [
  ['ClassDeclaration, ClassExpression', 'classes'],
  ['ForOfStatement', 'for…of'],
  ['ObjectPattern, ArrayPattern', 'destructuring'],
  ['SpreadElement', 'spread'],
  ['AssignmentPattern', 'default parameters'],
  [':function[generator=true]', 'generators'],
  ['ArrowFunctionExpression[async=true], FunctionExpression[async=true]', 'async closures'],
  ['ChainExpression', 'optional chaining'],
  ["LogicalExpression[operator='??']", 'nullish coalescing'],
  ['TaggedTemplateExpression', 'tagged templates'],
  ['ImportExpression, MetaProperty', 'modules'],
  ['Property[method=true], Property[shorthand=true]', 'method and shorthand properties'],
].map(([selector, what]) => ({ selector, message: `cloudfront-js-2.0 does not document ${what}` }));

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'cdk.out/',
      'dist/',
      'client/dist/',
      'coverage/',
      'test-artifacts/',
      'bench/results/',
      'console/',
      '**/*.js',
      ...CLOUDFRONT_FUNCTIONS.map((file) => `!${file}`),
      '**/*.mjs',
      '**/*.cjs',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // `_`-prefixed names are deliberately unused (destructuring a field away, a required parameter).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Tests assert on what the handler and clients answer: parsed JSON is `any` by nature there. And
    // their fakes implement asynchronous ports with bodies that need not wait.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  { files: CLOUDFRONT_FUNCTIONS, ...tseslint.configs.disableTypeChecked },
  {
    // A script, not a module: its top-level `handler` is what CloudFront calls. Only the runtime's
    // globals (no timers, process, fetch, Buffer), no eval, and only the syntax it documents.
    files: CLOUDFRONT_FUNCTIONS,
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(cloudfrontRuntime.globals.map((name) => [name, 'readonly'])),
    },
    rules: {
      'no-undef': 'error',
      'no-eval': 'error',
      'no-new-func': 'error',
      'no-restricted-syntax': ['error', ...UNDOCUMENTED],
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^handler$' }],
    },
  },
  prettier,
);
