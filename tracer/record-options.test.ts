import { describe, expect, it } from 'vitest';
import { recordOptions } from './record-options.ts';

describe('recordOptions', () => {
  it('defaults to the load defaults of lab load', () => {
    expect(recordOptions({ sample: 1 })).toMatchObject({ noLoad: false, durationS: 10, requests: undefined, connections: 10, mix: 'default' });
    expect(recordOptions({ requests: 200 })).toMatchObject({ durationS: undefined, requests: 200 });
  });
  it('refuses combinations that cannot mean anything', () => {
    expect(recordOptions({ 'no-load': true })).toBe('--no-load needs --duration S (how long to trace)');
    expect(recordOptions({ 'no-load': true, duration: 2, requests: 5 })).toMatch(/--requests needs a load/);
    expect(recordOptions({ 'latency-out': 'x' })).toMatch(/capture holds client\.jsonl/);
  });
  it('reads --families as an exact list or as additions to the default set, and --pg-detail', () => {
    expect(recordOptions({ families: 'usdt,sockets' })).toMatchObject({ families: ['usdt', 'sockets'], pgDetail: false });
    expect(recordOptions({ families: '+files', 'pg-detail': true })).toMatchObject({ extraFamilies: ['files'], pgDetail: true });
    expect(recordOptions({ families: 'usdt,bogus' })).toMatch(/unknown family 'bogus'/);
  });
  it('takes --keep-slower-than only with a sample below 1', () => {
    expect(recordOptions({ sample: 0.01, 'keep-slower-than': 50 })).toMatchObject({ sample: 0.01, keepSlowerThanMs: 50 });
    expect(recordOptions({ sample: 0.01 })).toMatchObject({ arrivals: false });
    expect(recordOptions({ sample: 0.01, arrivals: true })).toMatchObject({ arrivals: true });
    expect(recordOptions({ sample: 1, 'keep-slower-than': 50 })).toBe('--keep-slower-than needs --sample below 1: every request is traced in full already');
  });
  it('--metrics-port and --knob pass through; a bad knob is refused in one line', () => {
    expect(recordOptions({ 'metrics-port': 9464, knob: 'users:db_delay_ms=10' })).toMatchObject({ metricsPort: 9464, knobs: { users: 'db_delay_ms=10' } });
    expect(recordOptions({})).toMatchObject({ metricsPort: undefined, knobs: {} });
    expect(recordOptions({ knob: 'nope:db_delay_ms=1' })).toMatch(/^--knob expects TARGET:QUERY/);
  });
  it('--no-load keeps its duration and records no load', () => {
    expect(recordOptions({ 'no-load': true, duration: 3 })).toMatchObject({ noLoad: true, durationS: 3, requests: undefined });
  });
});
