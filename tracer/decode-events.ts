/**
 * Decodes the loader's binary records (probes/events.h) into TraceEvents. Pure and streaming-safe:
 * a record cut at the end of the input is handed back as `remainder` to prepend to the next
 * chunk; unknown kinds and short records are skipped by their size field, with a warning.
 * Framing and the columns come from tracer/event-table-builder.ts; this is its every-row-an-object view.
 */
import type { TraceEvent } from '../shared/event-types.ts';
import { EVENT_LAYOUT, HEADER_SIZE } from '../shared/event-layout.ts';
import { EventTableBuilder, type AppendResult } from './event-table-builder.ts';

export { MAX_RECORD_BYTES } from './event-table-builder.ts';

export interface DecodeResult extends AppendResult {
  readonly events: TraceEvent[];
}

export interface DecodeOptions {
  /** Stream position of the input's first byte, for warnings (default 0). */
  readonly streamOffset?: number;
  /**
   * Where decoded events are appended (default: a new array, returned as `events`). Lets a
   * reader that decodes chunk by chunk collect every chunk's events in one array.
   */
  readonly into?: TraceEvent[];
}

/**
 * Decodes whole records from `input` (one buffer, or chunks in order). Records longer than this
 * build's struct (a newer loader's appended fields) decode by their known prefix.
 */
export function decodeEvents(input: Buffer | readonly Buffer[], options: DecodeOptions = {}): DecodeResult {
  const buf = Buffer.isBuffer(input) ? input : input.length === 1 ? input[0]! : Buffer.concat(input);
  const builder = new EventTableBuilder();
  const result = builder.append(buf, options.streamOffset ?? 0);
  const events = options.into ?? [];
  for (const e of builder.finish()) events.push(e);
  return { events, ...result };
}

/** The warning for bytes left over at the end of a stream, or null when there are none. */
export function truncatedTailWarning(remainder: Buffer, streamOffset: number): string | null {
  if (remainder.length === 0) return null;
  const declared = remainder.length >= HEADER_SIZE ? ` of a ${remainder.readUInt16LE(EVENT_LAYOUT.event_header.fields.size[0])}-byte record` : '';
  return `truncated record at byte ${streamOffset}: ${remainder.length} bytes${declared} at the end of the stream; skipped`;
}
