/**
 * Sends one experiment's planned requests while it is traced, with its fault on during the
 * fault phase: controls one by one, then each injected round with the layer's action, then the
 * remaining controls. Every fault it makes is on the cleanup stack until it is undone.
 *
 *   layer        fault phase, per round
 *   app/db/file  the injected request (its knob) and a control beside it
 *   lock         row held → order sent (a control beside it) → released holdMs after its UPDATE waits
 *   event-loop   blocker sent → afterMs → the queued requests
 *   disk         (throttle or fsync delay on for the phase) one order at a time
 *   cpu          (app pinned, competitor ready) request sent → app seen computing → competitor spins
 *   net-*        (delay or loss on the link for the phase) one request at a time
 *   pool         the burst, staggered
 */
import http from 'node:http';
import type { LabConfig } from '../lab/config.ts';
import { pgAdminConnectionConfig } from '../lab/db/postgres-cluster.ts';
import type { CleanupStack } from '../lab/faults/cleanup-stack.ts';
import { pinThread, startCompetitor, threadSchedstat } from '../lab/faults/cpu-competitor.ts';
import type { PreloadedFsyncDelay } from '../lab/faults/fsync-delay.ts';
import { throttleWrites } from '../lab/faults/io-throttle.ts';
import { applyLinkFault } from '../lab/faults/link-fault.ts';
import { NETNS_PREFIX, type NetnsLink } from '../lab/faults/netns-link.ts';
import { holdProductRow } from '../lab/faults/row-lock.ts';
import { childPids, sleep } from '../lab/lifecycle/processes.ts';
import type { HostFacts, LayerMethod } from './inject-methods.ts';
import type { Experiment } from './inject-matrix.ts';
import { LOCKED_PRODUCT, type PlannedRequest } from './inject-plan.ts';
import { sendPlanned, sendUnplanned } from './inject-traffic.ts';
import type { SentRequest } from './inject-verdict.ts';

export interface DriveContext {
  readonly cfg: LabConfig;
  readonly baseUrl: URL;
  readonly appPid: number;
  readonly pgPid: number;
  readonly facts: HostFacts;
  readonly method: Extract<LayerMethod, { method: string }>;
  /** The namespace link the app reaches PostgreSQL through (network layers). */
  readonly link: NetnsLink | null;
  /** PostgreSQL's preloaded fsync delay (the disk layer's preload method). */
  readonly fsyncDelay: PreloadedFsyncDelay | null;
  readonly cleanup: CleanupStack;
  /** Longest any helper may live, s. */
  readonly helperSeconds: number;
  readonly stop: () => boolean;
}

export interface Driven {
  readonly sent: SentRequest[];
  /** What the fault's own side counted (nfq-fault's drops, the kernel's run-queue time), one line each. */
  readonly faultNotes: string[];
}

/** Ms the cpu experiment waits to see the app computing before the competitor spins anyway. */
const SEE_BUSY_MS = 150;
/** CPU the app must have used since the request was sent for it to count as computing, ns. */
const BUSY_NS = 15e6;
const PAUSE_MS = 50;
/** Longest the lock experiment waits to see the injected UPDATE wait for the row, ms. */
const SEE_WAITER_MS = 3000;

