import { describe, expect, it } from 'vitest';
import { hasBpfPrivileges } from './bpf-privileges.ts';

describe('hasBpfPrivileges', () => {
  it('accepts root, CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON; refuses the rest', () => {
    expect(hasBpfPrivileges('CapEff:\t0000000000000000\n', 0)).toBe(true);
    expect(hasBpfPrivileges('CapEff:\t0000000000200000\n', 1000)).toBe(true);
    expect(hasBpfPrivileges('CapEff:\t000000c000000000\n', 1000)).toBe(true);
    expect(hasBpfPrivileges('CapEff:\t0000008000000000\n', 1000)).toBe(false);
    expect(hasBpfPrivileges('', 1000)).toBe(false);
  });
});
