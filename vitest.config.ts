import { defineConfig } from 'vitest/config';

// Unit tests (pure, fast) run in parallel; end-to-end tests (`*.e2e.test.ts`) start real nginx,
// PostgreSQL, the app and BPF, so they run one file at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: ['**/*.e2e.test.ts', 'node_modules/**', 'build/**', '.lab/**'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['**/*.e2e.test.ts'],
          exclude: ['node_modules/**', 'build/**', '.lab/**'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
