/**
 * Telling a lost database connection (the backend died, PostgreSQL restarts or refuses new
 * connections) from an error in the statement itself: the first means "try again shortly" (503),
 * the second is the request's or the app's fault.
 */

/** What node-postgres errors carry: DatabaseError has a SQLSTATE and severity, socket errors an errno code. */
export interface PgErrorFields {
  readonly message?: unknown;
  readonly code?: unknown;
  readonly severity?: unknown;
}

/** Socket errno codes of a connection that is gone or cannot be made. */
const SOCKET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTCONN', 'ECONNABORTED', 'EHOSTUNREACH']);

/** node-postgres's own messages for a connection that ended or never came up. */
const CLIENT_MESSAGES = /Connection terminated|not queryable|timeout exceeded when trying to connect|Client was closed/i;

/**
 * The one-line reason when `err` means the connection to PostgreSQL was lost or could not be
 * made, null for any other error. SQLSTATE class 08 (connection exception), the 57P codes (shutdown,
 * crash of another backend, still starting up or recovering; 57014, a cancelled statement, is not
 * one: its session goes on), 53300
 * (too many connections) and FATAL/PANIC severities end the session; node-postgres reports a
 * dead socket as a plain Error. Pure.
 */
export function connectionLoss(err: unknown): string | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as PgErrorFields;
  const message = typeof e.message === 'string' ? e.message : '';
  const code = typeof e.code === 'string' ? e.code : '';
  const severity = typeof e.severity === 'string' ? e.severity : '';
  const lost = /^(08|57P)/.test(code) || code === '53300' || severity === 'FATAL' || severity === 'PANIC' || SOCKET_CODES.has(code) || CLIENT_MESSAGES.test(message);
  if (!lost) return null;
  const text = (message || code).split('\n')[0] ?? '';
  return text.length > 120 ? `${text.slice(0, 120)}...` : text;
}
