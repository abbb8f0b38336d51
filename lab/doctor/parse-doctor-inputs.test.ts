import { describe, expect, it } from 'vitest';
import { bpftraceError, parseCapEff, parseHookProbeJson, parseNginxVersion, parseProbeCostJson, parseStapsdtNotes } from './parse-doctor-inputs.ts';

describe('parseCapEff', () => {
  it('reads a full root set', () => {
    expect(parseCapEff('Name:\tnode\nCapEff:\t000001fffeffffff\nCapBnd:\t000001ffffffffff\n')).toEqual({
      capEff: '000001fffeffffff',
      bpf: true,
      perfmon: true,
      sysAdmin: true,
    });
  });

  it('sees CAP_BPF and CAP_PERFMON without CAP_SYS_ADMIN', () => {
    const bits = (1n << 39n) | (1n << 38n);
    expect(parseCapEff(`CapEff:\t${bits.toString(16).padStart(16, '0')}\n`)).toMatchObject({ bpf: true, perfmon: true, sysAdmin: false });
  });

  it('sees an unprivileged process', () => {
    expect(parseCapEff('CapEff:\t0000000000000000\n')).toMatchObject({ bpf: false, perfmon: false, sysAdmin: false });
  });

  it('returns null without a CapEff line', () => {
    expect(parseCapEff('Name: x\n')).toBeNull();
  });
});

describe('parseStapsdtNotes', () => {
  it('lists provider and name of each note', () => {
    const out = [
      'Displaying notes found in: .note.stapsdt',
      '  Owner                Data size \tDescription',
      '  stapsdt              0x00000041\tNT_STAPSDT (SystemTap probe descriptors)',
      '    Provider: postgresql',
      '    Name: query__start',
      '    Location: 0x00000000001d42a4, Base: 0x0000000000792ea0, Semaphore: 0x0000000000885936',
      '    Arguments: 8@%rbx',
      '  stapsdt              0x00000040\tNT_STAPSDT (SystemTap probe descriptors)',
      '    Provider: postgresql',
      '    Name: query__done',
    ].join('\n');
    expect(parseStapsdtNotes(out)).toEqual([
      { provider: 'postgresql', name: 'query__start' },
      { provider: 'postgresql', name: 'query__done' },
    ]);
  });

  it('finds nothing in a binary without notes', () => {
    expect(parseStapsdtNotes('Displaying notes found in: .note.gnu.build-id\n  GNU  0x14  NT_GNU_BUILD_ID\n')).toEqual([]);
  });
});

describe('parseHookProbeJson', () => {
  it('separates hook kinds from the other fields', () => {
    const text = '{"tracepoint":true,"tp_btf":true,"fentry":false,"kprobe":false,"root":true,"tracefs":"/sys/kernel/tracing","errors":{"fentry":"EPERM at attach"}}';
    expect(parseHookProbeJson(text)).toEqual({
      kinds: { tracepoint: true, tp_btf: true, fentry: false, kprobe: false },
      errors: { fentry: 'EPERM at attach' },
    });
  });

  it('explains output that is not usable', () => {
    expect(parseHookProbeJson('libbpf: failed to load')).toBe('hook-probe printed no JSON: libbpf: failed to load');
    expect(parseHookProbeJson('[]')).toBe('hook-probe JSON is not an object');
    expect(parseHookProbeJson('{"root":true}')).toBe('hook-probe JSON names no hook kinds');
  });
});

describe('bpftraceError', () => {
  it('skips the RLIMIT_MEMLOCK notice', () => {
    const stderr = [
      'ERROR: Unknown error -1: couldn\'t set RLIMIT_MEMLOCK for bpftrace. If your program is not loading, you can try "ulimit -l 8192" to fix the problem',
      'stdin:1:1-26: ERROR: kfunc/kretfunc not available for your kernel version.',
      'kfunc:vmlinux:tcp_sendmsg {} BEGIN { exit(); }',
    ].join('\n');
    expect(bpftraceError(stderr)).toBe('kfunc/kretfunc not available for your kernel version.');
  });

  it('reads an attach failure', () => {
    expect(bpftraceError("create_probe_event: open(...): No such file\nERROR: Error attaching probe: 'kprobe:tcp_sendmsg'\n")).toBe(
      "Error attaching probe: 'kprobe:tcp_sendmsg'",
    );
  });
});

describe('parseNginxVersion', () => {
  it('reads nginx -v', () => {
    expect(parseNginxVersion('nginx version: nginx/1.22.1\n')).toBe('1.22.1');
    expect(parseNginxVersion('')).toBeNull();
  });
});

describe('parseProbeCostJson', () => {
  it('reads the three costs, and says what is wrong otherwise', () => {
    expect(parseProbeCostJson('{"nop1_ns":5994.5,"nop5_ns":1436.4,"tracepoint_ns":179.2,"usdt_stats_ns":0.0,"tracepoint_stats_ns":0.0,"rounds":5}\n')).toEqual({ nop1Ns: 5994.5, nop5Ns: 1436.4, tracepointNs: 179.2, usdtStatsNs: 0, tracepointStatsNs: 0 });
    expect(parseProbeCostJson('')).toBe('probe-cost printed no JSON');
    expect(parseProbeCostJson('{"nop1_ns":1}')).toBe('probe-cost printed no costs');
  });

  it('reads what bpf_stats adds to a run when probe-cost timed it', () => {
    expect(parseProbeCostJson('{"nop1_ns":5994.5,"nop5_ns":1436.4,"tracepoint_ns":179.2,"usdt_stats_ns":110.0,"tracepoint_stats_ns":58.0,"usdt_stats_added_ns":95.5,"tracepoint_stats_added_ns":72.4,"rounds":5}\n')).toEqual({
      nop1Ns: 5994.5,
      nop5Ns: 1436.4,
      tracepointNs: 179.2,
      usdtStatsNs: 110,
      tracepointStatsNs: 58,
      usdtStatsAddedNs: 95.5,
      tracepointStatsAddedNs: 72.4,
    });
  });

});
