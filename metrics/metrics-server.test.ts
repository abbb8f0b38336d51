import { describe, expect, it } from 'vitest';
import { startMetricsServer } from './metrics-server.ts';

describe('startMetricsServer', () => {
  it('serves the exposition at /metrics on 127.0.0.1 and 404 elsewhere', async () => {
    let n = 0;
    const s = await startMetricsServer(0, () => `m ${++n}\n`);
    try {
      expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const r = await fetch(s.url);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(await r.text()).toBe('m 1\n');
      expect(await (await fetch(s.url)).text()).toBe('m 2\n');
      expect((await fetch(s.url.replace('/metrics', '/'))).status).toBe(404);
      expect((await fetch(s.url, { method: 'POST' })).status).toBe(405);
    } finally {
      await s.close();
    }
  });

  it('refuses a busy port with a one-line reason', async () => {
    const first = await startMetricsServer(0, () => '');
    try {
      await expect(startMetricsServer(first.port, () => '')).rejects.toThrow(`--metrics-port ${first.port}: 127.0.0.1:${first.port} is already in use; choose another port`);
    } finally {
      await first.close();
    }
  });

  it('stops listening when closed', async () => {
    const s = await startMetricsServer(0, () => '');
    await s.close();
    await expect(fetch(s.url)).rejects.toThrow();
  });
});
