import { describe, expect, it } from 'vitest';
import { renderExposition } from './render-exposition.ts';

describe('renderExposition', () => {
  it('renders counters, gauges and cumulative histogram buckets with _sum and _count', () => {
    const text = renderExposition([
      { name: 'x_total', help: 'Things.', type: 'counter', samples: [{ labels: { route: 'GET /a' }, value: 3 }, { labels: {}, value: 0.5 }] },
      { name: 'up', help: 'Up.', type: 'gauge', samples: [{ labels: {}, value: 1 }] },
      { name: 'd_seconds', help: 'Durations.', type: 'histogram', series: [{ labels: { route: 'GET /a' }, bounds: [0.01, 0.1], counts: [2, 1, 1], sum: 1.234 }] },
    ]);
    expect(text).toBe(
      [
        '# HELP x_total Things.',
        '# TYPE x_total counter',
        'x_total{route="GET /a"} 3',
        'x_total 0.5',
        '# HELP up Up.',
        '# TYPE up gauge',
        'up 1',
        '# HELP d_seconds Durations.',
        '# TYPE d_seconds histogram',
        'd_seconds_bucket{route="GET /a",le="0.01"} 2',
        'd_seconds_bucket{route="GET /a",le="0.1"} 3',
        'd_seconds_bucket{route="GET /a",le="+Inf"} 4',
        'd_seconds_sum{route="GET /a"} 1.234',
        'd_seconds_count{route="GET /a"} 4',
        '',
      ].join('\n'),
    );
  });

  it('escapes backslashes, quotes and newlines in label values and help', () => {
    const text = renderExposition([{ name: 'm', help: 'a\\b\nc', type: 'gauge', samples: [{ labels: { v: 'say "hi"\\\n' }, value: Infinity }] }]);
    expect(text).toBe('# HELP m a\\\\b\\nc\n# TYPE m gauge\nm{v="say \\"hi\\"\\\\\\n"} +Inf\n');
  });
});
