/**
 * File I/O spans: FileOpen .. FileClose of one (pid, fd) with the kernel's reads and writes
 * on that fd inside. fds are reused (a closed file's number comes back for the next open, in
 * this request or another), so an I/O event finds its file by time, never by fd alone.
 */
import { basename } from 'node:path';
import { EventKind, type EventOf, type TraceEvent } from '../shared/event-types.ts';
import { eventStartNs, isFileIo, lowerBound, maxBig, minBig, type FileIo } from './event-time.ts';
import type { FileOpenEvent } from './index-capture.ts';
import { draftSpan, type SpanDraft } from './span-draft.ts';

type FileClose = EventOf<typeof EventKind.FileClose>;

/** Most read/write child spans per file; the rest are counted in a tag. */
const MAX_IO_SPANS = 32;

const sizeText = (bytes: bigint): string => (bytes >= 1024n ? `${(Number(bytes) / 1024).toFixed(1)} KiB` : `${bytes} B`);

interface OpenFile {
  readonly open: FileOpenEvent;
  readonly close: FileClose | undefined;
  readonly io: FileIo[];
}

function ioSpan(e: FileIo): SpanDraft {
  const verb = e.kind === EventKind.FileRead ? 'read' : 'write';
  return draftSpan(`${verb} ${sizeText(e.bytes > 0n ? e.bytes : 0n)}`, 'kernel', eventStartNs(e), e.tsNs, {
    tags: { 'file.io.bytes': Number(e.bytes), 'file.inode': Number(e.inode), 'thread.id': e.tid },
  });
}

function fileSpan(name: string, startNs: bigint, endNs: bigint, io: readonly FileIo[], tags: Record<string, string | number | boolean>, warnings: string[]): SpanDraft {
  let read = 0n;
  let written = 0n;
  for (const e of io) {
    if (e.bytes <= 0n) continue;
    if (e.kind === EventKind.FileRead) read += e.bytes;
    else written += e.bytes;
  }
  const reads = io.some((e) => e.kind === EventKind.FileRead);
  const writes = io.some((e) => e.kind === EventKind.FileWrite);
  const verb = reads && !writes ? 'file read' : writes && !reads ? 'file write' : 'file';
  const span = draftSpan(`${verb}: ${name}`, 'app', startNs, endNs, {
    tags: { ...tags, 'file.bytes_read': Number(read), 'file.bytes_written': Number(written) },
    warnings,
  });
  const inode = io[0]?.inode;
  if (inode !== undefined) span.tags['file.inode'] = Number(inode);
  io.slice(0, MAX_IO_SPANS).forEach((e) => span.children.push(ioSpan(e)));
  if (io.length > MAX_IO_SPANS) span.tags['file.syscalls_folded'] = io.length - MAX_IO_SPANS;
  return span;
}

const isFileEvent = (e: TraceEvent): boolean => e.kind === EventKind.FileOpen || e.kind === EventKind.FileClose || isFileIo(e);

/**
 * File spans for one request's events. `opensByFd` (every FileOpen of the capture by `pid:fd`)
 * names files this request did not open itself; `fallbackEndNs` ends a file never closed.
 */
export function buildFileSpans(events: readonly TraceEvent[], opensByFd: ReadonlyMap<string, readonly FileOpenEvent[]>): SpanDraft[] {
  if (!events.some(isFileEvent)) return [];
  const files: OpenFile[] = [];
  const closes = events.filter((e): e is FileClose => e.kind === EventKind.FileClose);
  const usedCloses = new Set<FileClose>();
  for (const e of events) {
    if (e.kind !== EventKind.FileOpen) continue;
    const close = closes.find((c) => !usedCloses.has(c) && c.pid === e.pid && c.fd === e.fd && c.tsNs >= e.tsNs);
    if (close) usedCloses.add(close);
    files.push({ open: e, close, io: [] });
  }
  const unknown = new Map<string, FileIo[]>();
  const borrowed = new Map<FileOpenEvent, FileIo[]>();
  for (const e of events) {
    if (!isFileIo(e)) continue;
    const start = eventStartNs(e);
    // The file of this request open on that fd when the I/O began (or the nearest one after).
    const candidates = files.filter((f) => f.open.pid === e.pid && f.open.fd === e.fd);
    const inWindow = candidates.filter((f) => f.open.tsNs <= e.tsNs && (f.close === undefined || start <= f.close.tsNs));
    const own = inWindow.at(-1) ?? candidates.find((f) => f.open.tsNs > e.tsNs);
    if (own) {
      own.io.push(e);
      continue;
    }
    const opens = opensByFd.get(`${e.pid}:${e.fd}`) ?? [];
    const other = opens[lowerBound(opens, (o) => o.tsNs > e.tsNs) - 1];
    if (other) {
      const list = borrowed.get(other);
      if (list) list.push(e);
      else borrowed.set(other, [e]);
      continue;
    }
    const key = `${e.pid}:${e.fd}`;
    const list = unknown.get(key);
    if (list) list.push(e);
    else unknown.set(key, [e]);
  }

  const spans: SpanDraft[] = [];
  for (const f of files) {
    const ioStart = f.io.length > 0 ? eventStartNs(f.io[0] as FileIo) : f.open.tsNs;
    const ioEnd = f.io.length > 0 ? (f.io.at(-1) as FileIo).tsNs : f.open.tsNs;
    const start = minBig(f.open.tsNs, ioStart);
    const end = f.close ? maxBig(f.close.tsNs, ioEnd) : ioEnd;
    const tags = { 'file.path': f.open.path, 'file.name': basename(f.open.path), 'file.descriptor': f.open.fd, 'file.closed': f.close !== undefined };
    spans.push(fileSpan(basename(f.open.path) || f.open.path, start, end, f.io, tags, []));
  }
  for (const [open, io] of borrowed) {
    const tags = { 'file.path': open.path, 'file.name': basename(open.path), 'file.descriptor': open.fd, 'file.opened_by': open.requestId || 'unknown' };
    spans.push(fileSpan(basename(open.path) || open.path, eventStartNs(io[0] as FileIo), (io.at(-1) as FileIo).tsNs, io, tags, []));
  }
  for (const [key, io] of unknown) {
    const first = io[0] as FileIo;
    spans.push(
      fileSpan(`fd ${first.fd}`, eventStartNs(first), (io.at(-1) as FileIo).tsNs, io, { 'file.descriptor': first.fd }, [
        `no FileOpen for pid:fd ${key}: file name unknown`,
      ]),
    );
  }
  for (const c of closes) {
    if (usedCloses.has(c)) continue;
    const s = spans.find((sp) => sp.tags['file.descriptor'] === c.fd && sp.startNs <= c.tsNs);
    if (s) s.logs.push({ tsNs: c.tsNs, fields: { event: 'file close' } });
  }
  return spans;
}
