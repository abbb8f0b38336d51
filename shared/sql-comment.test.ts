import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  requestIdFromSql,
  SQL_COMMENT_LENGTH,
  SQL_COMMENT_PREFIX,
  SQL_COMMENT_REQUEST_ID_OFFSET,
  SQL_COMMENT_TRACEPARENT_OFFSET,
  sqlComment,
  stripSqlComment,
  withSqlComment,
} from './sql-comment.ts';

const ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TP = `00-${ID}-00f067aa0ba902b7-01`;

describe('sqlComment', () => {
  it('builds the exact sqlcommenter prefix', () => {
    expect(sqlComment({ requestId: ID, traceparent: TP })).toBe(`/*request_id='${ID}',traceparent='${TP}'*/ `);
  });

  it('puts the id and traceparent at the documented offsets', () => {
    const sql = withSqlComment(sqlComment({ requestId: ID, traceparent: TP }), 'SELECT 1');
    expect(SQL_COMMENT_PREFIX).toBe("/*request_id='");
    expect(SQL_COMMENT_REQUEST_ID_OFFSET).toBe(14);
    expect(SQL_COMMENT_TRACEPARENT_OFFSET).toBe(61);
    expect(SQL_COMMENT_LENGTH).toBe(120);
    expect(sql.slice(SQL_COMMENT_REQUEST_ID_OFFSET, SQL_COMMENT_REQUEST_ID_OFFSET + 32)).toBe(ID);
    expect(sql.slice(SQL_COMMENT_TRACEPARENT_OFFSET, SQL_COMMENT_TRACEPARENT_OFFSET + 55)).toBe(TP);
    expect(sql.slice(SQL_COMMENT_LENGTH)).toBe('SELECT 1');
  });

  it.each([
    ['an uppercase id', { requestId: ID.toUpperCase(), traceparent: TP }],
    ['an id that closes the comment', { requestId: `${ID.slice(0, 30)}*/`, traceparent: TP }],
    ['an unsampled traceparent', { requestId: ID, traceparent: TP.replace(/01$/, '00') }],
    ['a traceparent with a quote', { requestId: ID, traceparent: `${TP}'` }],
  ])('refuses %s', (_name, ctx) => {
    expect(() => sqlComment(ctx)).toThrow(/must be/);
  });
});

describe('requestIdFromSql', () => {
  it('reads the id back', () => {
    expect(requestIdFromSql(withSqlComment(sqlComment({ requestId: ID, traceparent: TP }), 'BEGIN'))).toBe(ID);
  });

  it('returns null for statements without the lab comment', () => {
    expect(requestIdFromSql('SELECT 1')).toBeNull();
    expect(requestIdFromSql("/*request_id='xyz'*/ SELECT 1")).toBeNull();
  });
});

describe('stripSqlComment', () => {
  const commented = withSqlComment(sqlComment({ requestId: ID, traceparent: TP }), 'SELECT id FROM users WHERE id = $1');

  it('drops the leading comment and the space after it', () => {
    expect(stripSqlComment(commented)).toBe('SELECT id FROM users WHERE id = $1');
    expect(stripSqlComment("/* request_id='abc' */ SELECT id FROM users WHERE id = $1")).toBe('SELECT id FROM users WHERE id = $1');
    expect(stripSqlComment('  /*x*/\n  SELECT 1')).toBe('SELECT 1');
  });

  it('leaves a statement without a comment as it is', () => {
    expect(stripSqlComment('SELECT 1')).toBe('SELECT 1');
  });

  it('gives nothing for a comment cut off before its end', () => {
    for (const cut of [20, SQL_COMMENT_TRACEPARENT_OFFSET, SQL_COMMENT_LENGTH - 3]) expect(stripSqlComment(commented.slice(0, cut))).toBe('');
  });
});

describe('the PostgreSQL family reads the same comment', () => {
  const c = ['postgres.bpf.c', 'request-id.bpf.h'].map((f) => readFileSync(new URL(`../probes/${f}`, import.meta.url), 'utf8')).join('\n');
  const define = (name: string): string | undefined => new RegExp(`#define ${name} (.+)`).exec(c)?.[1]?.trim();

  it('at the same prefix and offsets', () => {
    expect(define('ID_PREFIX')).toBe(JSON.stringify(SQL_COMMENT_PREFIX));
    expect(Number(define('ID_PREFIX_LEN'))).toBe(SQL_COMMENT_REQUEST_ID_OFFSET);
    expect(Number(define('ID_HEX_LEN'))).toBe(32);
  });
});
