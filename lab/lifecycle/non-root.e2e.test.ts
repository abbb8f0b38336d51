/**
 * Another user (nobody) and root's lab: read-only commands work and change no file; commands
 * that would change the lab, and tracing, are refused in one sentence. The state directory is
 * left writable by everyone, where a user's `lab status` used to delete root's pid files.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCaptureDir } from '../../assembler/fixtures/write-capture-dir.ts';
import { SCENARIOS } from '../../assembler/fixtures/scenarios.ts';
import { type RunningLab, runLabCli, startLab, testPortBase } from '../../test/lab-fixture.ts';
import { findPasswdUser } from '../db/server-owner.ts';
import { labStatus } from './lab-status.ts';
import { isAlive } from './processes.ts';
import { labPaths } from './state-paths.ts';

const BASE = testPortBase(25340);
const STATE = join(tmpdir(), `reqtrace-lab-${BASE}`);
const passwd = readFileSync('/etc/passwd', 'utf8');
const nobody = findPasswdUser(passwd, 'nobody');

describe.skipIf(nobody === null)('root’s lab as another user', () => {
  let lab: RunningLab;
  const user = nobody as { uid: number; gid: number };
  const captures = mkdtempSync(join(tmpdir(), `reqtrace-non-root-${BASE}-`));
  /** Every file of the state dir with its size and time, but the PostgreSQL cluster (closed to others) and the logs (the app logs each request). */
  const stateFiles = (): Record<string, string> =>
    Object.fromEntries(
      readdirSync(STATE, { recursive: true, encoding: 'utf8' })
        .filter((f) => !f.startsWith('pg') && !f.startsWith('logs'))
        .map((f) => {
          const st = statSync(join(STATE, f));
          return [f, `${st.size}@${st.mtimeMs}`];
        }),
    );

  beforeAll(async () => {
    lab = await startLab({ portBase: BASE, stateDir: STATE });
    chmodSync(STATE, 0o777);
    chmodSync(captures, 0o755);
  });
  afterAll(async () => {
    await lab?.stop();
    chmodSync(STATE, 0o755);
    rmSync(captures, { recursive: true, force: true });
  });

  it('lab status and lab doctor work and change nothing: root’s pid files stay, root still sees every tier', async () => {
    const before = stateFiles();
    const status = await runLabCli(lab, ['status'], { user });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^app\\s+pid ${lab.pids.app}\\s`, 'm'));
    expect(status.stdout).toMatch(new RegExp(`^postgres\\s+pid ${lab.pids.postgres}\\s`, 'm'));
    const doctor = await runLabCli(lab, ['doctor'], { user });
    expect(doctor.stdout).toMatch(new RegExp(`^user\\s+uid ${user.uid}$`, 'm'));
    expect(doctor.stdout).toMatch(new RegExp(`^lab processes\\s+none stopped in ${STATE}$`, 'm'));
    expect(stateFiles()).toEqual(before);
    expect(readFileSync(labPaths(lab.config).appPid, 'utf8').trim()).toBe(String(lab.pids.app));
    const mine = labStatus(lab.config, () => null);
    expect([mine.proxy.pid, mine.app.pid, mine.postgres.pid]).toEqual([lab.pids.proxy[0], lab.pids.app, lab.pids.postgres]);
  });

  it('lab trace says it needs root, before it creates anything', async () => {
    const dir = join(captures, 'refused');
    const r = await runLabCli(lab, ['trace', '--out', dir, '--requests', '5'], { user });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('lab trace needs root (CAP_BPF and CAP_PERFMON): run it with sudo, or trace without BPF after `lab up --usdt file`');
    expect(readdirSync(captures)).toEqual([]);
  });

  it.each(['down', 'up'])('lab %s is refused: the lab belongs to root, and keeps running', async (command) => {
    const before = stateFiles();
    const r = await runLabCli(lab, [command], { user });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `lab: the lab in ${STATE} belongs to root, and \`lab ${command}\` changes its processes and pid files: run \`sudo lab ${command}\`, or set LAB_STATE_DIR to a lab of your own`,
    );
    expect(isAlive(lab.pids.app)).toBe(true);
    expect(stateFiles()).toEqual(before);
  });

  it('lab show reads a capture root wrote', async () => {
    const dir = join(captures, 'fixture');
    writeCaptureDir(dir, (SCENARIOS['users-two-queries'] as () => Parameters<typeof writeCaptureDir>[1])());
    const r = await runLabCli(lab, ['show', dir, '--slowest', '1'], { user });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Request 4bf92f3577b34da6a3ce929d0e0e4736: GET \/api\/users/);
    rmSync(dir, { recursive: true, force: true });
  });
});
