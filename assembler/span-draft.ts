/**
 * Spans under construction, and the one pass that turns a draft tree into a valid read-only
 * trace: durations made non-negative, children clamped into their parents, the root widened
 * to cover everything, ids assigned from tree paths. Every repair leaves a warning on the span.
 */
import type { Span, SpanLog, SpanTier, TagValue, Trace } from './span.ts';
import { spanIdFor } from './span-id.ts';

export interface SpanDraft {
  readonly name: string;
  readonly tier: SpanTier;
  startNs: bigint;
  endNs: bigint;
  readonly tags: Record<string, TagValue>;
  readonly logs: SpanLog[];
  readonly warnings: string[];
  readonly children: SpanDraft[];
}

export interface DraftExtras {
  readonly tags?: Readonly<Record<string, TagValue>>;
  readonly logs?: readonly SpanLog[];
  readonly warnings?: readonly string[];
  readonly children?: readonly SpanDraft[];
}

/** A new draft span (copies the extras it is given). */
export function draftSpan(name: string, tier: SpanTier, startNs: bigint, endNs: bigint, extras: DraftExtras = {}): SpanDraft {
  return {
    name,
    tier,
    startNs,
    endNs,
    tags: { ...extras.tags },
    logs: [...(extras.logs ?? [])],
    warnings: [...(extras.warnings ?? [])],
    children: [...(extras.children ?? [])],
  };
}

const usText = (ns: bigint): string => `${(Number(ns) / 1000).toFixed(1)}µs`;

function byStart(a: SpanDraft, b: SpanDraft): number {
  if (a.startNs !== b.startNs) return a.startNs < b.startNs ? -1 : 1;
  if (a.endNs !== b.endNs) return a.endNs > b.endNs ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function repairNegative(d: SpanDraft): void {
  if (d.endNs < d.startNs) {
    d.warnings.push(`negative duration (${usText(d.endNs - d.startNs)}) repaired: end set to start`);
    d.endNs = d.startNs;
  }
}

/** Smallest start and largest end over a draft and all its descendants. */
function extentOf(d: SpanDraft): { start: bigint; end: bigint } {
  let start = d.startNs;
  let end = d.endNs;
  for (const c of d.children) {
    const e = extentOf(c);
    if (e.start < start) start = e.start;
    if (e.end > end) end = e.end;
  }
  return { start, end };
}

function clampInto(child: SpanDraft, parent: SpanDraft): void {
  if (child.startNs >= parent.startNs && child.endNs <= parent.endNs) return;
  const before = parent.startNs - child.startNs;
  const after = child.endNs - parent.endNs;
  const off = before > after ? before : after;
  child.warnings.push(`clamped into parent '${parent.name}' (outside it by ${usText(off)})`);
  child.startNs = child.startNs < parent.startNs ? parent.startNs : child.startNs > parent.endNs ? parent.endNs : child.startNs;
  child.endNs = child.endNs > parent.endNs ? parent.endNs : child.endNs < child.startNs ? child.startNs : child.endNs;
}

function cloneDraft(d: SpanDraft): SpanDraft {
  return { ...d, tags: { ...d.tags }, logs: [...d.logs], warnings: [...d.warnings], children: d.children.map(cloneDraft) };
}

/**
 * Turns a draft tree into a trace whose spans satisfy the invariants (one root; every child
 * inside its parent; no negative duration). Does not modify `root`.
 */
export function finalizeTrace(traceId: string, rootDraft: SpanDraft): Trace {
  const root = cloneDraft(rootDraft);
  const fixNegatives = (d: SpanDraft): void => {
    repairNegative(d);
    d.children.forEach(fixNegatives);
  };
  fixNegatives(root);
  const ext = extentOf(root);
  if (ext.start < root.startNs || ext.end > root.endNs) {
    root.warnings.push(`root widened by ${usText(root.startNs - ext.start + (ext.end - root.endNs))} to cover its descendants`);
    root.startNs = ext.start < root.startNs ? ext.start : root.startNs;
    root.endNs = ext.end > root.endNs ? ext.end : root.endNs;
  }

  const spans: Span[] = [];
  const visit = (d: SpanDraft, parentId: string | null, path: string): void => {
    const id = spanIdFor(traceId, path);
    spans.push({
      id,
      parentId,
      name: d.name,
      tier: d.tier,
      startNs: d.startNs,
      endNs: d.endNs,
      tags: d.tags,
      logs: [...d.logs].sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0)),
      warnings: d.warnings,
    });
    for (const c of d.children) clampInto(c, d);
    const seen = new Map<string, number>();
    for (const c of [...d.children].sort(byStart)) {
      const n = seen.get(c.name) ?? 0;
      seen.set(c.name, n + 1);
      visit(c, id, `${path}/${c.name}${n > 0 ? `#${n}` : ''}`);
    }
  };
  visit(root, null, root.name);
  return { traceId, spans };
}
