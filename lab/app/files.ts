import { open, unlink, type FileHandle } from 'node:fs/promises';
import type { RequestContext } from './request-context.ts';

/**
 * Opens `path`, binds its fd to the request (file_open), runs `fn`, unbinds (file_close) and
 * closes. All of a request's file I/O goes through here so the kernel side can attribute it.
 */
export async function withFile<T>(ctx: RequestContext, path: string, flags: string, fn: (fh: FileHandle) => Promise<T>): Promise<T> {
  const fh = await open(path, flags, 0o644);
  const { probes, requestId } = ctx;
  ctx.work.fileOpens += 1;
  if (probes.enabled.fileOpen()) probes.fileOpen(requestId, fh.fd, path);
  try {
    return await fn(fh);
  } finally {
    if (probes.enabled.fileClose()) probes.fileClose(requestId, fh.fd);
    await fh.close();
  }
}

/** The whole file as UTF-8. */
export function readTextFile(ctx: RequestContext, path: string): Promise<string> {
  return withFile(ctx, path, 'r', (fh) => fh.readFile({ encoding: 'utf8' }));
}

/** Appends one line (a newline is added). */
export async function appendLine(ctx: RequestContext, path: string, line: string): Promise<void> {
  await withFile(ctx, path, 'a', async (fh) => {
    await fh.write(`${line}\n`);
  });
}

const CHUNK = 64 * 1024;

/** Writes `kb` KiB to a new scratch file, reads it back, removes it; returns the bytes read. */
export async function scratchWriteRead(ctx: RequestContext, path: string, kb: number): Promise<number> {
  const total = kb * 1024;
  const chunk = Buffer.alloc(Math.min(CHUNK, total), 0x5a);
  try {
    return await withFile(ctx, path, 'w+', async (fh) => {
      for (let written = 0; written < total; ) {
        const n = Math.min(chunk.length, total - written);
        const r = await fh.write(chunk, 0, n, written);
        written += r.bytesWritten;
      }
      let read = 0;
      const buf = Buffer.alloc(chunk.length);
      for (;;) {
        const r = await fh.read(buf, 0, buf.length, read);
        if (r.bytesRead === 0) break;
        read += r.bytesRead;
      }
      return read;
    });
  } finally {
    await unlink(path).catch(() => undefined);
  }
}
