/**
 * Reads a capture directory (shared/capture-types.ts) without privileges. Damage is reported, not
 * thrown: a truncated events.bin or a bad JSON line becomes a warning and everything else is
 * returned. Only a capture that cannot be interpreted at all (no meta.json, meta.json not JSON or
 * missing fields, a newer capture version) is an error.
 */
import { capWarnings } from './cap-warnings.ts';
import { completenessWarnings } from './capture-completeness.ts';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseJsonLines } from '../lab/json-lines.ts';
import { CAPTURE_VERSION, type Capture, type CaptureMeta, type ClientObservation, type NginxAccessEntry } from '../shared/capture-types.ts';
import { truncatedTailWarning } from './decode-events.ts';
import type { EventTable } from './event-table.ts';
import { EventTableBuilder } from './event-table-builder.ts';
import { EventKind, type TraceEvent } from '../shared/event-types.ts';
import { tableOfEvents } from './table-of-events.ts';
import type { MachineSample } from '../shared/capture-types.ts';

export const CAPTURE_FILES = {
  meta: 'meta.json',
  events: 'events.bin',
  eventsJson: 'events.jsonl',
  client: 'client.jsonl',
  nginx: 'nginx-access.jsonl',
  pgStatStatements: 'pg-stat-statements.json',
  ss: 'ss.txt',
  loaderLog: 'loader.log',
  machine: 'machine.jsonl',
} as const;

