/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  setupFilesAfterEnv: ['<rootDir>/test/setup.ts'],
  transform: {
    // Type checking is `tsc --noEmit` (run by `npm test` first); here we only transpile, which keeps jest fast.
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: { module: 'commonjs', allowJs: true, isolatedModules: true } }],
  },
  // p-limit, its dependency and jose ship as ESM only; transpile them to CommonJS for jest.
  transformIgnorePatterns: ['/node_modules/(?!(p-limit|yocto-queue|jose)/)'],
  testTimeout: 30000,
};
