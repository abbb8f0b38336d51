/**
 * `lab trace` when things go wrong, on a real lab with the real loader: Ctrl-C, a killed app,
 * a killed loader, a killed `lab trace`, clients that give up, a damaged events.bin, and what a
 * capture keeps of the clients' data. Run as root.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleCapture } from '../../assembler/build-span-tree.ts';
import { rootOf, type Span, type Trace } from '../../assembler/span.ts';
import { labUp } from '../../lab/lifecycle/lab-up.ts';
import { isAlive, processState, resumeStoppedChildren, waitUntil } from '../../lab/lifecycle/processes.ts';
import { labStatus } from '../../lab/lifecycle/lab-status.ts';
import { type CliRun, type RunningLab, runLabCli, startLab, testPortBase } from '../../test/lab-fixture.ts';
import type { CaptureMeta } from '../../shared/capture-types.ts';
import { readCapture } from '../../tracer/read-capture.ts';

const BASE = testPortBase(25350);
const out = mkdtempSync(join(tmpdir(), `reqtrace-trace-faults-${BASE}-`));

let lab: RunningLab;
beforeAll(async () => {
  lab = await startLab({ portBase: BASE, stateDir: join(tmpdir(), `reqtrace-lab-${BASE}`), usdt: 'native' });
});
afterAll(async () => {
  await lab?.stop();
  rmSync(out, { recursive: true, force: true });
});

const meta = (dir: string): CaptureMeta => JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as CaptureMeta;
const loaderPidIn = (stderr: string): number | null => Number(/attached \(.*\), pid (\d+)/.exec(stderr)?.[1] ?? NaN) || null;
const appPid = (): number => labStatus(lab.config, () => null).app.pid as number;

/** Stops a loader a failed test may have left (and any backend it held), so the next test starts clean. */
async function reap(pid: number | null): Promise<void> {
  if (pid === null || !isAlive(pid)) return;
  process.kill(pid, 'SIGINT');
  if (!(await waitUntil(() => !isAlive(pid), 10_000))) process.kill(pid, 'SIGKILL');
  resumeStoppedChildren(labStatus(lab.config, () => null).postgres.pid ?? 0);
}

/**
 * Runs `lab trace args`, calling `act` once (with the loader's pid) when stderr shows `when`.
 * The trace runs in its own process group, as a shell's foreground job.
 */
async function traceWith(
  args: readonly string[],
  when: RegExp,
  act: (loaderPid: number, cliPid: number, stderrNow: () => string) => void | Promise<void>,
): Promise<{ run: CliRun; loaderPid: number | null }> {
  let loaderPid: number | null = null;
  let cliPid = 0;
  let stderr = '';
  let acted: Promise<void> | null = null;
  const run = await runLabCli(lab, ['trace', ...args], {
    processGroup: true,
    onSpawn: (child) => {
      cliPid = child.pid ?? 0;
    },
    onStderr: (text) => {
      stderr = text;
      loaderPid ??= loaderPidIn(text);
      if (acted === null && loaderPid !== null && when.test(text)) acted = Promise.resolve(act(loaderPid, cliPid, () => stderr));
    },
    timeoutMs: 120_000,
  });
  await acted;
  return { run, loaderPid };
}