async function readOptional(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks meta.json's shape; returns the meta or a one-line reason. */
export function parseMeta(text: string, where = 'meta.json'): CaptureMeta {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where} is not valid JSON (${(err as Error).message}): not a readable capture`);
  }
  if (!isObject(raw)) throw new Error(`${where} is not a JSON object: not a readable capture`);
  const v = raw.version;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new Error(`${where} has no valid 'version': not a readable capture`);
  }
  if (v > CAPTURE_VERSION) {
    throw new Error(`capture version ${v} is newer than this reqtrace-lab reads (version ${CAPTURE_VERSION}); upgrade to read it`);
  }
  const problems: string[] = [];
  const need = (key: string, ok: (x: unknown) => boolean, what: string): void => {
    if (!ok(raw[key])) problems.push(`'${key}' (${what})`);
  };
  const isStr = (x: unknown): boolean => typeof x === 'string';
  const isNumRecord = (x: unknown): boolean => isObject(x) && Object.values(x).every((n) => typeof n === 'number');
  need('source', (x) => x === 'bpf' || x === 'app-file', "'bpf' or 'app-file'");
  need('kernel', isStr, 'string');
  need('createdAt', isStr, 'string');
  need('hooks', (x) => isObject(x) && Object.values(x).every(isStr), 'object of strings');
  need('clock', (x) => isObject(x) && /^\d+$/.test(String(x.monotonicNs)) && /^\d+$/.test(String(x.realtimeNs)), 'decimal ns strings');
  need('pids', (x) => isObject(x) && Object.values(x).every((p) => Array.isArray(p) && p.every(Number.isInteger)), 'tier → pid list');
  need('ports', (x) => isObject(x) && ['proxy', 'app', 'postgres'].every((k) => Number.isInteger(x[k])), 'proxy/app/postgres');
  need('drops', isNumRecord, 'counter → number');
  need('sample', (x) => typeof x === 'number' && x >= 0 && x <= 1, 'number 0..1');
  need('proxy', (x) => x === 'nginx' || x === 'node', "'nginx' or 'node'");
  if (problems.length) throw new Error(`${where} is missing or has bad ${problems.join(', ')}: not a readable capture`);
  return raw as unknown as CaptureMeta;
}

export function toClientObservation(v: unknown): ClientObservation | string {
  if (!isObject(v)) return 'not a JSON object';
  for (const k of ['requestId', 'method', 'path'] as const) if (typeof v[k] !== 'string') return `missing '${k}'`;
  for (const k of ['status', 'startMs', 'latencyMs'] as const) if (typeof v[k] !== 'number' || !Number.isFinite(v[k])) return `missing '${k}'`;
  return v as unknown as ClientObservation;
}

export function toNginxEntry(v: unknown): NginxAccessEntry | string {
  if (!isObject(v)) return 'not a JSON object';
  for (const k of ['requestId', 'timeIso', 'method', 'uri'] as const) if (typeof v[k] !== 'string') return `missing '${k}'`;
  if (!Number.isInteger(v.status)) return "missing 'status'";
  return v as unknown as NginxAccessEntry;
}

export function toMachineSample(v: unknown): MachineSample | string {
  if (!isObject(v)) return 'not a JSON object';
  if (typeof v.tsNs !== 'string' || !/^\d+$/.test(v.tsNs)) return "missing 'tsNs'";
  for (const k of ['cpu', 'memKb', 'load', 'disks', 'net', 'tcp'] as const) if (!isObject(v[k])) return `missing '${k}'`;
  return v as unknown as MachineSample;
}

const BIGINT_FIELDS = new Set(['tsNs', 'durationUs', 'rows', 'durationNs', 'bytes', 'arrivalNs', 'inode', 'ret', 'delayNs', 'detail0', 'detail1', 'thresholdUs', 'waitNs']);
const KINDS = new Set<number>(Object.values(EventKind));
const APP_FIELDS: Partial<Record<number, readonly string[]>> = {
  [EventKind.RequestStart]: ['method', 'path'],
  [EventKind.RequestEnd]: ['status', 'durationUs'],
  [EventKind.DbQueryStart]: ['query'],
  [EventKind.DbQueryEnd]: ['durationUs', 'rows'],
  [EventKind.CacheHit]: ['key'],
  [EventKind.CacheMiss]: ['key'],
  [EventKind.FileOpen]: ['path'],
  [EventKind.FileClose]: [],
  [EventKind.PoolWait]: ['waitNs', 'poolSize', 'busy', 'waiting', 'newConnection'],
};

/**
 * One events.jsonl line (TraceEvent fields, bigints as decimal strings) → TraceEvent, or the
 * reason it is not one.
 */
export function eventFromJson(v: unknown): TraceEvent | string {
  if (!isObject(v)) return 'not a JSON object';
  const kind = v.kind;
  if (typeof kind !== 'number' || !KINDS.has(kind)) return `unknown event kind '${String(kind)}'`;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) {
    if (BIGINT_FIELDS.has(k)) {
      if (typeof val === 'string' && /^-?\d+$/.test(val)) out[k] = BigInt(val);
      else if (typeof val === 'number' && Number.isSafeInteger(val)) out[k] = BigInt(val);
      else return `field '${k}' is not an integer`;
    } else {
      out[k] = val;
    }
  }
  if (typeof out.tsNs !== 'bigint') return "missing 'tsNs'";
  if (typeof out.requestId !== 'string' || !/^([0-9a-f]{32})?$/.test(out.requestId)) return "bad 'requestId'";
  for (const k of ['pid', 'tid', 'fd'] as const) {
    if (out[k] === undefined && k !== 'pid') out[k] = k === 'fd' ? -1 : out.pid;
    if (!Number.isInteger(out[k])) return `missing '${k}'`;
  }
  for (const k of APP_FIELDS[kind] ?? []) if (out[k] === undefined) return `missing '${k}'`;
  return out as unknown as TraceEvent;
}

/** events.bin is read and decoded this many bytes at a time, so large captures need no whole-file buffer. */
const CHUNK_BYTES = 16 * 1024 * 1024;

/** What damage cost a read of events.bin. */
export interface EventsDamage {
  readonly regions: number;
  /** Bytes skipped in damaged regions (a region running to the end of the file included). */
  readonly bytes: number;
  readonly recordsRead: number;
  /** Whole records skipped by their size field (unknown kinds, short records). */
  readonly recordsSkipped: number;
  readonly fileBytes: number;
}

/**
 * Decodes events.bin chunk by chunk into one table; null when the file does not exist. Every
 * chunk is read into the same buffer (the table copies what it keeps); a record cut at a chunk's
 * end, or a damaged region still being scanned, is moved to its front, before the next chunk.
 */
async function readEventsBin(path: string): Promise<{ table: EventTable; warnings: string[]; damage: EventsDamage } | null> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const warnings: string[] = [];
  let tailBytes = 0;
  try {
    const { size } = await fh.stat();
    const builder = new EventTableBuilder(size);
    let buf = Buffer.allocUnsafe(0);
    /** Bytes at the front of `buf` carried over from the chunk before. */
    let carry = 0;
    let offset = 0;
    while (offset < size) {
      const want = Math.min(CHUNK_BYTES, size - offset);
      if (buf.length < carry + want) {
        const grown = Buffer.allocUnsafe(carry + want);
        buf.copy(grown, 0, 0, carry);
        buf = grown;
      }
      const { bytesRead } = await fh.read(buf, carry, want, null);
      if (bytesRead === 0) break;
      const r = builder.append(buf.subarray(0, carry + bytesRead), offset - carry);
      for (const w of r.warnings) warnings.push(w);
      offset += bytesRead;
      const from = r.remainder.byteOffset - buf.byteOffset;
      buf.copyWithin(0, from, from + r.remainder.length);
      carry = r.remainder.length;
    }
    const open = builder.damage.openSince;
    if (open !== null) {
      tailBytes = offset - open;
      warnings.push(`damaged region at bytes ${open}..${offset} (${tailBytes} bytes) runs to the end of the file: no valid record after it`);
    } else {
      const tail = truncatedTailWarning(buf.subarray(0, carry), offset - carry);
      if (tail) warnings.push(`${tail} (${builder.length} complete records read)`);
    }
    const d = builder.damage;
    return {
      table: builder.finish(),
      warnings,
      damage: { regions: d.regions + (tailBytes > 0 ? 1 : 0), bytes: d.bytes + tailBytes, recordsRead: builder.length, recordsSkipped: d.skippedRecords, fileBytes: size },
    };
  } finally {
    await fh.close();
  }
}

/**
 * One line on what damage cost, or null when there was none: the bytes skipped and the records
 * lost, exact when the loader reported how many it wrote, else estimated from the mean record
 * size of what was read. Pure.
 */
export function damageSummary(d: EventsDamage, loaderRecords: number | null | undefined): string | null {
  if (d.regions === 0) return null;
  const n = (x: number): string => x.toLocaleString('en-US');
  const head = `${n(d.bytes)} of ${n(d.fileBytes)} bytes unreadable in ${n(d.regions)} damaged region(s), skipped`;
  if (loaderRecords != null && loaderRecords >= d.recordsRead + d.recordsSkipped) {
    return `${head}: ${n(loaderRecords - d.recordsRead - d.recordsSkipped)} record(s) lost (the loader wrote ${n(loaderRecords)}, ${n(d.recordsRead)} read)`;
  }
  const readBytes = d.fileBytes - d.bytes;
  const mean = d.recordsRead > 0 ? readBytes / d.recordsRead : 0;
  return `${head}: about ${mean > 0 ? n(Math.round(d.bytes / mean)) : 'an unknown number of'} record(s) lost (estimated from the mean record size; ${n(d.recordsRead)} read)`;
}

/** Reads a capture directory. Throws only when meta.json is missing, unreadable or too new. */
export async function readCapture(dir: string): Promise<Capture & { readonly events: EventTable }> {
  const metaBytes = await readOptional(join(dir, CAPTURE_FILES.meta));
  if (metaBytes === null) {
    throw new Error(`${dir} has no ${CAPTURE_FILES.meta}: not a capture directory (captures are written by 'lab trace')`);
  }
  const meta = parseMeta(metaBytes.toString('utf8'), join(dir, CAPTURE_FILES.meta));
  const warnings: string[] = [...completenessWarnings(meta.completeness), ...(meta.warnings ?? []).map((w) => `capture: ${w}`)];
  const bin = await readEventsBin(join(dir, CAPTURE_FILES.events));
  if (bin !== null) {
    for (const w of bin.warnings) warnings.push(`${CAPTURE_FILES.events}: ${w}`);
    const lost = damageSummary(bin.damage, meta.loader?.records);
    if (lost !== null) warnings.push(`${CAPTURE_FILES.events}: ${lost}`);
  }
  let events: EventTable = bin === null ? tableOfEvents([]) : bin.table;
  const jsonEvents = await readOptional(join(dir, CAPTURE_FILES.eventsJson));
  if (jsonEvents !== null) {
    const parsed = parseJsonLines(jsonEvents.toString('utf8'), CAPTURE_FILES.eventsJson, eventFromJson);
    // Both files exist only in a capture put together by hand: the binary rows become objects
    // then. Filled by a loop: push(...values) overflows the stack with hundreds of thousands of
    // arguments.
    const all: TraceEvent[] = bin === null ? [] : [...bin.table];
    for (const e of parsed.values) all.push(e);
    events = tableOfEvents(all);
    for (const w of parsed.warnings) warnings.push(w);
  }
  if (bin === null && jsonEvents === null) {
    const expected = meta.source === 'bpf' ? CAPTURE_FILES.events : CAPTURE_FILES.eventsJson;
    warnings.push(`${expected} is missing: the capture has no events`);
  }

  const clientText = await readOptional(join(dir, CAPTURE_FILES.client));
  const client = clientText === null ? { values: [], warnings: [] } : parseJsonLines(clientText.toString('utf8'), CAPTURE_FILES.client, toClientObservation);
  if (clientText === null && meta.load !== null && meta.load !== undefined) warnings.push(`${CAPTURE_FILES.client} is missing: no client-side latencies`);
  for (const w of client.warnings) warnings.push(w);

  const nginxText = await readOptional(join(dir, CAPTURE_FILES.nginx));
  const nginx = nginxText === null ? { values: [], warnings: [] } : parseJsonLines(nginxText.toString('utf8'), CAPTURE_FILES.nginx, toNginxEntry);
  for (const w of nginx.warnings) warnings.push(w);

  const machineText = await readOptional(join(dir, CAPTURE_FILES.machine));
  const machine = machineText === null ? { values: [], warnings: [] } : parseJsonLines(machineText.toString('utf8'), CAPTURE_FILES.machine, toMachineSample);
  for (const w of machine.warnings) warnings.push(w);

  const nonZero = Object.entries(meta.drops).filter(([, n]) => n > 0);
  if (nonZero.length) warnings.push(`the loader dropped events: ${nonZero.map(([k, n]) => `${k}=${n}`).join(' ')}`);

  return { dir, meta, events, client: client.values, nginx: nginx.values, machine: machine.values, warnings: capWarnings(warnings) };
}
