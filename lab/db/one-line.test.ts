import { describe, expect, it } from 'vitest';
import { oneLine } from './one-line.ts';

describe('oneLine', () => {
  it("joins an error's message lines", () => {
    expect(oneLine(new Error('initdb failed\n  could not create directory\n'))).toBe('initdb failed | could not create directory | ');
    expect(oneLine('plain')).toBe('plain');
  });
});
