// Tests are compiled by `tsc` first (make build) and jest runs the emitted ES modules natively
// (node --experimental-vm-modules). That keeps the ESM-only @kubernetes/client-node loading as it
// does in production, with no transform step between the code under test and what ships.
export default {
  testEnvironment: 'node',
  rootDir: 'dist/test',
  testMatch: ['**/*.test.js'],
  transform: {},
  testTimeout: 120000,
  // Integration suites start real processes (etcd, kube-apiserver, dovecot); two cores.
  maxWorkers: process.env.CI ? 1 : 2,
  globalSetup: '<rootDir>/support/global-setup.js',
  globalTeardown: '<rootDir>/support/global-teardown.js',
  verbose: false,
  reporters: ['default', '<rootDir>/support/summary-reporter.js'],
};
