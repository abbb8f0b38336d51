/**
 * A stopped lab process (state T) on a real lab: `lab status` and `lab doctor` name it with its
 * pid and the way out, and exit non-zero; after SIGCONT both are clean again.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningLab, runLabCli, startLab, testPortBase } from '../../test/lab-fixture.ts';
import { childPids, processCmdline, processState, waitUntil } from './processes.ts';

const BASE = testPortBase(25330);

describe('stopped lab processes', () => {
  let lab: RunningLab;
  const stopped = new Set<number>();
  const stop = async (pid: number): Promise<void> => {
    stopped.add(pid);
    process.kill(pid, 'SIGSTOP');
    expect(await waitUntil(() => processState(pid) === 'T', 5000)).toBe(true);
  };

  beforeAll(async () => {
    lab = await startLab({ portBase: BASE, stateDir: join(tmpdir(), `reqtrace-lab-${BASE}`) });
  });
  // Whatever a test did, nothing of the lab stays stopped.
  afterEach(() => {
    for (const pid of stopped) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone
      }
    }
    stopped.clear();
  });
  afterAll(async () => {
    await lab?.stop();
  });

  it('a stopped PostgreSQL backend: status and doctor name it and exit non-zero; clean again once resumed', async () => {
    // A backend of the app's pool (the app keeps its connections).
    await fetch(lab.url('/api/users')).then((r) => r.arrayBuffer());
    const backend = childPids(lab.pids.postgres).find((p) => /postgres: lab reqtrace/.test(processCmdline(p) ?? ''));
    expect(backend, 'no backend of the app found').toBeDefined();
    await stop(backend as number);

    const status = await runLabCli(lab, ['status']);
    expect(status.code).toBe(3);
    expect(status.stdout).toMatch(new RegExp(`^problem\\s+1 lab process\\(es\\) stopped \\(state T\\), so requests that need them hang: postgres backend ${backend} \\(postgres: lab reqtrace `, 'm'));
    expect(status.stdout).toContain(`\`lab down\` resumes and stops them, or \`kill -CONT ${backend}\` resumes them`);
    const json = await runLabCli(lab, ['status', '--json']);
    expect((JSON.parse(json.stdout) as { stopped: { pid: number; role: string }[] }).stopped).toEqual([expect.objectContaining({ pid: backend, role: 'postgres backend' })]);

    const doctor = await runLabCli(lab, ['doctor']);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toMatch(new RegExp(`^lab processes\\s+1 stopped \\(pid ${backend}\\)`, 'm'));
    expect(doctor.stdout).toMatch(new RegExp(`^ {2}- 1 lab process\\(es\\) stopped .*postgres backend ${backend}`, 'm'));

    process.kill(backend as number, 'SIGCONT');
    expect(await waitUntil(() => processState(backend as number) !== 'T', 5000)).toBe(true);
    const again = await runLabCli(lab, ['status']);
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('problem');
    expect((await runLabCli(lab, ['doctor'])).stdout).toMatch(/^lab processes\s+none stopped/m);
  });

  it('a stopped app: status names it, and lab trace refuses to start', async () => {
    await stop(lab.pids.app);
    const status = await runLabCli(lab, ['status']);
    expect(status.code).toBe(3);
    expect(status.stdout).toMatch(new RegExp(`^problem .*: app ${lab.pids.app} \\(`, 'm'));
    const trace = await runLabCli(lab, ['trace', '--out', join(tmpdir(), `reqtrace-stopped-${BASE}`), '--requests', '5']);
    expect(trace.code).toBe(1);
    expect(trace.stderr).toMatch(new RegExp(`lab trace: cannot trace: 1 lab process\\(es\\) stopped .*app ${lab.pids.app}`));
  });
});
