/**
 * Spans under construction, and the one pass that turns a draft tree into a valid read-only
 * trace: durations made non-negative, children clamped into their parents (a child marked to
 * outlive its parent only starts inside it), the root widened to cover everything else, ids
 * assigned from tree paths. Every repair leaves a warning on the span.
 */
import type { Span, SpanLog, SpanTier, TagValue, Trace } from './span.ts';
import { sortStably } from './sort-stably.ts';
import { extendLane, LANE1, LANE2, SPAN_ID_SEED, spanIdOfLanes } from './span-id.ts';

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
export function draftSpan(name: string, tier: SpanTier, startNs: bigint, endNs: bigint, extras?: DraftExtras): SpanDraft {
  return {
    name,
    tier,
    startNs,
    endNs,
    tags: extras?.tags === undefined ? {} : { ...extras.tags },
    logs: extras?.logs === undefined ? [] : extras.logs.slice(),
    warnings: extras?.warnings === undefined ? [] : extras.warnings.slice(),
    children: extras?.children === undefined ? [] : extras.children.slice(),
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

/** Widens `ext` to the smallest start and largest end over `d` and its descendants (but those that may outlive it). */
function widenToExtent(d: SpanDraft, ext: { start: bigint; end: bigint }): void {
  if (d.startNs < ext.start) ext.start = d.startNs;
  if (d.endNs > ext.end) ext.end = d.endNs;
  for (const c of d.children) {
    if (c.outlivesParent === true) {
      if (c.startNs < ext.start) ext.start = c.startNs;
      continue;
    }
    widenToExtent(c, ext);
  }
}

function fixNegatives(d: SpanDraft): void {
  repairNegative(d);
  for (const c of d.children) fixNegatives(c);
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

/*
 * A finished trace waits in the start-order buffer (in-start-order.ts) while later ones are
 * built, so nearly every one outlives a young-generation collection. Made by object or array
 * literals, V8 would then pretenure those literals (allocate them in the old generation), where
 * they die and hold the young objects they point to until a full collection. Instances of a
 * class and a sliced array are not pretenured.
 */
class FinishedSpan implements Span {
  constructor(
    readonly id: string,
    readonly parentId: string | null,
    readonly name: string,
    readonly tier: SpanTier,
    readonly startNs: bigint,
    readonly endNs: bigint,
    readonly tags: Record<string, TagValue>,
    readonly logs: readonly SpanLog[],
    readonly warnings: readonly string[],
  ) {}
}

class FinishedTrace implements Trace {
  constructor(
    readonly traceId: string,
    readonly spans: readonly Span[],
  ) {}
}

const EMPTY_LOGS: readonly SpanLog[] = Object.freeze([]);
/** Shared by the spans without warnings: a trace waits its turn with a few hundred others, kept small. */
const NO_WARNINGS: readonly string[] = Object.freeze([]);

const byLogTime = (a: SpanLog, b: SpanLog): number => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0);

/**
 * `finalizeTrace` for a draft tree nobody else holds (the assembler's own): repairs it in place
 * instead of copying it first. Same output.
 */
export function finalizeOwnedTrace(traceId: string, root: SpanDraft): Trace {
  fixNegatives(root);
  const ext = { start: root.startNs, end: root.endNs };
  widenToExtent(root, ext);
  if (ext.start < root.startNs || ext.end > root.endNs) {
    root.warnings.push(`root widened by ${usText(root.startNs - ext.start + (ext.end - root.endNs))} to cover its descendants`);
    root.startNs = ext.start < root.startNs ? ext.start : root.startNs;
    root.endNs = ext.end > root.endNs ? ext.end : root.endNs;
  }
  const spans: Span[] = [];
  const seed = `${traceId}\0${root.name}`;
  visit(spans, root, null, extendLane(SPAN_ID_SEED.h1, seed, LANE1), extendLane(SPAN_ID_SEED.h2, seed, LANE2));
  return new FinishedTrace(traceId, spans.slice());
}

/** How many of `sorted[0..i)` are named like `sorted[i]`: its index among same-named siblings. */
function sameNameBefore(sorted: readonly SpanDraft[], i: number, seen: Map<string, number> | undefined): number {
  const name = sorted[i]!.name;
  if (seen !== undefined) {
    const n = seen.get(name) ?? 0;
    seen.set(name, n + 1);
    return n;
  }
  let n = 0;
  for (let j = 0; j < i; j++) if (sorted[j]!.name === name) n++;
  return n;
}

/**
 * Appends `d` and its subtree to `spans`, depth-first, clamping children into their parents.
 * The draft's own lists become the span's, sorted in place. Ids hash `traceId \0 path`; each child's path extends its parent's, so the hash does too.
 */
function visit(spans: Span[], d: SpanDraft, parentId: string | null, h1: number, h2: number): void {
  const id = spanIdOfLanes(h1, h2);
  const logs = d.logs.length > 1 ? sortStably(d.logs, byLogTime) : d.logs.length === 1 ? d.logs : EMPTY_LOGS;
  spans.push(new FinishedSpan(id, parentId, d.name, d.tier, d.startNs, d.endNs, d.tags, logs, d.warnings.length === 0 ? NO_WARNINGS : d.warnings));
  const children = d.children;
  if (children.length === 0) return;
  for (const c of children) clampInto(c, d);
  if (children.length === 1) {
    const only = children[0]!;
    visit(spans, only, id, extendLane(extendLane(h1, '/', LANE1), only.name, LANE1), extendLane(extendLane(h2, '/', LANE2), only.name, LANE2));
    return;
  }
  const sorted = sortStably(children, byStart);
  const seen = sorted.length > 16 ? new Map<string, number>() : undefined;
  for (let i = 0; i < sorted.length; i++) {
    const c = sorted[i]!;
    const n = sameNameBefore(sorted, i, seen);
    // The path piece is `/name`, and `#n` for the nth repeat of a name: hashed piece by piece.
    let c1 = extendLane(extendLane(h1, '/', LANE1), c.name, LANE1);
    let c2 = extendLane(extendLane(h2, '/', LANE2), c.name, LANE2);
    if (n > 0) {
      const repeat = `#${n}`;
      c1 = extendLane(c1, repeat, LANE1);
      c2 = extendLane(c2, repeat, LANE2);
    }
    visit(spans, c, id, c1, c2);
  }
}
