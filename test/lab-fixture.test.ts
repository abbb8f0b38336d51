import { describe, expect, it } from 'vitest';
import { testPortBase } from './lab-fixture.ts';

describe('testPortBase', () => {
  it('is the base itself without an offset', () => {
    expect(testPortBase(21100, {})).toBe(21100);
  });
  it('moves every base by LAB_TEST_PORT_OFFSET', () => {
    expect(testPortBase(21100, { LAB_TEST_PORT_OFFSET: '3000' })).toBe(24100);
  });
  it.each(['-1', '1.5', 'x', '20001'])('refuses the offset %s', (raw) => {
    expect(() => testPortBase(21100, { LAB_TEST_PORT_OFFSET: raw })).toThrow(/LAB_TEST_PORT_OFFSET/);
  });
  it('refuses an offset that pushes a port past 65530', () => {
    expect(() => testPortBase(60000, { LAB_TEST_PORT_OFFSET: '6000' })).toThrow(/65530/);
  });
});
