#!/usr/bin/env node
// Entry point for `npx lab`: runs the TypeScript CLI in a child node with tsx's loader, and ends
// only when that child has: a command finishing its work after a signal (`lab trace` writing its
// capture after Ctrl-C) must not get the prompt back before it is done.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_NODE_OPTIONS } from '../shared/node-options.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
let tsx;
try {
  tsx = import.meta.resolve('tsx');
} catch (err) {
  process.stderr.write(`lab: cannot find tsx (${err.message}); run 'npm ci' first\n`);
  process.exit(1);
}
const child = spawn(process.execPath, [...CLI_NODE_OPTIONS, '--import', tsx, join(root, 'cli', 'main.ts'), ...process.argv.slice(2)], {
  stdio: 'inherit',
});
// A terminal's Ctrl-C reaches the whole foreground process group, the child included, so SIGINT
// is not passed on (twice would mean "hurry"); SIGTERM and SIGHUP are usually sent to this pid
// alone, so they are.
process.on('SIGINT', () => {});
for (const sig of ['SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  });
}
child.once('error', (err) => {
  process.stderr.write(`lab: cannot start node (${err.message})\n`);
  process.exit(1);
});
child.once('exit', (code, signal) => {
  process.exit(code ?? 128 + (constants.signals[signal] ?? 0));
});