describe('lab trace under faults', () => {
  it('Ctrl-C: lab trace returns only once the capture is complete, and says it was interrupted', async () => {
    const dir = join(out, 'ctrl-c');
    let signalledAt = 0;
    const { run, loaderPid } = await traceWith(['--out', dir, '--duration', '60'], /lab trace: load:/, async (_loader, cli) => {
      await new Promise((r) => setTimeout(r, 1500));
      signalledAt = Date.now();
      // What a terminal does on Ctrl-C: SIGINT to every process of the foreground job.
      process.kill(-cli, 'SIGINT');
    });
    // Checked the moment `lab` has exited, as a shell would print its prompt.
    const m = meta(dir);
    try {
      expect(run.code).toBe(130);
      expect(run.stderr).toContain('lab trace: SIGINT: finishing the capture');
      expect(run.stderr).toMatch(/capture .*: \d+ requests, \d+ events \(BPF\), 0 dropped/);
      expect(run.stderr).toContain('lab trace: the capture is incomplete: lab trace was interrupted (SIGINT): events end early');
      expect(m.completeness).toEqual({ complete: false, missing: [{ kind: 'interrupted', message: 'lab trace was interrupted (SIGINT): events end early' }] });
      expect(m.loader?.stop).toBe('signal');
      expect(existsSync(join(dir, 'pg-stat-statements.json'))).toBe(true);
      expect(isAlive(loaderPid as number)).toBe(false);
      expect(Date.now() - signalledAt).toBeLessThan(60_000);
    } finally {
      await reap(loaderPid);
    }
  });

  it('the app killed mid-trace: exit 1 naming the app and the failed requests, in meta.json too', async () => {
    const dir = join(out, 'app-killed');
    const app = appPid();
    try {
      const { run, loaderPid } = await traceWith(['--out', dir, '--requests', '1500'], /lab trace: load:/, async () => {
        await new Promise((r) => setTimeout(r, 1000));
        process.kill(app, 'SIGKILL');
      });
      await reap(loaderPid);
      expect(run.code).toBe(1);
      // The loader may also have stopped on the app's exit (app-exit) before the failed requests are named.
      expect(run.stderr).toMatch(new RegExp(`lab trace: the capture is incomplete: the app \\(pid ${app}\\) died during the trace; .*[\\d,]+ of 1,500 requests failed \\(502×[\\d,]+`));
      const gaps = meta(dir).completeness?.missing ?? [];
      expect(gaps.map((g) => g.kind)).toEqual(expect.arrayContaining(['tier-died', 'failed-requests']));
      const show = await runLabCli(lab, ['show', dir, '--slowest', '1']);
      expect(show.stderr).toContain(`warning: capture incomplete: the app (pid ${app}) died during the trace`);
    } finally {
      await labUp(lab.config);
    }
  });

  it('the loader killed -9 mid-trace: said when it happens, and exit 1 naming the loader', async () => {
    const dir = join(out, 'loader-killed');
    let diedDuringLoad = false;
    const { run, loaderPid } = await traceWith(['--out', dir, '--requests', '1500'], /lab trace: load:/, async (loader, _cli, stderrNow) => {
      await new Promise((r) => setTimeout(r, 1000));
      process.kill(loader, 'SIGKILL');
      // A task in uninterruptible sleep (attaching uprobes, say) dies only when it wakes.
      await waitUntil(() => !isAlive(loader), 30_000, 20);
      diedDuringLoad = !stderrNow().includes('stopping the loader');
    });
    resumeStoppedChildren(labStatus(lab.config, () => null).postgres.pid ?? 0);
    const said = `lab trace: the loader (pid ${loaderPid}) ended without its summary (SIGKILL): events stop here; the load goes on`;
    if (diedDuringLoad) expect(run.stderr).toContain(said);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('lab trace: the capture is incomplete: the loader was killed by SIGKILL without its summary: events stop early and losses are unknown');
    expect(meta(dir).completeness?.missing.map((g) => g.kind)).toEqual(['loader-died']);
    const validate = await runLabCli(lab, ['validate', dir]);
    expect(validate.stderr).toContain('warning: capture incomplete: the loader was killed by SIGKILL without its summary');
  });

  // Needs the loader to watch its parent (PR_SET_PDEATHSIG and a parent check in probes/reqtrace.c).
  it('lab trace killed -9: its loader is gone within seconds', async () => {
    const dir = join(out, 'parent-killed');
    let tracer = 0;
    const { loaderPid } = await traceWith(['--out', dir, '--duration', '60'], /lab trace: load:/, async (loader) => {
      await new Promise((r) => setTimeout(r, 1000));
      // The loader's parent: the node process running the trace (lab.mjs's child).
      const stat = readFileSync(`/proc/${loader}/stat`, 'utf8');
      tracer = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      process.kill(tracer, 'SIGKILL');
    });
    try {
      expect(tracer).toBeGreaterThan(0);
      expect(isAlive(tracer)).toBe(false);
      expect(await waitUntil(() => !isAlive(loaderPid as number), 5000)).toBe(true);
    } finally {
      await reap(loaderPid);
    }
  });

  describe('clients that give up, privacy and damage, on one --no-load capture', () => {
    const dir = join(out, 'no-load');
    const delayed = 'dddddddddddddddddddddddddddddd01';
    const plain = 'dddddddddddddddddddddddddddddd02';
    let capture: Awaited<ReturnType<typeof readCapture>>;
    let traces: readonly Trace[];

    /** A GET through nginx that the client abandons (closes its socket) after `abortMs`, or reads to the end. */
    const get = (path: string, id: string, abortMs?: number): Promise<void> =>
      new Promise((resolve) => {
        const req = http.get(lab.url(path), { headers: { 'x-request-id': id } }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', () => resolve());
        if (abortMs !== undefined) setTimeout(() => req.destroy(), abortMs);
      });

    beforeAll(async () => {
      let sent: Promise<unknown> | null = null;
      const run = await runLabCli(lab, ['trace', '--out', dir, '--no-load', '--duration', '3'], {
        onStderr: (text) => {
          if (sent !== null || !text.includes('tracing whatever arrives')) return;
          sent = Promise.all([
            get('/api/users?delay_ms=300', delayed, 80),
            get('/api/users?db_delay_ms=400&token=s3cret', 'my-private-trace-id', 100),
            get('/api/feed?items=2&email=someone%40example.com', plain),
          ]);
        },
      });
      await sent;
      expect(run.code, run.stderr).toBe(0);
      capture = await readCapture(dir);
      traces = assembleCapture(capture).traces;
    });

    const spansOf = (id: string): Span[] => (traces.find((t) => t.traceId === id) as Trace).spans as Span[];
    const named = (spans: readonly Span[], name: string): Span => spans.find((s) => s.name === name) as Span;
    const ms = (s: Span): number => Number(s.endNs - s.startNs) / 1e6;

    it('an abort during delay_ms: the root ends at the abort, the query after it keeps its time', () => {
      const spans = spansOf(delayed);
      const root = spans[0] as Span;
      expect(root.tags).toMatchObject({ 'http.request.aborted': true, 'http.response.status_code': 499 });
      expect(ms(root)).toBeLessThan(250);
      expect(ms(named(spans, 'app processing'))).toBeGreaterThan(280);
      const q = named(spans, 'DB query 1 (SELECT)');
      expect(q.tags.after_client_abort).toBe(true);
      expect(ms(q)).toBeGreaterThan(0.05);
      expect(spans.flatMap((s) => s.warnings).filter((w) => /clamped|widened/.test(w))).toEqual([]);
      expect(root.warnings).toEqual([expect.stringMatching(/^aborted by the client after [\d.]+ms \(nginx 499\): the app went on for [\d.]+ms after it/)]);
    });

    it('an abort during a db_delay_ms query: the DB span keeps its whole 400 ms', () => {
      const id = capture.nginx.find((n) => n.uri.includes('db_delay_ms'))?.requestId as string;
      const spans = spansOf(id);
      expect(rootOf({ traceId: id, spans }).tags['http.request.aborted']).toBe(true);
      expect(ms(spans[0] as Span)).toBeLessThan(300);
      expect(ms(named(spans, 'DB query 1 (SELECT)'))).toBeGreaterThan(390);
    });

    it("keeps a client's X-Request-ID only as a hash and only the lab's knobs of a query", () => {
      const text = readFileSync(join(dir, 'nginx-access.jsonl'), 'utf8');
      for (const secret of ['my-private-trace-id', 's3cret', 'token', 'email', 'someone']) expect(text).not.toContain(secret);
      const byUri = new Map(capture.nginx.map((n) => [n.uri, n]));
      expect([...byUri.keys()].sort()).toEqual(['/api/feed?items=2', '/api/users?db_delay_ms=400', '/api/users?delay_ms=300']);
      const hashed = (JSON.parse(text.split('\n').find((l) => l.includes('db_delay_ms')) as string) as { clientRequestIdHash: string }).clientRequestIdHash;
      expect(hashed).toMatch(/^hmac-sha256:[0-9a-f]{32}$/);
      expect(meta(dir).privacy).toEqual({ clientRequestId: 'hmac-sha256, key made for this capture and not stored', queryParametersKept: ['delay_ms', 'cpu_ms', 'db_delay_ms', 'io_kb', 'items'], queryParametersDropped: 2 });
    });

    it('a size field of 0 in events.bin loses that record only: the rest is read on, the loss reported', async () => {
      const damaged = join(out, 'damaged');
      cpSync(dir, damaged, { recursive: true });
      const bin = readFileSync(join(damaged, 'events.bin'));
      let at = 0;
      while (at + bin.readUInt16LE(at + 34) <= 864) at += bin.readUInt16LE(at + 34);
      const size = bin.readUInt16LE(at + 34);
      bin.writeUInt16LE(0, at + 34);
      writeFileSync(join(damaged, 'events.bin'), bin);
      const c = await readCapture(damaged);
      expect(c.events.length).toBe(capture.events.length - 1);
      expect(c.warnings).toContain(`events.bin: damaged region at bytes ${at}..${at + size} (${size} bytes; its size field read 0) skipped: read on at the next valid record`);
      expect(c.warnings).toContainEqual(expect.stringMatching(/^events\.bin: [\d,]+ of [\d,]+ bytes unreadable in 1 damaged region\(s\), skipped: 1 record\(s\) lost \(the loader wrote [\d,]+, [\d,]+ read\)$/));
      const show = await runLabCli(lab, ['show', damaged, '--id', plain]);
      expect(show.code).toBe(0);
      expect(show.stdout).toContain(`Request ${plain}: GET /api/feed`);
    });
  });

  it('leaves no PostgreSQL backend stopped', () => {
    const pgPid = labStatus(lab.config, () => null).postgres.pid as number;
    expect(labStatus(lab.config, () => null).stopped).toEqual([]);
    expect(processState(pgPid)).not.toBe('T');
  });
});
