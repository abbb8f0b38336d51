/**
 * `lab trace`'s cost controls end to end, on a real lab with the real loader: the overhead guard
 * (--cpu-budget) sheds a family and the span trees say what they lack from then on; tail keeping
 * (--keep-slower-than) keeps slow requests outside the head sample with their database time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { assembleCapture } from '../../assembler/build-span-tree.ts';
import { type RunningLab, runLabCli, startLab, testPortBase } from '../../test/lab-fixture.ts';
import { EventKind } from '../../shared/event-types.ts';
import { readCapture } from '../../tracer/read-capture.ts';
import { isSampled } from '../../shared/sampling.ts';
import { describeBuilt, requireBuilt } from '../../test/require-built.ts';

const out = mkdtempSync(join(tmpdir(), 'lab-trace-cost-e2e-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** A request id whose head sampling decision at `rate` is `sampled`. */
function idWith(sampled: boolean, rate: number, n: number): string {
  for (let k = n; ; k += 7919) {
    const id = (k * 2654435761).toString(16).padStart(8, '0').slice(-8) + k.toString(16).padStart(24, '0');
    if (isSampled(id, rate) === sampled) return id;
  }
}

describeBuilt('lab trace cost controls (real loader)', () => {
  let lab: RunningLab;
  beforeAll(async () => {
    requireBuilt();
    const base = testPortBase(26200);
    lab = await startLab({ portBase: base, stateDir: join(tmpdir(), `lab-trace-cost-e2e-${base}`), usdt: 'native' });
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it('--cpu-budget sheds the costliest family, says so, and the traces after it say what they lack', async () => {
    const dir = join(out, 'guard');
    // A budget no tracing meets: the guard must shed within the run.
    const r = await runLabCli(lab, ['trace', '--out', dir, '--duration', '6', '--connections', '8', '--cpu-budget', '0.01']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/over the 0\.01% budget: shed the (sockets|sched|postgres|tcp) family/);
    const c = await readCapture(dir);
    const sheds = c.meta.loader?.sheds ?? [];
    expect(sheds.length).toBeGreaterThan(0);
    expect(sheds.every((s) => !['core', 'usdt'].includes(s.family))).toBe(true);
    expect(c.meta.cpuBudgetPct).toBe(0.01);
    const first = sheds[0]!;
    const atNs = BigInt(first.atNs);
    const shedRecord = c.events.find((e) => e.kind === EventKind.TracerShed);
    expect(shedRecord).toMatchObject({ family: first.family, budgetPct: 0.01 });
    // Nothing of a shed family after its shed (a record begun before it may end just after).
    const kindsOf: Record<string, number[]> = {
      sockets: [EventKind.SockRecv, EventKind.SockSend],
      sched: [EventKind.RunqDelay],
      postgres: [EventKind.PgPhase],
      tcp: [EventKind.TcpRetransmit],
    };
    const late = c.events.filter((e) => (kindsOf[first.family] ?? []).includes(e.kind) && e.tsNs > atNs + 50_000_000n);
    expect(late.length, `${first.family} records after its shed`).toBe(0);
    // Traces that ended after the shed name it; those over before it do not.
    const { traces } = assembleCapture(c);
    const root = (t: (typeof traces)[number]) => t.spans[0]!;
    const after = traces.filter((t) => root(t).startNs > atNs);
    const before = traces.filter((t) => root(t).endNs < atNs);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((t) => String(root(t).tags['tracing.shed']).split(',').includes(first.family))).toBe(true);
    expect(after.every((t) => root(t).warnings.some((w) => w.startsWith(`the ${first.family} family was shed by the 0.01% CPU budget`)))).toBe(true);
    expect(before.every((t) => root(t).tags['tracing.shed'] === undefined)).toBe(true);
  });

  it('--keep-slower-than keeps slow requests outside the sample with their database time; fast ones stay bare', async () => {
    const dir = join(out, 'keep');
    const rate = 0.01;
    const slow = [1, 2].map((n) => idWith(false, rate, n));
    const fast = [3, 4].map((n) => idWith(false, rate, n));
    // The requests go once the probes are attached and the app follows the rate, however long that
    // takes on a busy machine.
    let traced = (): void => {};
    const ready = new Promise<void>((res) => (traced = res));
    const tracing = runLabCli(lab, ['trace', '--out', dir, '--no-load', '--duration', '5', '--sample', String(rate), '--keep-slower-than', '40', '--families', '+postgres'], {
      onStderr: (text) => {
        if (text.includes('tracing whatever arrives')) traced();
      },
    });
    await Promise.race([ready, tracing]);
    for (const id of slow) expect((await fetch(lab.url('/api/users?db_delay_ms=60'), { headers: { 'X-Request-ID': id } })).status).toBe(200);
    for (const id of fast) expect((await fetch(lab.url('/healthz'), { headers: { 'X-Request-ID': id } })).status).toBe(200);
    const r = await tracing;
    expect(r.code, r.stderr).toBe(0);
    const c = await readCapture(dir);
    expect(c.meta.keepSlowerThanMs).toBe(40);
    const { traces } = assembleCapture(c);
    for (const id of slow) {
      const t = traces.find((x) => x.traceId === id)!;
      expect(t.spans[0]!.tags).toMatchObject({ 'sampling.sampled': false, 'sampling.kept': 'slow', 'sampling.keep_threshold_ms': 40 });
      const db = t.spans.find((s) => s.name === 'DB processing');
      expect(db, id).toBeDefined();
      expect(Number(db!.endNs - db!.startNs) / 1e6).toBeGreaterThanOrEqual(60);
      expect(t.spans.some((s) => s.name === 'execute')).toBe(true);
    }
    for (const id of fast) {
      const t = traces.find((x) => x.traceId === id)!;
      expect(t.spans[0]!.tags['sampling.kept']).toBeUndefined();
      expect(c.events.filter((e) => e.requestId === id).map((e) => e.kind).sort()).toEqual([EventKind.RequestStart, EventKind.RequestEnd]);
    }
  });
});
