/**
 * The tcp family: in a network namespace of its own, a process echoes messages to itself over
 * loopback on a port it listens on, while tcp-drop-fixture.bpf.c drops some data segments;
 * every retransmission the namespace counts comes out as EV_TCP_RETRANSMIT with the
 * connection's 4-tuple. Real BPF:
 * fails, never skips, where BPF cannot load.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventKind, type EventOf } from '../shared/event-types.ts';
import { bpfObjectIds, buildProbes, PROBES_DIR, startLoader, type LoaderExit } from '../test/run-loader.ts';

const PORT = 24150; // DROP_PORT in tcp-drop-fixture.bpf.c
const NETNS = `reqtrace-rtx-${process.pid}`;
const MESSAGES = 30;

/** Listens, waits for "go" on stdin, then sends MESSAGES 200-byte messages and awaits each echo. */
const ECHO_SCRIPT = `
const net = require('node:net');
const server = net.createServer((s) => s.pipe(s));
server.listen(${PORT}, '127.0.0.1', () => {
  console.log('listening');
  process.stdin.once('data', () => {
    const c = net.connect(${PORT}, '127.0.0.1', async () => {
      const msg = Buffer.alloc(200, 120);
      for (let i = 0; i < ${MESSAGES}; i++) {
        await new Promise((res) => { let got = 0; const on = (d) => { got += d.length; if (got >= 200) { c.off('data', on); res(); } }; c.on('data', on); c.write(msg); });
      }
      console.log('done ' + c.localPort);
      c.end(); server.close(); process.exit(0);
    });
  });
});
setTimeout(() => process.exit(3), 45000);
`;

let dir: string;
let echo: ChildProcess | null = null;
let exit: LoaderExit;
let clientPort = 0;
/** The namespace's own count of retransmitted segments (nstat). */
let retransSegs = -1;
let hooks: Record<string, string> = {};
let links: number[] = [];

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(async () => {
  buildProbes();
  dir = mkdtempSync(join(tmpdir(), 'reqtrace-tcp-'));
  const obj = join(dir, 'tcp-drop-fixture.bpf.o');
  execFileSync('clang', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c',
    join(PROBES_DIR, 'tcp-drop-fixture.bpf.c'), '-o', obj]);
  ip('netns', 'add', NETNS);
  ip('-n', NETNS, 'link', 'set', 'lo', 'up');
  execFileSync('ip', ['netns', 'exec', NETNS, 'tc', 'qdisc', 'add', 'dev', 'lo', 'clsact']);
  execFileSync('ip', ['netns', 'exec', NETNS, 'tc', 'filter', 'add', 'dev', 'lo', 'ingress', 'bpf', 'direct-action', 'obj', obj, 'sec', 'tc']);

  echo = spawn('ip', ['netns', 'exec', NETNS, process.execPath, '-e', ECHO_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: echo.stdout! })[Symbol.asyncIterator]();
  const nextLine = async (): Promise<string> => {
    const r = await lines.next();
    if (r.done) throw new Error(`echo process ended (${echo!.exitCode})`);
    return r.value;
  };
  expect(await nextLine()).toBe('listening');

  // `ip netns exec` execs node, so this pid is the echo process itself.
  const loader = await startLoader(['--app-pid', String(echo.pid), '--families', 'tcp', '-d', '60']);
  hooks = loader.hooks;
  links = loader.linkIds;
  echo.stdin!.write('go\n');
  const done = await nextLine();
  clientPort = Number(/^done (\d+)$/.exec(done)?.[1]);
  // The namespace's count is read while the loader is still attached, once no socket there can
  // send again (a FIN or an echo still unacknowledged after the process exits is resent by the
  // kernel): both then count the same retransmissions.
  await socketsQuiet(10_000);
  const nstat = execFileSync('ip', ['netns', 'exec', NETNS, 'nstat', '-az', 'TcpRetransSegs'], { encoding: 'utf8' });
  retransSegs = Number(/TcpRetransSegs\s+(\d+)/.exec(nstat)?.[1]);
  exit = await loader.stop();
}, 90_000);

/** Waits until no TCP socket in the namespace has anything left to send or acknowledge. */
async function socketsQuiet(ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  const busy = ['established', 'syn-sent', 'syn-recv', 'fin-wait-1', 'closing', 'last-ack', 'close-wait'].flatMap((st) => ['state', st]);
  for (;;) {
    const out = execFileSync('ip', ['netns', 'exec', NETNS, 'ss', '-Htan', ...busy], { encoding: 'utf8' });
    if (out.trim() === '') return;
    if (Date.now() > deadline) throw new Error(`sockets still busy in ${NETNS} after ${ms} ms:\n${out}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

afterAll(() => {
  if (echo && echo.exitCode === null) echo.kill('SIGKILL');
  try {
    ip('netns', 'del', NETNS);
  } catch {
    // never created
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('tcp family', () => {
  it('attaches with the hook kind detection chose and finds the listening port', () => {
    expect(['tp_btf', 'tracepoint']).toContain(hooks.tcp);
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stderr).toMatch(new RegExp(`tcp: lab_ports=${PORT}\\b`));
  });

  it('reports the retransmissions on the connection with its 4-tuple', () => {
    const rtx = exit.events.filter((e): e is EventOf<typeof EventKind.TcpRetransmit> => e.kind === EventKind.TcpRetransmit);
    expect(rtx.length).toBeGreaterThan(0);
    // Every retransmission in the namespace was on this one connection.
    expect(rtx.length).toBe(retransSegs);
    const client = { localAddress: '127.0.0.1', localPort: clientPort, remoteAddress: '127.0.0.1', remotePort: PORT, family: 'ipv4' };
    // A dropped client segment also carries the ACK of an echo, so the server side may
    // retransmit too: the same connection seen from its other end.
    const server = { ...client, localPort: PORT, remotePort: clientPort };
    expect(rtx.some((e) => e.tuple.localPort === clientPort)).toBe(true);
    for (const e of rtx) {
      expect([client, server]).toContainEqual(e.tuple);
      expect(e.requestId).toBe('');
      expect(e.fd).toBe(-1);
    }
  });

  it('leaves no BPF link behind', () => {
    const now = bpfObjectIds('link');
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((id) => now.has(id))).toEqual([]);
  });
});
