#!/usr/bin/env node
// Entry point for `npx lab`: runs the TypeScript CLI through tsx.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const tsx = join(root, 'node_modules', '.bin', 'tsx');
// Decoding and assembling captures allocate millions of short-lived objects (bigint times);
// a larger young generation halves the time the collector takes over them.
const nodeOptions = [process.env.NODE_OPTIONS, '--max-semi-space-size=64'].filter(Boolean).join(' ');
const result = spawnSync(tsx, [join(root, 'cli', 'main.ts'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, NODE_OPTIONS: nodeOptions },
});
if (result.error) {
  process.stderr.write(`lab: cannot start tsx (${result.error.message}); run 'npm ci' first\n`);
  process.exit(1);
}
process.exit(result.status ?? 1);
