import { describe, expect, it } from 'vitest';
import { DEFAULT_REPORT_CONFIG_TEXT, parseReportConfig } from './report-config.ts';

describe('parseReportConfig', () => {
  it('reads the default file', () => {
    expect(parseReportConfig(DEFAULT_REPORT_CONFIG_TEXT)).toEqual({ ok: true, value: { top: 5, windowOrders: 2000 } });
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['an array', '[]', /JSON object/],
    ['top 0', '{"top":0,"window_orders":1}', /top must be/],
    ['a missing window', '{"top":1}', /window_orders must be/],
  ])('rejects %s', (_name, text, error) => {
    expect(parseReportConfig(text)).toMatchObject({ ok: false, error: expect.stringMatching(error) });
  });
});
