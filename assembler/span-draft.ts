/**
 * Spans under construction, and the one pass that turns a draft tree into a valid read-only
 * trace: durations made non-negative, children clamped into their parents (a child marked to
 * outlive its parent only starts inside it), the root widened to cover everything else, ids
 * assigned from tree paths. Every repair leaves a warning on the span.
 */
import type { Span, SpanLog, SpanTier, TagValue, Trace } from './span.ts';
import { extendSpanIdState, SPAN_ID_SEED, spanIdOf, type SpanIdState } from './span-id.ts';

export interface SpanDraft {
  readonly name: string;
  readonly tier: SpanTier;
  startNs: bigint;
  endNs: bigint;
  readonly tags: Record<string, TagValue>;
  readonly logs: SpanLog[];
  readonly warnings: string[];
  readonly children: SpanDraft[];
  /**
   * The span may end after its parent: work that went on once the request was over for its
   * client (assembler/client-abort.ts). It is neither clamped to its parent's end nor widens it.
   */
  outlivesParent?: boolean;
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
  if (a.endNs !== b.endNs) return a.endNs < b.endNs ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function repairNegative(d: SpanDraft): void {
  if (d.endNs < d.startNs) {
    d.warnings.push(`negative duration (${usText(d.endNs - d.startNs)}) repaired: end set to start`);
    d.endNs = d.startNs;
  }
}

/** Smallest start and largest end over a draft and all its descendants (but those that may outlive it). */
function extentOf(d: SpanDraft): { start: bigint; end: bigint } {
  let start = d.startNs;
  let end = d.endNs;
  for (const c of d.children) {
    if (c.outlivesParent === true) {
      if (c.startNs < start) start = c.startNs;
      continue;
    }
    const e = extentOf(c);
    if (e.start < start) start = e.start;
    if (e.end > end) end = e.end;
  }
  return { start, end };
}

function clampInto(child: SpanDraft, parent: SpanDraft): void {
  if (child.startNs >= parent.startNs && (child.endNs <= parent.endNs || (child.outlivesParent === true && child.startNs <= parent.endNs))) return;
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
  return finalizeOwnedTrace(traceId, cloneDraft(rootDraft));
}

const EMPTY_LOGS: readonly SpanLog[] = Object.freeze([]);

const byLogTime = (a: SpanLog, b: SpanLog): number => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0);

/**
 * `finalizeTrace` for a draft tree nobody else holds (the assembler's own): repairs it in place
 * instead of copying it first. Same output.
 */
export function finalizeOwnedTrace(traceId: string, root: SpanDraft): Trace {
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
  // Ids hash `traceId \0 path`; each child's path extends its parent's, so the hash does too.
  const visit = (d: SpanDraft, parentId: string | null, state: SpanIdState): void => {
    const id = spanIdOf(state);
    spans.push({
      id,
      parentId,
      name: d.name,
      tier: d.tier,
      startNs: d.startNs,
      endNs: d.endNs,
      tags: d.tags,
      logs: d.logs.length > 1 ? [...d.logs].sort(byLogTime) : d.logs.length === 1 ? [...d.logs] : EMPTY_LOGS,
      warnings: d.warnings,
    });
    if (d.children.length === 0) return;
    for (const c of d.children) clampInto(c, d);
    if (d.children.length === 1) {
      const only = d.children[0] as SpanDraft;
      visit(only, id, extendSpanIdState(state, `/${only.name}`));
      return;
    }
    const seen = new Map<string, number>();
    for (const c of [...d.children].sort(byStart)) {
      const n = seen.get(c.name) ?? 0;
      seen.set(c.name, n + 1);
      visit(c, id, extendSpanIdState(state, `/${c.name}${n > 0 ? `#${n}` : ''}`));
    }
  };
  visit(root, null, extendSpanIdState(SPAN_ID_SEED, `${traceId}\0${root.name}`));
  return { traceId, spans };
}
