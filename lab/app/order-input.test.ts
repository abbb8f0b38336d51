import { describe, expect, it } from 'vitest';
import { orderBodyRefusal, parseOrderInput } from './order-input.ts';

const ID = '0000000a000000070000000000000001';

describe('parseOrderInput', () => {
  it('reads an explicit order', () => {
    expect(parseOrderInput({ user_id: 42, product_id: 7, quantity: 3 }, ID)).toEqual({ ok: true, value: { userId: 42, productId: 7, quantity: 3 } });
  });

  it('derives missing ids from the request id and defaults quantity to 1', () => {
    expect(parseOrderInput(undefined, ID)).toEqual({ ok: true, value: { userId: 11, productId: 8, quantity: 1 } });
    expect(parseOrderInput({}, ID)).toEqual({ ok: true, value: { userId: 11, productId: 8, quantity: 1 } });
  });

  it.each([
    ['an array body', [1], 'order body must be a JSON object like {"user_id":1,"product_id":2,"quantity":1}, got an array'],
    ['a string body', 'x', 'order body must be a JSON object like {"user_id":1,"product_id":2,"quantity":1}, got a string'],
    ['a null body', null, 'order body must be a JSON object like {"user_id":1,"product_id":2,"quantity":1}, got null'],
    ['a number body', 7, 'got a number'],
    ['a field named constructor', { constructor: 1 }, "unknown order field 'constructor'"],
    ['a field named __proto__', JSON.parse('{"__proto__":{"user_id":5}}') as unknown, "unknown order field '__proto__'"],
    ['a field named toString', { toString: 1 }, "unknown order field 'toString'"],
    ['a field name with control characters', { 'a\u001b[31mb': 1 }, "unknown order field 'a?[31mb'"],
    ['an unknown field', { price: 1 }, "unknown order field 'price'"],
    ['user 0', { user_id: 0 }, 'user_id must be a whole number from 1 to 10000'],
    ['a fractional quantity', { quantity: 1.5 }, 'quantity must be a whole number from 1 to 100'],
    ['a string product id', { product_id: '7' }, 'product_id must be a whole number from 1 to 1000'],
    ['product 1001', { product_id: 1001 }, 'product_id must be a whole number from 1 to 1000'],
  ])('rejects %s', (_name, body, error) => {
    expect(parseOrderInput(body, ID)).toMatchObject({ ok: false, error: expect.stringContaining(error) });
  });
});

describe('orderBodyRefusal', () => {
  it('accepts JSON, with or without a charset, and a request without a body', () => {
    expect(orderBodyRefusal({ 'content-type': 'application/json', 'content-length': '2' })).toBeNull();
    expect(orderBodyRefusal({ 'content-type': 'Application/JSON; charset=utf-8', 'transfer-encoding': 'chunked' })).toBeNull();
    expect(orderBodyRefusal({})).toBeNull();
    expect(orderBodyRefusal({ 'content-type': 'text/plain', 'content-length': '0' })).toBeNull();
    expect(orderBodyRefusal({ 'content-type': 'application/json', 'content-length': '2', 'content-encoding': 'identity' })).toBeNull();
  });

  it.each([
    ['text/plain', { 'content-type': 'text/plain', 'content-length': '5' }, "order body must be application/json, got 'text/plain'"],
    ['a form', { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '9' }, "order body must be application/json, got 'application/x-www-form-urlencoded'"],
    ['XML', { 'content-type': 'application/xml; charset=utf-8', 'transfer-encoding': 'chunked' }, "order body must be application/json, got 'application/xml'"],
    ['a body without a type', { 'content-length': '2' }, 'order body must be application/json, got no Content-Type'],
    ['gzip', { 'content-type': 'application/json', 'content-length': '20', 'content-encoding': 'gzip' }, 'compressed order bodies are not accepted (Content-Encoding: gzip): send the JSON uncompressed'],
    ['br without a body', { 'content-encoding': 'br' }, 'compressed order bodies are not accepted (Content-Encoding: br): send the JSON uncompressed'],
  ])('refuses %s', (_name, headers, message) => {
    expect(orderBodyRefusal(headers)).toBe(message);
  });
});
