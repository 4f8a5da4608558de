import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: files run in parallel processes, tests inside a file run in order.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
    // No synthetic warm-up in the servers tests start (seconds each on two shared cores);
    // test/gateway/warmup.test.ts runs it on its own.
    env: { TOLLGATE_GATEWAY_WARMUP: '0' },
  },
});
