import { describe, expect, it } from 'vitest';
import { parseOrderInput } from './order-input.ts';

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
    ['an array body', [1], 'order body must be a JSON object'],
    ['a string body', 'x', 'order body must be a JSON object'],
    ['an unknown field', { price: 1 }, "unknown order field 'price'"],
    ['user 0', { user_id: 0 }, 'user_id must be a whole number from 1 to 10000'],
    ['a fractional quantity', { quantity: 1.5 }, 'quantity must be a whole number from 1 to 100'],
    ['a string product id', { product_id: '7' }, 'product_id must be a whole number from 1 to 1000'],
    ['product 1001', { product_id: 1001 }, 'product_id must be a whole number from 1 to 1000'],
  ])('rejects %s', (_name, body, error) => {
    expect(parseOrderInput(body, ID)).toMatchObject({ ok: false, error: expect.stringContaining(error) });
  });
});
