/**
 * The sqlcommenter-style prefix every statement carries. Its shape is fixed so the kernel side
 * can read the id at a constant offset from the start of the SQL text:
 *
 *   /*request_id='<32 hex>',traceparent='00-<32 hex>-<16 hex>-01'*\/ <statement>
 *
 * The request id starts at offset 14, the traceparent at 61, the statement at 120. The app writes
 * it (lab/app), the PostgreSQL family reads the id at that offset in the kernel
 * (probes/postgres.bpf.c), and the assembler and the pg_stat_statements snapshot strip it.
 */
export const SQL_COMMENT_PREFIX = "/*request_id='";
/** Offset of the first request id character in the SQL text. */
export const SQL_COMMENT_REQUEST_ID_OFFSET = SQL_COMMENT_PREFIX.length;
/** Offset of the traceparent value (its first character, the version '0'). */
export const SQL_COMMENT_TRACEPARENT_OFFSET = SQL_COMMENT_REQUEST_ID_OFFSET + 32 + "',traceparent='".length;
/** Length of the whole comment including the trailing space. */
export const SQL_COMMENT_LENGTH = SQL_COMMENT_TRACEPARENT_OFFSET + 55 + "'*/ ".length;

const REQUEST_ID = /^[0-9a-f]{32}$/;
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/;

export interface SqlCommentContext {
  readonly requestId: string;
  readonly traceparent: string;
}

/**
 * The comment for one request. Throws unless both values have their strict shapes, so nothing
 * from a client can end the comment early or change its length.
 */
export function sqlComment(ctx: SqlCommentContext): string {
  if (!REQUEST_ID.test(ctx.requestId)) throw new Error(`request id for SQL must be 32 lowercase hex, got '${ctx.requestId}'`);
  if (!TRACEPARENT.test(ctx.traceparent)) throw new Error(`traceparent for SQL must be '00-<32 hex>-<16 hex>-01', got '${ctx.traceparent}'`);
  return `${SQL_COMMENT_PREFIX}${ctx.requestId}',traceparent='${ctx.traceparent}'*/ `;
}

/** The statement with the request's comment in front. */
export function withSqlComment(comment: string, statement: string): string {
  return comment + statement;
}

/** The request id in a commented statement, or null when the statement has no lab comment. */
export function requestIdFromSql(sql: string): string | null {
  if (!sql.startsWith(SQL_COMMENT_PREFIX)) return null;
  const id = sql.slice(SQL_COMMENT_REQUEST_ID_OFFSET, SQL_COMMENT_REQUEST_ID_OFFSET + 32);
  return REQUEST_ID.test(id) && sql[SQL_COMMENT_REQUEST_ID_OFFSET + 32] === "'" ? id : null;
}

const LEADING_COMMENT = /^\s*\/\*[\s\S]*?\*\/\s*/;

/**
 * The statement without its leading block comment (the request id). A comment cut off before
 * its end (the probe's length limit) leaves no statement: '' rather than half a comment. Pure.
 */
export function stripSqlComment(sql: string): string {
  const m = LEADING_COMMENT.exec(sql);
  if (m) return sql.slice(m[0].length);
  return sql.trimStart().startsWith('/*') ? '' : sql.trim();
}
