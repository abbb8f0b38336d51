/**
 * Writes the parts of a capture directory that `lab trace` produces itself (the loader writes
 * events.bin, the load generator client.jsonl). meta.json is written at the start, marked
 * unfinished, and replaced atomically at the end, so an interrupted capture stays readable and
 * says so.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CAPTURE_VERSION, type CaptureMeta } from '../shared/capture-types.ts';
import { CAPTURE_FILES } from './read-capture.ts';

/** The warning an unfinished meta.json carries until the capture completes. */
export const UNFINISHED = 'the capture did not finish (lab trace was interrupted or crashed): events may stop early and drop counters are unknown';

/** `captures/<UTC timestamp>` under `root`, e.g. captures/2025-01-31T12-00-05Z. Pure. */
export function defaultCaptureDir(root: string, now: Date): string {
  const stamp = now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  return resolve(root, 'captures', stamp);
}

/** Creates the directory; refuses one that already holds a capture or other files. */
export function prepareCaptureDir(dir: string): string {
  const abs = resolve(dir);
  if (existsSync(abs)) {
    const entries = readdirSync(abs);
    if (entries.includes(CAPTURE_FILES.meta)) throw new Error(`${abs} already holds a capture: choose another --out`);
    if (entries.length > 0) throw new Error(`${abs} is not empty: choose an empty or new --out directory`);
  }
  mkdirSync(abs, { recursive: true });
  return abs;
}

/** Writes meta.json atomically (temporary file, then rename). */
export function writeMeta(dir: string, meta: CaptureMeta): void {
  if (meta.version !== CAPTURE_VERSION) throw new Error(`writeMeta: version ${meta.version}, expected ${CAPTURE_VERSION}`);
  writeFileAtomic(join(dir, CAPTURE_FILES.meta), JSON.stringify(meta, null, 2) + '\n');
}

/** Writes a whole file through a temporary name, so readers never see half of it. */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Writes values as JSON lines (bigints as decimal strings). */
export function writeJsonLines(path: string, values: readonly unknown[]): void {
  const text = values.map((v) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) + '\n').join('');
  writeFileSync(path, text);
}

/** One summary line for stderr: where the capture is and what it holds. Pure. */
export function formatCaptureSummary(s: {
  dir: string;
  requests: number | null;
  events: number;
  drops: Readonly<Record<string, number>>;
  source: CaptureMeta['source'];
}): string {
  const dropTotal = Object.values(s.drops).reduce((a, b) => a + b, 0);
  const dropText = Object.keys(s.drops).length === 0 ? 'drops unknown' : dropTotal === 0 ? '0 dropped' : `${dropTotal} dropped (${Object.entries(s.drops).filter(([, n]) => n > 0).map(([k, n]) => `${k}=${n}`).join(' ')})`;
  const req = s.requests === null ? '' : `${s.requests} requests, `;
  return `capture ${s.dir}: ${req}${s.events} events (${s.source === 'bpf' ? 'BPF' : 'app file probes, no kernel events'}), ${dropText}`;
}
