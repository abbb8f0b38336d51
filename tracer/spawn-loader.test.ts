import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EVENT_SCHEMA_VERSION } from '../shared/event-types.ts';
import { LoaderError, spawnLoader } from './spawn-loader.ts';

const dir = mkdtempSync(join(tmpdir(), 'spawn-loader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A stand-in for probes/build/reqtrace speaking its stdout/stderr protocol: binary records on
 * stdout, `attached:` once ready, a `summary:` line on SIGINT. `behaviour` picks a failure mode.
 */
function standIn(name: string, behaviour: 'normal' | 'stderr-only' | 'eperm' | 'silent' | 'stubborn' | 'old-schema'): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `#!/usr/bin/env node
const fs = require('node:fs');
const mode = ${JSON.stringify(behaviour)};
const i = process.argv.indexOf('--status-fd');
const status = i > 0 && mode !== 'stderr-only' ? Number(process.argv[i + 1]) : -1;
process.stderr.write('libbpf: loading object\\n');
if (mode === 'eperm') {
  process.stderr.write('libbpf: prog handle_read: failed to load: -1 (Operation not permitted)\\n');
  process.exit(1);
}
const rec = Buffer.alloc(56, 0xab);
// Like the real loader: signal handlers are in place before it reports 'attached'.
process.on('SIGINT', () => {
  if (mode === 'stubborn') return;
  process.stdout.write(rec, () => {
    process.stderr.write('summary: records=4 bytes=224 malformed=1 ringbuf=2 bind_full=0 stop=signal\\n');
    if (status >= 0) fs.writeSync(status, '{"event":"exit","stop":"signal","records":4,"bytes":224,"malformed":1,"drops":{"ringbuf":2,"bind_full":0},"kinds":{"1":2,"2":2}}\\n');
    process.exit(0);
  });
});
for (let i = 0; i < 3; i++) process.stdout.write(rec);
if (mode !== 'silent') {
  process.stderr.write('attached: usdt=usdt sockets=tracepoint files=tracepoint\\n');
  if (status >= 0) fs.writeSync(status, '{"event":"attached","schema":' + (mode === 'old-schema' ? 1 : ${EVENT_SCHEMA_VERSION}) + ',"sample":1,"hooks":{"usdt":"usdt","sockets":"tracepoint","files":"tracepoint"}}\\n');
}
process.stderr.write('args: ' + process.argv.slice(2).join(' ') + '\\n');
setInterval(() => {}, 1000);
`,
  );
  chmodSync(path, 0o755);
  return path;
}

