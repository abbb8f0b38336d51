import { describe, expect, it } from 'vitest';
import { dropCounters, parseLoaderLine, parseStatusLine } from './parse-loader-output.ts';

describe('parseLoaderLine', () => {
  it('reads the attach line, the summary, and leaves the rest as diagnostics', () => {
    expect(parseLoaderLine('attached: usdt=usdt sockets=tracepoint')).toEqual({ type: 'attached', hooks: { usdt: 'usdt', sockets: 'tracepoint' } });
    expect(parseLoaderLine('summary: records=10 ringbuf=0 stop=signal')).toEqual({ type: 'summary', counters: { records: 10, ringbuf: 0 } });
    expect(parseLoaderLine('libbpf: map full')).toEqual({ type: 'diagnostic', text: 'libbpf: map full' });
    expect(parseLoaderLine('postgres: backends_attached=15 attach_failed=0', true)).toEqual({
      type: 'family-summary',
      family: 'postgres',
      counters: { backends_attached: 15, attach_failed: 0 },
    });
    expect(parseLoaderLine('tcp: lab_ports=26001,26000', true)).toEqual({ type: 'family-summary', family: 'tcp', counters: {} });
    // Before the summary, the same shape is a diagnostic.
    expect(parseLoaderLine('postgres: backends_attached=15', false).type).toBe('diagnostic');
  });
  it('picks the counters that count losses', () => {
    expect(dropCounters({ records: 9, bytes: 100, malformed: 0, ringbuf: 1, bind_full: 3 })).toEqual({ malformed: 0, ringbuf: 1, bind_full: 3 });
  });
  it('reads the status-fd JSON lines and ignores anything else', () => {
    expect(parseStatusLine('{"event":"attached","schema":1,"sample":0.5,"hooks":{"usdt":"usdt"}}')).toEqual({
      event: 'attached',
      schema: 1,
      sample: 0.5,
      hooks: { usdt: 'usdt' },
      progs: {},
    });
    expect(
      parseStatusLine('{"event":"attached","schema":1,"sample":1,"hooks":{"usdt":"usdt"},"progs":{"usdt":[{"id":41,"name":"request_start"},{"id":"x"}],"core":7}}'),
    ).toMatchObject({ progs: { usdt: [{ id: 41, name: 'request_start' }] } });
    expect(parseStatusLine('{"event":"exit","stop":"duration","records":3,"bytes":9,"malformed":0,"drops":{"ringbuf":0}}')).toMatchObject({
      event: 'exit',
      stop: 'duration',
      drops: { ringbuf: 0 },
      kinds: {},
    });
    expect(parseStatusLine('not json')).toBeNull();
    expect(parseStatusLine('{"event":"exit"}')).toBeNull();
  });
});
