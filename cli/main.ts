import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatHelp, parseArguments, type Invocation } from './parse-args.ts';

/** A command module: `cli/commands/<name>.ts` exports `run`, resolving to the exit status. */
export interface CommandModule {
  run(invocation: Invocation): Promise<number>;
}

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseArguments(argv);
  if (!parsed.ok) {
    process.stderr.write(`lab: ${parsed.error}\n`);
    return 2;
  }
  const inv = parsed.value;
  if (inv.command === 'help') {
    process.stdout.write(formatHelp(inv.positionals.command) + '\n');
    return 0;
  }
  const file = join(dirname(fileURLToPath(import.meta.url)), 'commands', `${inv.command}.ts`);
  if (!existsSync(file)) {
    process.stderr.write(`lab: '${inv.command}' is not available in this build\n`);
    return 2;
  }
  const mod = (await import(file)) as CommandModule;
  return mod.run(inv);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`lab: ${message.split('\n')[0]}\n`);
    if (process.env.LAB_DEBUG) process.stderr.write(`${err instanceof Error ? err.stack : ''}\n`);
    process.exitCode = 1;
  },
);
