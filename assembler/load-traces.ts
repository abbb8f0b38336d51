/**
 * The I/O edge shared by `lab show`, `lab export` and `lab validate`: reads a capture, reports
 * its warnings on stderr, assembles its traces.
 */
import { terminalSafe } from '../tracer/terminal-safe.ts';
import type { Capture } from '../tracer/capture-types.ts';
import { readCapture } from '../tracer/read-capture.ts';
import { assembleCapture } from './build-span-tree.ts';
import type { AssembledCapture } from './span.ts';

export interface LoadedTraces {
  readonly capture: Capture;
  readonly assembled: AssembledCapture;
}

/** Reads and assembles `dir`; throws a one-line error when the capture has no events at all. */
export async function loadTraces(dir: string, log: (line: string) => void): Promise<LoadedTraces> {
  const capture = await readCapture(dir);
  for (const w of capture.warnings) log(`warning: ${w}`);
  if (capture.events.length === 0) throw new Error(`${dir} holds no events: nothing to assemble`);
  const started = process.hrtime.bigint();
  const assembled = assembleCapture(capture);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  for (const w of assembled.warnings.slice(capture.warnings.length)) log(`warning: ${w}`);
  log(`assembled ${assembled.traces.length} trace(s) from ${capture.events.length} event(s) in ${ms.toFixed(0)} ms`);
  return { capture, assembled };
}

/** Writes one line to stderr (progress and warnings; data goes to stdout), made safe for a terminal. */
export const stderrLine = (line: string): void => {
  process.stderr.write(`${terminalSafe(line)}\n`);
};
