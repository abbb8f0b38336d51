/**
 * PostgreSQL's own timing of slow statements: the `duration:` lines log_min_duration_statement
 * writes (100 ms and up in the lab), keyed by the request id of the statement's comment. Only
 * the id, the statement's first keyword and the duration are kept — never its text. Pure.
 *
 *   … LOG:  duration: 217.079 ms  statement: /*request_id='e210…',traceparent='…'*\/ COMMIT
 *   … LOG:  duration: 188.072 ms  execute <unnamed>: /*request_id='45a7…',…*\/ UPDATE products …
 */

export interface PgStatementDuration {
  /** The statement's first keyword, upper case (SELECT, UPDATE, COMMIT, …). */
  readonly operation: string;
  readonly durationMs: number;
}

const LINE = /\bduration: (\d+(?:\.\d+)?) ms {2}(?:statement|execute [^:]*): \/\*request_id='([0-9a-f]{32})'[^*]*\*\/\s*([A-Za-z]+)/;

/** The logged durations of each request's statements, in log order. */
export function parsePgDurations(log: string): Map<string, PgStatementDuration[]> {
  const out = new Map<string, PgStatementDuration[]>();
  for (const line of log.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const id = m[2] as string;
    out.set(id, [...(out.get(id) ?? []), { operation: (m[3] as string).toUpperCase(), durationMs: Number(m[1]) }]);
  }
  return out;
}