/** Runs `e`'s plan; resolves when every request has its answer and the fault is undone. */
export async function driveExperiment(e: Experiment, plan: readonly PlannedRequest[], ctx: DriveContext): Promise<Driven> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const sent: SentRequest[] = [];
  const notes: string[] = [];
  const send = async (r: PlannedRequest): Promise<SentRequest> => {
    const s = await sendPlanned(ctx.baseUrl, r, agent);
    sent.push(s);
    return s;
  };
  const inTurn = async (rs: readonly PlannedRequest[]): Promise<void> => {
    for (const r of rs) {
      if (ctx.stop()) return;
      await send(r);
    }
  };
  const rounds = (): PlannedRequest[][] => {
    const fault = plan.filter((p) => p.phase === 'fault');
    return [...new Set(fault.map((p) => p.round))].map((r) => fault.filter((p) => p.round === r));
  };
  try {
    await inTurn(plan.filter((p) => p.phase === 'before'));
    const during = async (roundFn: (round: PlannedRequest[]) => Promise<void>): Promise<void> => {
      for (const round of rounds()) {
        if (ctx.stop()) return;
        await roundFn(round);
        await sleep(PAUSE_MS);
      }
    };
    const i = e.injection;
    switch (i.layer) {
      case 'app':
      case 'db':
      case 'file':
        await during(async (round) => void (await Promise.all(round.map(send))));
        break;
      case 'lock':
        await during(async (round) => {
          const lock = await holdProductRow(pgAdminConnectionConfig(ctx.cfg), LOCKED_PRODUCT);
          const release = ctx.cleanup.push(`row lock on product ${LOCKED_PRODUCT}`, () => lock.release());
          const answers = round.map(send);
          // The wait starts when the UPDATE reaches the row, some ms into the request: hold from then.
          const start = Date.now();
          while ((await lock.waiters()) === 0 && Date.now() - start < SEE_WAITER_MS) await sleep(1);
          await sleep(i.holdMs);
          await release();
          await Promise.all(answers);
        });
        break;
      case 'event-loop': {
        // Upstream connections opened and read by the app while traced: the kernel records when
        // data arrived only on sockets it has seen.
        await Promise.all(Array.from({ length: i.queued + 2 }, () => sendUnplanned(ctx.baseUrl, '/healthz?delay_ms=30', agent)));
        await during(async (round) => {
          const [blocker, ...queued] = round;
          const first = send(blocker as PlannedRequest);
          await sleep(i.afterMs);
          await Promise.all([first, ...queued.map(send)]);
        });
        break;
      }
      case 'disk': {
        let undo: () => void;
        if (ctx.method.disk === 'preload') {
          const delay = ctx.fsyncDelay;
          if (!delay) throw new Error('PostgreSQL runs without the fsync delay preloaded');
          // One write at N IOPS takes 1000/N ms: each flush waits that long.
          delay.set(1000 / i.writeIops);
          undo = () => delay.set(0);
        } else {
          if (typeof ctx.facts.ioController === 'string' || typeof ctx.facts.pgDevice !== 'string') throw new Error('no io throttling here');
          undo = throttleWrites(ctx.facts.ioController, `${NETNS_PREFIX}${process.pid}`, ctx.facts.pgDevice, i.writeIops, [ctx.pgPid, ...childPids(ctx.pgPid)]);
        }
        const unthrottle = ctx.cleanup.push(`slow disk for PostgreSQL (${ctx.method.disk ?? 'cgroup'})`, undo);
        try {
          await during(async (round) => void (await Promise.all(round.map(send))));
        } finally {
          await unthrottle();
        }
        break;
      }
      case 'cpu': {
        const cpu = ctx.facts.cpus > 1 ? 1 : 0;
        const unpin = ctx.cleanup.push(`app thread ${ctx.appPid} pinned to CPU ${cpu}`, pinThread(ctx.appPid, cpu));
        const competitor = await startCompetitor(cpu, ctx.helperSeconds);
        const stopCompetitor = ctx.cleanup.push(`CPU competitor ${competitor.pid}`, () => competitor.stop());
        try {
          await during(async (round) => {
            for (const r of round) {
              const before = threadSchedstat(ctx.appPid);
              const answer = send(r);
              const start = Date.now();
              while (threadSchedstat(ctx.appPid).onCpuNs - before.onCpuNs < BUSY_NS && Date.now() - start < SEE_BUSY_MS) await sleep(2);
              await competitor.spin(i.spinMs);
              const s = await answer;
              const kernelMs = (threadSchedstat(ctx.appPid).runDelayNs - before.runDelayNs) / 1e6;
              sent[sent.indexOf(s)] = { ...s, kernelMs };
              notes.push(`${r.id.slice(0, 8)}: the kernel's schedstat says the app thread waited ${kernelMs.toFixed(1)} ms in the run queue during the request (${i.spinMs} ms of it behind the competitor)`);
            }
          });
        } finally {
          await stopCompetitor();
          await unpin();
        }
        break;
      }
      case 'net-delay':
      case 'net-loss': {
        if (!ctx.link || !ctx.method.link) throw new Error('no network link for a network fault');
        const fault = await applyLinkFault(ctx.link, ctx.cfg.pgPort, i.layer === 'net-delay' ? { kind: 'delay', ms: i.delayMs } : { kind: 'loss' }, ctx.method.link, ctx.helperSeconds);
        let report: Awaited<ReturnType<typeof fault.stop>> | null = null;
        const stopFault = ctx.cleanup.push(`${i.layer} on ${ctx.link.netns}`, async () => {
          report = await fault.stop();
        });
        try {
          await during(async (round) => inTurn(round));
        } finally {
          await stopFault();
        }
        const r = report as Awaited<ReturnType<typeof fault.stop>> | null;
        if (r?.dropped != null && i.layer === 'net-loss') notes.push(`nfq-fault dropped ${r.dropped} segment(s) once each`);
        if (r?.delayed != null && i.layer === 'net-delay') notes.push(`nfq-fault held ${r.delayed} packet(s) ${i.delayMs} ms each`);
        break;
      }
      case 'pool':
        await during(async (round) => {
          await Promise.all(
            round.map(async (r) => {
              await sleep(r.offsetMs);
              await send(r);
            }),
          );
        });
        break;
    }
    await inTurn(plan.filter((p) => p.phase === 'after'));
  } finally {
    agent.destroy();
  }
  return { sent, faultNotes: notes };
}
