/** Checking a capture's traces against what it recorded beside them: the client, nginx, pg_stat_statements, ss. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Capture, PgStatStatementsSnapshot } from '../shared/capture-types.ts';
import { EventKind } from '../shared/event-types.ts';
import { CAPTURE_FILES } from '../tracer/read-capture.ts';
import { tableOfEvents } from '../tracer/table-of-events.ts';
import { stderrLine } from './load-traces.ts';
import { parseSs, type SsSocket } from './parse-ss.ts';
import type { Trace } from './span.ts';
import { validateTraces, type CheckResult } from './validate-trace.ts';

const SOCKET_IO: ReadonlySet<number> = new Set([EventKind.SockRecv, EventKind.SockSend]);

async function readPgss(dir: string): Promise<PgStatStatementsSnapshot | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, CAPTURE_FILES.pgStatStatements), 'utf8');
  } catch {
    stderrLine(`no ${CAPTURE_FILES.pgStatStatements} in ${dir}: skipping the pg_stat_statements check`);
    return undefined;
  }
  try {
    return JSON.parse(text) as PgStatStatementsSnapshot;
  } catch (err) {
    stderrLine(`warning: ${CAPTURE_FILES.pgStatStatements} is not JSON (${(err as Error).message}): skipping that check`);
    return undefined;
  }
}

async function readSs(dir: string): Promise<SsSocket[] | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, CAPTURE_FILES.ss), 'utf8');
  } catch {
    stderrLine(`no ${CAPTURE_FILES.ss} in ${dir}: skipping the RTT check`);
    return undefined;
  }
  const parsed = parseSs(text);
  for (const w of parsed.warnings) stderrLine(`warning: ${w}`);
  return [...parsed.sockets];
}

/** The cross-checks of a capture's traces (read once), with its pg_stat_statements and ss snapshots when it has them. */
export async function validateCapture(dir: string, capture: Capture, traces: Iterable<Trace>): Promise<CheckResult[]> {
  return validateTraces({
    traces,
    client: capture.client,
    nginx: capture.nginx,
    pgStatStatements: await readPgss(dir),
    // The RTT check reads socket I/O alone: only those rows become events.
    events: tableOfEvents(capture.events).eventsOfKinds(SOCKET_IO),
    ss: await readSs(dir),
    rttPorts: [capture.meta.ports.app, capture.meta.ports.postgres],
  });
}
