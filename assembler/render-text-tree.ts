/**
 * A trace as an indented text tree (the shape of `lab show`):
 *
 *   Request 4bf9…4736: GET /api/users (total: 45.2ms)
 *   ├─ nginx processing:          2.1ms   4.6%
 *   ├─ app processing:           42.5ms  94.0%
 *   │  ├─ DB query 1 (SELECT):   15.2ms  33.6%
 *   …
 * with kernel findings in brackets and every repair warning listed under the tree.
 */
import { terminalSafe } from '../tracer/terminal-safe.ts';
import { formatMs, formatShare } from './format-duration.ts';
import { childrenById, rootOf, type Span, type Trace } from './span.ts';

export interface TextTreeOptions {
  /** Deepest level printed (root = 0); deeper spans are summarized by a count. */
  readonly maxDepth?: number;
  /** List span warnings under the tree (default true). */
  readonly warnings?: boolean;
}

/** Short bracketed notes from a span's kernel findings and flags. */
export function spanNotes(s: Span): string[] {
  const notes: string[] = [];
  const t = s.tags;
  if (typeof t['kernel.socket_buffer_wait_ns'] === 'number' && t['kernel.socket_buffer_wait_ns'] >= 50_000) {
    notes.push(`socket buffer wait ${formatMs(BigInt(t['kernel.socket_buffer_wait_ns']))}`);
  }
  if (t['net.connection.new'] === true) {
    const parts = [
      typeof t['net.tcp.handshake_ns'] === 'number' ? `handshake ${formatMs(BigInt(t['net.tcp.handshake_ns']))}` : '',
      typeof t['net.tcp.accept_queue_ns'] === 'number' ? `accept queue ${formatMs(BigInt(t['net.tcp.accept_queue_ns']))}` : '',
      typeof t['net.tcp.first_byte_wait_ns'] === 'number' && t['net.tcp.first_byte_wait_ns'] > 0 ? `first byte after ${formatMs(BigInt(t['net.tcp.first_byte_wait_ns']))}` : '',
      Number(t['net.tcp.synack_retransmits'] ?? 0) > 0 ? `${t['net.tcp.synack_retransmits']} SYN-ACK retransmit(s)` : '',
    ].filter((x) => x !== '');
    notes.push(`new connection${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`);
  }
  if (typeof t['kernel.reader_runq_delay_ns'] === 'number' && t['kernel.reader_runq_delay_ns'] >= 50_000) {
    notes.push(`its reader waited for a CPU ${formatMs(BigInt(t['kernel.reader_runq_delay_ns']))} of it${joinedBy(t, 'kernel.reader_runq_delay')}`);
  }
  if (typeof t['net.tcp.accept_queue_wait_ns'] === 'number' && t['net.tcp.accept_queue_wait_ns'] >= 50_000) {
    notes.push(`accept queue wait ${formatMs(BigInt(t['net.tcp.accept_queue_wait_ns']))}`);
  }
  if (typeof t['kernel.runq_delay_ns'] === 'number') notes.push(`runqueue delay ${formatMs(BigInt(t['kernel.runq_delay_ns']))}${joinedBy(t, 'kernel.runq_delay')}`);
  const waits: [string, string][] = [
    ['kernel.on_cpu_ns', 'on CPU'],
    ['kernel.futex_wait_ns', 'futex wait'],
    ['kernel.io_wait_ns', 'I/O wait'],
    ['kernel.block_io_ns', 'block I/O'],
    ['kernel.major_fault_ns', 'major faults'],
    ['kernel.slow_syscall_ns', 'slow syscalls'],
    ['kernel.direct_reclaim_ns', 'direct reclaim'],
  ];
  const waitNotes = waits.filter(([k]) => typeof t[k] === 'number' && (t[k] as number) >= 50_000).map(([k, label]) => `${label} ${formatMs(BigInt(t[k] as number))}`);
  if (waitNotes.length > 0) notes.push(`${waitNotes.join(', ')}${joinedBy(t, 'kernel.waits')}`);
  for (const [prefix, what] of [['net.xmit', 'sent'], ['net.xmit.query', 'query sent'], ['net.xmit.result', 'result sent']] as const) {
    const q = t[`${prefix}.queue_ns`];
    if (typeof q === 'number' && q >= 50_000) notes.push(`${what}: ${t[`${prefix}.packets`]} packet(s), ${formatMs(BigInt(q))} in the device queue`);
  }
  if (typeof t['kernel.tcp_retransmits'] === 'number') notes.push(`${t['kernel.tcp_retransmits']} TCP retransmit(s)`);
  if (typeof t['db.response.returned_rows'] === 'number') notes.push(`${t['db.response.returned_rows']} row(s)`);
  if (typeof t['db.client.connection.pool.max'] === 'number') {
    const queued = Number(t['db.client.connection.pool.pending_requests'] ?? 0);
    notes.push(`pool ${t['db.client.connection.pool.busy']}/${t['db.client.connection.pool.max']} busy${queued > 0 ? `, ${queued} queued ahead` : ''}${t['db.client.connection.new'] === true ? ', new connection' : ''}`);
  }
  if (t['http.request.aborted'] === true) notes.push('aborted by the client');
  if (typeof t['app.after_client_abort_ns'] === 'number') notes.push(`went on ${formatMs(BigInt(t['app.after_client_abort_ns']))} after the abort`);
  if (t.after_client_abort === true) notes.push('after client abort');
  if (t.orphan === true) notes.push('orphan');
  if (t.estimated === true) notes.push('estimated');
  if (t['sampling.kept'] === 'slow') notes.push(`not sampled, kept: slower than ${t['sampling.keep_threshold_ms']} ms`);
  else if (t['sampling.kept'] === 'error') notes.push('not sampled, kept: 5xx');
  else if (t['trace.source'] === 'nginx access log') notes.push("not sampled: from nginx's log");
  else if (t['sampling.sampled'] === false) notes.push('not sampled: app probes only');
  if (s.warnings.length > 0) notes.push(`! ${s.warnings.length} warning(s)`);
  return notes;
}

