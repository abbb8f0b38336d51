/**
 * What `lab trace` records beside the events, for cross-validation: pg_stat_statements (reset at
 * capture start, read at the end), `ss -tin` for the lab's ports, and the slices of the proxy's
 * access log and the app's probe file that were written during the capture.
 */
import { execFile } from 'node:child_process';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';
import { parseAccessLog, type ProxyAccessEntry } from '../lab/nginx/parse-access-log.ts';
import { stripSqlComment } from '../shared/sql-comment.ts';
import type { PgStatStatement, PgStatStatementsSnapshot } from '../shared/capture-types.ts';

const run = promisify(execFile);

/** Where a growing file stood at capture start. */
export interface FileMark {
  readonly path: string;
  /** Size in bytes, 0 when the file did not exist. */
  readonly offset: number;
  readonly inode: number | null;
}

export function markFile(path: string): FileMark {
  try {
    const st = statSync(path);
    return { path, offset: st.size, inode: st.ino };
  } catch {
    return { path, offset: 0, inode: null };
  }
}

/**
 * The complete lines appended to `mark.path` since the mark. A partial last line (a write in
 * progress) is left out; a file that was replaced or truncated is read from its start, with a
 * warning.
 */
export function readAppendedLines(mark: FileMark): { text: string; warnings: string[] } {
  const warnings: string[] = [];
  let st;
  try {
    st = statSync(mark.path);
  } catch {
    return { text: '', warnings: mark.inode === null ? [] : [`${mark.path} disappeared during the capture`] };
  }
  let from = mark.offset;
  if ((mark.inode !== null && st.ino !== mark.inode) || st.size < mark.offset) {
    warnings.push(`${mark.path} was replaced or truncated during the capture: read from its start`);
    from = 0;
  }
  const length = st.size - from;
  if (length <= 0) return { text: '', warnings };
  const buf = Buffer.alloc(length);
  const fd = openSync(mark.path, 'r');
  try {
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, from + got);
      if (n === 0) break;
      got += n;
    }
  } finally {
    closeSync(fd);
  }
  const text = buf.toString('utf8');
  const end = text.lastIndexOf('\n');
  if (end !== text.length - 1) warnings.push(`${mark.path}: a partial last line (still being written) was left out`);
  return { text: end === -1 ? '' : text.slice(0, end + 1), warnings };
}

/** Access-log entries written since the mark, parsed with the proxy's own log parser. */
export function accessLogSince(mark: FileMark): { entries: ProxyAccessEntry[]; warnings: string[] } {
  const { text, warnings } = readAppendedLines(mark);
  const parsed = parseAccessLog(text);
  return { entries: [...parsed.entries], warnings: [...warnings, ...parsed.warnings] };
}

/** Resets pg_stat_statements so the end-of-capture snapshot counts only this capture. */
export async function resetPgStatStatements(conn: pg.ClientConfig): Promise<void> {
  const client = new pg.Client({ ...conn, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query('SELECT pg_stat_statements_reset()');
  } finally {
    await client.end();
  }
}

interface PgssRow {
  queryid: string | null;
  query: string;
  calls: string;
  rows: string;
  mean_exec_time: number;
  total_exec_time: number;
  plans: string;
  mean_plan_time: number;
}

/**
 * The statements of `database` recorded by pg_stat_statements. PostgreSQL normalizes the text
 * itself ($1 for literals); the lab's leading request-id comment is stripped so statements from
 * different requests compare equal.
 */
export async function snapshotPgStatStatements(conn: pg.ClientConfig, resetAtStart: boolean): Promise<PgStatStatementsSnapshot> {
  const client = new pg.Client({ ...conn, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const res = await client.query<PgssRow>(
      `SELECT s.queryid::text AS queryid, s.query, s.calls::text AS calls, s.rows::text AS rows,
              s.mean_exec_time, s.total_exec_time, s.plans::text AS plans, s.mean_plan_time
         FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
        WHERE d.datname = current_database() AND s.query NOT LIKE '%pg_stat_statements%'
        ORDER BY s.total_exec_time DESC`,
    );
    const statements: PgStatStatement[] = res.rows.map((r) => ({
      queryId: r.queryid ?? '',
      query: stripSqlComment(r.query),
      calls: Number(r.calls),
      rows: Number(r.rows),
      meanExecTime: r.mean_exec_time,
      totalExecTime: r.total_exec_time,
      // Planning is counted only with pg_stat_statements.track_planning on; plans is 0 otherwise.
      plans: Number(r.plans),
      meanPlanTime: r.mean_plan_time,
    }));
    return { takenAt: new Date().toISOString(), resetAtStart, statements };
  } finally {
    await client.end();
  }
}

/** The `ss` filter for sockets with any of `ports` at either end. Pure. */
export function ssFilter(ports: readonly number[]): string {
  return `( ${ports.map((p) => `sport = :${p} or dport = :${p}`).join(' or ')} )`;
}

/** `ss -tin` for TCP sockets on the given ports (RTT, cwnd, retransmits per connection). */
export async function snapshotSs(ports: readonly number[]): Promise<string> {
  const { stdout } = await run('ss', ['-tin', ssFilter(ports)], { timeout: 10_000, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}