describe('spawnLoader with a stand-in loader', () => {
  it('streams stdout into the events file, reports the hooks, and the summary with drops on stop', async () => {
    const events = join(dir, 'normal.bin');
    const logPath = join(dir, 'normal.log');
    const h = spawnLoader({ binary: standIn('normal', 'normal'), args: ['--app-pid', '42'], eventsPath: events, logPath, attachTimeoutMs: 2000, skipPrivilegeCheck: true });
    expect(await h.attached).toEqual({ usdt: 'usdt', sockets: 'tracepoint', files: 'tracepoint' });
    // Past the attach timeout: an attached loader must not be killed by it.
    await new Promise((r) => setTimeout(r, 2300));
    const r = await h.stop();
    expect(r).toMatchObject({
      exitCode: 0,
      signal: null,
      summarySeen: true,
      stop: 'signal',
      schema: EVENT_SCHEMA_VERSION,
      kinds: { '1': 2, '2': 2 },
      counters: { records: 4, bytes: 224, malformed: 1, ringbuf: 2, bind_full: 0 },
      drops: { ringbuf: 2, bind_full: 0, malformed: 1 },
      eventBytes: 224,
    });
    expect(readFileSync(events).equals(Buffer.alloc(224, 0xab))).toBe(true);
    expect(readFileSync(logPath, 'utf8')).toContain('args: --app-pid 42 --status-fd 3');
    expect(r.diagnostics).toContain('libbpf: loading object');
  });

  it('without status lines, reads the hooks and drops from stderr', async () => {
    const h = spawnLoader({ binary: standIn('stderr-only', 'stderr-only'), args: [], eventsPath: join(dir, 'stderr-only.bin'), skipPrivilegeCheck: true });
    expect(await h.attached).toEqual({ usdt: 'usdt', sockets: 'tracepoint', files: 'tracepoint' });
    const r = await h.stop();
    expect(r).toMatchObject({ summarySeen: true, schema: null, drops: { malformed: 1, ringbuf: 2, bind_full: 0 }, eventBytes: 224 });
  });

  it('a loader refused by the kernel rejects `attached` as unprivileged, naming sudo', async () => {
    const h = spawnLoader({ binary: standIn('eperm', 'eperm'), args: [], eventsPath: join(dir, 'eperm.bin'), skipPrivilegeCheck: true });
    const err = await h.attached.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoaderError);
    expect((err as LoaderError).code).toBe('unprivileged');
    expect((err as LoaderError).message).toMatch(/sudo.*Operation not permitted/);
    expect((await h.exited).exitCode).toBe(1);
  });

  it('a loader built for another record schema is refused and stopped, naming the rebuild', async () => {
    const h = spawnLoader({ binary: standIn('old-schema', 'old-schema'), args: [], eventsPath: join(dir, 'old-schema.bin'), skipPrivilegeCheck: true });
    const err = (await h.attached.catch((e: unknown) => e)) as LoaderError;
    expect(err).toBeInstanceOf(LoaderError);
    expect(err.code).toBe('schema');
    expect(err.message).toContain(`schema 1, this tracer reads schema ${EVENT_SCHEMA_VERSION}`);
    expect(err.message).toContain('npm run build');
    const r = await h.exited;
    expect(r.schema).toBe(1);
  });

  it('a loader that never attaches times out and is killed', async () => {
    const h = spawnLoader({ binary: standIn('silent', 'silent'), args: [], eventsPath: join(dir, 'silent.bin'), attachTimeoutMs: 500, skipPrivilegeCheck: true });
    const err = (await h.attached.catch((e: unknown) => e)) as LoaderError;
    expect(err.code).toBe('attach-timeout');
    const r = await h.exited;
    expect(r.signal).toBe('SIGKILL');
    expect(r.summarySeen).toBe(false);
  });

  it('a loader ignoring SIGINT is killed after the grace period, with no summary', async () => {
    const h = spawnLoader({ binary: standIn('stubborn', 'stubborn'), args: [], eventsPath: join(dir, 'stubborn.bin'), skipPrivilegeCheck: true });
    await h.attached;
    const t0 = Date.now();
    const r = await h.stop(300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(r).toMatchObject({ signal: 'SIGKILL', summarySeen: false, drops: {}, eventBytes: 168 });
  });

  it('forwards SIGTERM received by this process to the loader', async () => {
    const seen: string[] = [];
    const h = spawnLoader({
      binary: standIn('forward', 'normal'),
      args: [],
      eventsPath: join(dir, 'forward.bin'),
      skipPrivilegeCheck: true,
      onSignal: (s) => seen.push(s),
    });
    await h.attached;
    process.emit('SIGTERM', 'SIGTERM');
    const r = await h.exited;
    expect(seen).toEqual(['SIGTERM']);
    // The stand-in has no SIGTERM handler, so it dies of it: proof the signal reached it.
    expect(r.signal).toBe('SIGTERM');
    expect(process.listenerCount('SIGTERM')).toBe(0);
  });

  it('a missing binary is a clear error naming npm run build', () => {
    let err: unknown;
    try {
      spawnLoader({ binary: join(dir, 'nope'), args: [], eventsPath: join(dir, 'nope.bin') });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LoaderError);
    expect((err as LoaderError).code).toBe('missing');
    expect((err as LoaderError).message).toMatch(/not built: run `npm run build`/);
  });
});