/** How a thread+time signal was joined, when it was not exact: ` (thread+time 0.33)`. */
function joinedBy(t: Span['tags'], signal: string): string {
  const method = t[`${signal}.correlation`];
  return method === 'thread+time' ? ` (${method} ${t[`${signal}.confidence`]})` : '';
}

/** Renders one trace as a text tree. */
export function renderTextTree(trace: Trace, options: TextTreeOptions = {}): string {
  const root = rootOf(trace);
  const total = root.endNs - root.startNs;
  const kids = childrenById(trace);
  const maxDepth = options.maxDepth ?? Number.POSITIVE_INFINITY;
  const rows: { prefix: string; span: Span }[] = [];
  const walk = (s: Span, prefix: string, depth: number): void => {
    const list = kids.get(s.id) ?? [];
    list.forEach((c, i) => {
      const last = i === list.length - 1;
      rows.push({ prefix: prefix + (last ? '└─ ' : '├─ '), span: c });
      if (depth + 1 < maxDepth) walk(c, prefix + (last ? '   ' : '│  '), depth + 1);
    });
  };
  walk(root, '', 0);

  const label = (r: { prefix: string; span: Span }): string => `${r.prefix}${r.span.name}:`;
  const width = Math.max(0, ...rows.map((r) => [...label(r)].length)) + 1;
  const durs = rows.map((r) => formatMs(r.span.endNs - r.span.startNs));
  const durWidth = Math.max(0, ...durs.map((d) => d.length));
  const lines = [`Request ${trace.traceId}: ${root.name} (total: ${formatMs(total)})`];
  const rootNotes = spanNotes(root);
  if (rootNotes.length > 0) lines[0] += `  [${rootNotes.join(', ')}]`;
  rows.forEach((r, i) => {
    const l = label(r);
    const notes = spanNotes(r.span);
    const share = formatShare(r.span.endNs - r.span.startNs, total).padStart(6);
    lines.push(`${l}${' '.repeat(width - [...l].length)}${(durs[i] as string).padStart(durWidth)} ${share}${notes.length > 0 ? `  [${notes.join(', ')}]` : ''}`);
  });
  if (options.warnings ?? true) {
    const warned = trace.spans.filter((s) => s.warnings.length > 0);
    if (warned.length > 0) {
      lines.push('warnings:');
      for (const s of warned) for (const w of s.warnings) lines.push(`  ${s.name}: ${w}`);
    }
  }
  return terminalSafe(lines.join('\n') + '\n', true);
}
