/**
 * The I/O edge shared by `lab show`, `lab export`, `lab analyze` and `lab validate`: reads a
 * capture, reports its warnings on stderr, assembles its traces (all held, or streamed).
 */
import { terminalSafe } from '../tracer/terminal-safe.ts';
import type { Capture } from '../shared/capture-types.ts';
import { readCapture } from '../tracer/read-capture.ts';
import { assembleCapture, assembleTraces, type AssembleOptions, type TraceStream } from './build-span-tree.ts';
import type { AssembledCapture, Trace } from './span.ts';

export interface LoadedTraces {
  readonly capture: Capture;
  readonly assembled: AssembledCapture;
}

export interface StreamedTraces {
  readonly capture: Capture;
  readonly wallOffsetNs: bigint;
  /**
   * The capture's traces in order of start, assembled anew on each pass and let go as they are
   * read; the line saying how many were assembled is logged at the end of the first pass.
   */
  readonly traces: Iterable<Trace>;
}

/** Reads `dir`; throws a one-line error when the capture has no events at all. */
async function readWithWarnings(dir: string, log: (line: string) => void): Promise<Capture> {
  const capture = await readCapture(dir);
  for (const w of capture.warnings) log(`warning: ${w}`);
  if (capture.events.length === 0) throw new Error(`${dir} holds no events: nothing to assemble`);
  return capture;
}

const assembledLine = (traces: number, events: number, ms: number): string => `assembled ${traces} trace(s) from ${events} event(s) in ${ms.toFixed(0)} ms`;

/** Reads and assembles `dir`, holding every trace; throws a one-line error when the capture has no events at all. */
export async function loadTraces(dir: string, log: (line: string) => void): Promise<LoadedTraces> {
  const capture = await readWithWarnings(dir, log);
  const started = process.hrtime.bigint();
  const assembled = assembleCapture(capture);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  for (const w of assembled.warnings.slice(capture.warnings.length)) log(`warning: ${w}`);
  log(assembledLine(assembled.traces.length, capture.events.length, ms));
  return { capture, assembled };
}

/**
 * Reads `dir` and streams its traces: a large capture's traces are built while they are read and
 * never all held. Same warnings and the same line as `loadTraces`.
 */
export async function streamTraces(dir: string, log: (line: string) => void, options: AssembleOptions = {}): Promise<StreamedTraces> {
  const capture = await readWithWarnings(dir, log);
  const stream: TraceStream = assembleTraces(capture, options);
  for (const w of stream.warnings.slice(capture.warnings.length)) log(`warning: ${w}`);
  let logged = false;
  const traces: Iterable<Trace> = {
    *[Symbol.iterator]() {
      const started = process.hrtime.bigint();
      let n = 0;
      for (const t of stream.traces) {
        n++;
        yield t;
      }
      if (!logged) log(assembledLine(n, capture.events.length, Number(process.hrtime.bigint() - started) / 1e6));
      logged = true;
    },
  };
  return { capture, wallOffsetNs: stream.wallOffsetNs, traces };
}

/** `items`, each handed to `each` as it is read (a count, a tally), read once. */
export function tapped<T>(items: Iterable<T>, each: (item: T) => void): Iterable<T> {
  return {
    *[Symbol.iterator]() {
      for (const item of items) {
        each(item);
        yield item;
      }
    },
  };
}

/** Writes one line to stderr (progress and warnings; data goes to stdout), made safe for a terminal. */
export const stderrLine = (line: string): void => {
  process.stderr.write(`${terminalSafe(line)}\n`);
};
