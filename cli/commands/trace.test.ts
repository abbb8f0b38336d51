import { describe, expect, it } from 'vitest';
import { appBackend, traceOptions } from './trace.ts';

const ADDON = '/work/main/probes/usdt-addon/build/Release/reqtrace_usdt.node';
const line = (path: string): string => `7fb8ea068000-7fb8ea069000 r--p 00000000 fe:00 5317809                    ${path}`;
/** A pid that cannot exist (above pid_max), so its environment reads as absent. */
const NO_PID = 2 ** 22 + 1;

describe('appBackend', () => {
  it('native when the addon is mapped into the app, with the mapped path', () => {
    expect(appBackend(NO_PID, { stateDir: '/s' }, [line('/usr/lib/libc.so.6'), line(ADDON), ''].join('\n'))).toEqual({ kind: 'native', addonPath: ADDON });
  });
  it('stale when the mapped addon file was replaced since the app loaded it', () => {
    expect(appBackend(NO_PID, { stateDir: '/s' }, line(`${ADDON} (deleted)`))).toEqual({ kind: 'stale', addonPath: ADDON });
  });
  it('off when neither the addon is mapped nor the app runs file probes', () => {
    expect(appBackend(NO_PID, { stateDir: '/s' }, line('/usr/lib/libc.so.6'))).toEqual({ kind: 'off' });
  });
});

describe('traceOptions', () => {
  it('defaults to the load defaults of lab load', () => {
    expect(traceOptions({ sample: 1 })).toMatchObject({ noLoad: false, durationS: 10, requests: undefined, connections: 10, mix: 'default' });
    expect(traceOptions({ requests: 200 })).toMatchObject({ durationS: undefined, requests: 200 });
  });
  it('refuses combinations that cannot mean anything', () => {
    expect(traceOptions({ 'no-load': true })).toBe('--no-load needs --duration S (how long to trace)');
    expect(traceOptions({ 'no-load': true, duration: 2, requests: 5 })).toMatch(/--requests needs a load/);
    expect(traceOptions({ 'latency-out': 'x' })).toMatch(/capture holds client\.jsonl/);
  });
  it('reads --families as an exact list or as additions to the default set, and --pg-detail', () => {
    expect(traceOptions({ families: 'usdt,sockets' })).toMatchObject({ families: ['usdt', 'sockets'], pgDetail: false });
    expect(traceOptions({ families: '+files', 'pg-detail': true })).toMatchObject({ extraFamilies: ['files'], pgDetail: true });
    expect(traceOptions({ families: 'usdt,bogus' })).toMatch(/unknown family 'bogus'/);
  });
  it('takes --keep-slower-than only with a sample below 1', () => {
    expect(traceOptions({ sample: 0.01, 'keep-slower-than': 50 })).toMatchObject({ sample: 0.01, keepSlowerThanMs: 50 });
    expect(traceOptions({ sample: 1, 'keep-slower-than': 50 })).toBe('--keep-slower-than needs --sample below 1: every request is traced in full already');
  });
  it('--metrics-port and --knob pass through; a bad knob is refused in one line', () => {
    expect(traceOptions({ 'metrics-port': 9464, knob: 'users:db_delay_ms=10' })).toMatchObject({ metricsPort: 9464, knobs: { users: 'db_delay_ms=10' } });
    expect(traceOptions({})).toMatchObject({ metricsPort: undefined, knobs: {} });
    expect(traceOptions({ knob: 'nope:db_delay_ms=1' })).toMatch(/^--knob expects TARGET:QUERY/);
  });
  it('--no-load keeps its duration and records no load', () => {
    expect(traceOptions({ 'no-load': true, duration: 3 })).toMatchObject({ noLoad: true, durationS: 3, requests: undefined });
  });
});
