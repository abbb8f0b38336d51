import { describe, expect, it } from 'vitest';
import { staleNames } from './stale-faults.ts';

describe('staleNames', () => {
  it("picks our names whose owner is gone, never the caller's own or others'", () => {
    const alive = (pid: number): boolean => pid === 20 || pid === 30;
    expect(staleNames(['reqtrace-inj-10', 'reqtrace-inj-20', 'reqtrace-inj-30', 'reqtrace-rtx-10', 'other', 'reqtrace-inj-40'], alive, 40)).toEqual(['reqtrace-inj-10']);
  });
});
