import { readFileSync } from 'node:fs';

/** Capabilities (from /proc/self/status CapEff) that let a process load and attach BPF. */
export function hasBpfPrivileges(status = safeRead('/proc/self/status'), euid = process.geteuid?.() ?? -1): boolean {
  if (euid === 0) return true;
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (!hex) return false;
  const caps = BigInt(`0x${hex}`);
  const has = (bit: number): boolean => ((caps >> BigInt(bit)) & 1n) === 1n;
  const CAP_SYS_ADMIN = 21;
  const CAP_PERFMON = 38;
  const CAP_BPF = 39;
  return has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON));
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
