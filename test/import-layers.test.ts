/**
 * Imports run downward only. Each top-level folder is a layer; a module may import its own layer
 * and the layers below it, never one above:
 *
 *   shared ← lab ← tracer, probes ← assembler ← analysis ← metrics ← bench ← cli ← test
 *
 * - shared: facts every layer reads (the SQL comment format, routes, modes, mix names).
 * - probes sits with the tracer: its TypeScript drives the loader and reads its records, as the
 *   tracer does; nothing below the tracer needs it.
 * - bench sits under cli: `lab bench` runs it, so bench reaches the recording library, not the CLI.
 * - test is the harness (lab, CLI runner, loader, requireBuilt) that the tests of every layer
 *   use; only tests import it.
 *
 * End-to-end tests (`*.e2e.test.ts`) drive the whole stack and may import any layer. Unit tests
 * follow the rule of the layer they sit in.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');

export const LAYERS: readonly (readonly string[])[] = [['shared'], ['lab'], ['tracer', 'probes'], ['assembler'], ['analysis'], ['metrics'], ['bench'], ['cli'], ['test']];

/**
 * Imports that still run upward, each with where it is to go. Every entry must still exist, so
 * the list shrinks as they are mended.
 */
const PENDING: Readonly<Record<string, string>> = {
};

const SKIP = new Set(['node_modules', 'build', '.lab', '.git', 'fixtures-out']);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name) || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mts|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

/** The relative imports of a module's text: the specifiers as written. Pure. */
export function relativeImports(text: string): string[] {
  return [...text.matchAll(IMPORT)].map((m) => (m[1] ?? m[2]) as string);
}

/** The layer index of a repository path, or null for files outside the layers (root configs). Pure. */
export function layerOf(path: string): number | null {
  const top = path.split('/')[0] as string;
  const i = LAYERS.findIndex((l) => l.includes(top));
  return i < 0 ? null : i;
}

/** `from -> to` for every import of `from` that reaches a higher layer. Pure. */
export function upwardImports(from: string, specifiers: readonly string[]): string[] {
  if (from.endsWith('.e2e.test.ts')) return [];
  const own = layerOf(from);
  if (own === null) return [];
  const isTest = /\.test\.ts$/.test(from);
  return specifiers
    .map((s) => relative(ROOT, join(ROOT, dirname(from), s)).split(sep).join('/'))
    .filter((to) => {
      const layer = layerOf(to);
      if (layer === null || layer <= own) return false;
      return !(isTest && to.startsWith('test/'));
    })
    .map((to) => `${from} -> ${to}`);
}

describe('upwardImports', () => {
  it('allows the own layer and those below', () => {
    expect(upwardImports('tracer/read-capture.ts', ['./event-types.ts', '../lab/json-lines.ts', '../shared/routes.ts'])).toEqual([]);
  });

  it('names an import of a higher layer', () => {
    expect(upwardImports('lab/load/mixes.ts', ['../../cli/parse-args.ts'])).toEqual(['lab/load/mixes.ts -> cli/parse-args.ts']);
    expect(upwardImports('bench/bench-lab.ts', ['../cli/commands/trace.ts'])).toEqual(['bench/bench-lab.ts -> cli/commands/trace.ts']);
  });

  it('lets tests use the harness, and end-to-end tests anything', () => {
    expect(upwardImports('lab/faults/fsync-delay.test.ts', ['../../test/require-built.ts'])).toEqual([]);
    expect(upwardImports('lab/faults/fsync-delay.ts', ['../../test/require-built.ts'])).toEqual(['lab/faults/fsync-delay.ts -> test/require-built.ts']);
    expect(upwardImports('probes/sampling.e2e.test.ts', ['../assembler/build-span-tree.ts'])).toEqual([]);
  });

  it('reads static, re-exported and dynamic imports', () => {
    expect(relativeImports("import { a } from './a.ts';\nexport { b } from '../b.ts';\nimport type {\n  C,\n} from './c.ts';\nconst d = await import('./d.ts');\nimport pg from 'pg';")).toEqual([
      './a.ts',
      '../b.ts',
      './c.ts',
      './d.ts',
    ]);
  });
});

describe('the tree', () => {
  const upward = sourceFiles(ROOT).flatMap((f) => {
    const from = relative(ROOT, f).split(sep).join('/');
    return upwardImports(from, relativeImports(readFileSync(f, 'utf8')));
  });

  it('imports downward only', () => {
    expect(upward.filter((u) => !(u in PENDING))).toEqual([]);
  });

  it('still has every pending upward import (mended ones leave the list)', () => {
    expect(Object.keys(PENDING).filter((p) => !upward.includes(p))).toEqual([]);
  });
});
