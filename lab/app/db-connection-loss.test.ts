import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { connectionLoss } from './db-connection-loss.ts';

/** A server error as node-postgres builds it from an ErrorResponse message. */
function dbError(message: string, code: string, severity: string): pg.DatabaseError {
  const e = new pg.DatabaseError(message, message.length, 'error');
  e.code = code;
  e.severity = severity;
  return e;
}

const withCode = (message: string, code: string): Error => Object.assign(new Error(message), { code });

describe('connectionLoss', () => {
  it.each([
    ['a socket that ended', new Error('Connection terminated unexpectedly'), 'Connection terminated unexpectedly'],
    ['a reset socket', withCode('read ECONNRESET', 'ECONNRESET'), 'read ECONNRESET'],
    ['a refused connection (PostgreSQL restarting)', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'), 'connect ECONNREFUSED 127.0.0.1:5432'],
    ['a client already broken', new Error('Client has encountered a connection error and is not queryable'), 'Client has encountered a connection error and is not queryable'],
    ['a connect timeout', new Error('timeout exceeded when trying to connect'), 'timeout exceeded when trying to connect'],
    [
      'a backend ended for another one’s crash',
      dbError('terminating connection because of crash of another server process', '57P02', 'FATAL'),
      'terminating connection because of crash of another server process',
    ],
    ['recovery in progress', dbError('the database system is in recovery mode', '57P03', 'FATAL'), 'the database system is in recovery mode'],
    ['an administrator shutdown', dbError('terminating connection due to administrator command', '57P01', 'FATAL'), 'terminating connection due to administrator command'],
    ['too many connections', dbError('sorry, too many clients already', '53300', 'FATAL'), 'sorry, too many clients already'],
  ])('calls %s a lost connection', (_name, err, reason) => {
    expect(connectionLoss(err)).toBe(reason);
  });

  it.each([
    ['a syntax error', dbError('syntax error at or near "SELEC"', '42601', 'ERROR')],
    ['a unique violation', dbError('duplicate key value violates unique constraint', '23505', 'ERROR')],
    ['a query cancelled by statement_timeout', dbError('canceling statement due to statement timeout', '57014', 'ERROR')],
    ['a programming error', new TypeError('cannot read properties of undefined')],
    ['a string', 'Connection terminated'],
    ['null', null],
  ])('does not call %s a lost connection', (_name, err) => {
    expect(connectionLoss(err)).toBeNull();
  });

  it('keeps the first line of a long reason, clipped', () => {
    expect(connectionLoss(new Error(`Connection terminated unexpectedly\n${'x'.repeat(300)}`))).toBe('Connection terminated unexpectedly');
    expect(connectionLoss(new Error(`Connection terminated ${'y'.repeat(300)}`))?.length).toBe(123);
  });
});
