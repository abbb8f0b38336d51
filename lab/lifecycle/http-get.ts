import http from 'node:http';

export interface HttpResult {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** One request on a fresh connection, bounded by `timeoutMs`; rejects on network errors. */
export function httpRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false, timeout: opts.timeoutMs ?? 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${opts.timeoutMs ?? 5000} ms: ${url}`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** True when GET `url` answers 2xx within `timeoutMs`. */
export async function answers(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const r = await httpRequest(url, { timeoutMs });
    return r.status >= 200 && r.status < 300;
  } catch {
    return false;
  }
}
