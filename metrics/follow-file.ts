/**
 * Reads what a growing file gained since the last read: the loader's events.bin, the proxy's
 * access log. A file that does not exist yet reads as empty; one that shrank or was replaced
 * is read again from its start.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';

/** Largest chunk one read returns; the rest comes with the next read. */
const MAX_CHUNK = 8 << 20;

export class FileFollower {
  private offset: number;
  private inode: number | null = null;

  constructor(
    readonly path: string,
    fromOffset = 0,
  ) {
    this.offset = fromOffset;
  }

  /** Bytes appended since the last call (possibly none). */
  read(): Buffer {
    let st;
    try {
      st = statSync(this.path);
    } catch {
      return Buffer.alloc(0);
    }
    if ((this.inode !== null && st.ino !== this.inode) || st.size < this.offset) this.offset = 0;
    this.inode = st.ino;
    const length = Math.min(MAX_CHUNK, st.size - this.offset);
    if (length <= 0) return Buffer.alloc(0);
    const buf = Buffer.alloc(length);
    const fd = openSync(this.path, 'r');
    let got = 0;
    try {
      while (got < length) {
        const n = readSync(fd, buf, got, length - got, this.offset + got);
        if (n === 0) break;
        got += n;
      }
    } finally {
      closeSync(fd);
    }
    this.offset += got;
    return got === length ? buf : buf.subarray(0, got);
  }
}

/** Splits text chunks into complete lines, keeping a partial last line for the next chunk. */
export class LineSplitter {
  private rest = '';

  push(chunk: Buffer | string): string[] {
    const text = this.rest + chunk.toString();
    const end = text.lastIndexOf('\n');
    if (end === -1) {
      this.rest = text;
      return [];
    }
    this.rest = text.slice(end + 1);
    return text.slice(0, end).split('\n').filter((l) => l !== '');
  }
}
