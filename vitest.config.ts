import { defineConfig } from 'vitest/config';

/**
 * Suites that drive real processes (the opl CLI, store writers, hail, PostgreSQL) get a longer
 * bound per test than in-process ones: on a loaded 2-core machine one of their tests can take tens
 * of seconds, while an in-process test that takes a minute is stuck. Every bound is finite, and
 * scripts/vitest-deadline.mjs stops the whole run if it outlives its deadline anyway.
 */
const processSuites = [
  'test/cli/**/*.test.ts',
  'test/adapters/stores/**/*.test.ts',
  'test/adapters/process/**/*.test.ts',
  'test/allocators/builtin/opl-ialloc.test.ts',
  'test/noded/daemon.test.ts',
  'test/noded/kvm-guests.test.ts',
  'test/adapters/hypervisors/node-routed.test.ts',
  'test/adapters/hypervisors/qmp.test.ts',
  'test/adapters/hypervisors/kvm.test.ts',
  'test/adapters/storage/node-routed-files.test.ts',
  'test/adapters/storage/node-routed-storage-check.test.ts',
  'test/adapters/storage/node-routed-devices.test.ts',
  'test/adapters/storage/node-routed-ext.test.ts',
  'test/cli/node-join.test.ts',
  'test/cli/dead-node.test.ts',
  'test/netns/cluster.test.ts',
  'test/netns/kvm-guests.test.ts',
];

export default defineConfig({
  test: {
    pool: 'forks',
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    globalSetup: ['scripts/vitest-deadline.mjs'],
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'in-process', include: ['test/**/*.test.ts'], exclude: processSuites, testTimeout: 60_000 },
      },
      {
        extends: true,
        test: { name: 'processes', include: processSuites, testTimeout: 180_000 },
      },
    ],
  },
});
