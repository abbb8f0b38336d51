/**
 * usdt-notes.c against the test fixture (build/sdt-fixture, the app's probes in plain C): every
 * site readelf lists, at the file offsets its program headers give, with each argument read as
 * <bpf/usdt.bpf.h> expects. Built by `npm run build`; skipped without the build outside CI.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeIfPresent } from '../test/require-built.ts';

const BUILD = join(import.meta.dirname, 'build');
const PRINT = join(BUILD, 'print-usdt-sites');
const FIXTURE = join(BUILD, 'sdt-fixture');

/** Offsets of the registers in x86-64 `struct pt_regs` (arch/x86/include/uapi/asm/ptrace.h). */
const PT_REGS = ['r15', 'r14', 'r13', 'r12', 'rbp', 'rbx', 'r11', 'r10', 'r9', 'r8', 'rax', 'rcx', 'rdx', 'rsi', 'rdi', 'orig_rax', 'rip', 'cs', 'flags', 'rsp', 'ss'];
const SUB_REGISTERS: Readonly<Record<string, string>> = { eax: 'rax', ebx: 'rbx', ecx: 'rcx', edx: 'rdx', esi: 'rsi', edi: 'rdi', ebp: 'rbp', esp: 'rsp' };

function regOffset(name: string): number {
  const full = SUB_REGISTERS[name] ?? name.replace(/^(r\d+)[dwb]$/, '$1');
  const i = PT_REGS.indexOf(full);
  if (i < 0) throw new Error(`unknown register ${name}`);
  return i * 8;
}

interface ArgSpec {
  readonly type: number;
  readonly valOff: number;
  readonly regOff: number;
  readonly signed: boolean;
  readonly bitshift: number;
}

/** One SystemTap argument (`-4@%r15d`, `8@16(%rsp)`, `4@$1`) as the BPF side reads it: const 0, register 1, dereference 2. */
function expectedArg(text: string): ArgSpec {
  const m = /^(-?)(\d+)@(?:\$(-?\d+)|%(\w+)|(-?\d*)\(%(\w+)\))$/.exec(text);
  if (!m) throw new Error(`unexpected argument ${text}`);
  const [, sign, size, constant, reg, disp, base] = m;
  const common = { signed: sign === '-', bitshift: 64 - Number(size) * 8 };
  if (constant !== undefined) return { type: 0, valOff: Number(constant), regOff: 0, ...common };
  if (reg !== undefined) return { type: 1, valOff: 0, regOff: regOffset(reg), ...common };
  return { type: 2, valOff: Number(disp || 0), regOff: regOffset(base as string), ...common };
}

interface Site {
  readonly provider: string;
  readonly name: string;
  readonly offset: number;
  readonly refCtr: number;
  readonly args: readonly ArgSpec[];
}

/** The sites as readelf shows them, with addresses turned into file offsets by the LOAD headers. */
function readelfSites(binary: string): Site[] {
  const loads = [...execFileSync('readelf', ['-lW', binary], { encoding: 'utf8' }).matchAll(/^\s*LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+0x([0-9a-f]+)/gm)].map((m) => ({
    offset: parseInt(m[1] as string, 16),
    vaddr: parseInt(m[2] as string, 16),
    memsz: parseInt(m[3] as string, 16),
  }));
  const fileOffset = (addr: number): number => {
    const seg = loads.find((l) => addr >= l.vaddr && addr < l.vaddr + l.memsz);
    if (!seg) throw new Error(`address 0x${addr.toString(16)} is in no LOAD segment`);
    return addr - seg.vaddr + seg.offset;
  };
  const baseSection = /\.stapsdt\.base\s+PROGBITS\s+([0-9a-f]+)/.exec(execFileSync('readelf', ['-SW', binary], { encoding: 'utf8' }));
  const baseAddr = baseSection ? parseInt(baseSection[1] as string, 16) : 0;
  const notes = execFileSync('readelf', ['-nW', binary], { encoding: 'utf8' });
  const re = /Provider: (\S+)\s+Name: (\S+)\s+Location: 0x([0-9a-f]+), Base: 0x([0-9a-f]+), Semaphore: 0x([0-9a-f]+)\s+Arguments: ([^\n]*)/g;
  return [...notes.matchAll(re)].map((m) => {
    const shift = baseAddr && parseInt(m[4] as string, 16) ? baseAddr - parseInt(m[4] as string, 16) : 0;
    const sema = parseInt(m[5] as string, 16);
    return {
      provider: m[1] as string,
      name: m[2] as string,
      offset: fileOffset(parseInt(m[3] as string, 16) + shift),
      refCtr: sema === 0 ? 0 : fileOffset(sema + shift),
      args: (m[6] as string).trim().split(/\s+/).filter(Boolean).map(expectedArg),
    };
  });
}

const built = existsSync(PRINT) && existsSync(FIXTURE);

describeIfPresent(built)('usdt-notes.c on the test fixture', () => {
  it('reads every site of the fixture as readelf lists it', () => {
    const expected = readelfSites(FIXTURE);
    expect(expected.map((s) => s.name).sort()).toEqual(['cache_hit', 'cache_miss', 'db_query_end', 'db_query_start', 'file_close', 'file_open', 'request_end', 'request_start']);
    const read = JSON.parse(execFileSync(PRINT, [FIXTURE], { encoding: 'utf8' })) as Site[];
    expect(read).toEqual(expected);
  });

  it('reads only the provider asked for', () => {
    expect(JSON.parse(execFileSync(PRINT, [FIXTURE, 'nobody'], { encoding: 'utf8' }))).toEqual([]);
  });

  it('says a binary without USDT notes has none', () => {
    expect(() => execFileSync(PRINT, [PRINT], { encoding: 'utf8', stdio: 'pipe' })).toThrow(/No such file or directory|has no/);
  });
});
