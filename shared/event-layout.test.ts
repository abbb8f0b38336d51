import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConnSide, EVENT_SCHEMA_VERSION, EventKind, KeepReason, OffcpuState, PgPhase } from './event-types.ts';
import { EVENT_LAYOUT, KIND_STRUCT } from './event-layout.ts';

const probesDir = resolve(import.meta.dirname, '../probes');

describe('event layout', () => {
  it('matches the sizes and offsets the C side prints (make -C probes layout)', () => {
    const out = execFileSync('make', ['-s', '-C', probesDir, 'layout'], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual(EVENT_LAYOUT);
  });

  it('maps every kind in event-types.ts to a struct', () => {
    for (const kind of Object.values(EventKind)) {
      expect(EVENT_LAYOUT[KIND_STRUCT[kind]], `kind ${kind}`).toBeDefined();
    }
  });

  const header = readFileSync(resolve(probesDir, 'events.h'), 'utf8');

  /** NAME → value of a C enum in events.h. */
  function cEnum(name: string): Record<string, number> {
    const body = new RegExp(`enum ${name} \\{([^}]*)\\}`).exec(header)?.[1];
    if (body === undefined) throw new Error(`enum ${name} not in events.h`);
    const out: Record<string, number> = {};
    for (const m of body.matchAll(/^\s*([A-Z][A-Z0-9_]*)\s*=\s*(\d+)/gm)) out[m[1] as string] = Number(m[2]);
    return out;
  }
  /** The TS constant's names as C names: RequestStart → PREFIX_REQUEST_START. */
  function asC(prefix: string, ts: Readonly<Record<string, number>>): Record<string, number> {
    return Object.fromEntries(Object.entries(ts).map(([k, v]) => [prefix + k.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase(), v]));
  }

  it('has the same kinds, keep reasons, PostgreSQL phases, connection sides and off-CPU states as the C enums, value for value', () => {
    expect(asC('EV_', EventKind)).toEqual(cEnum('event_kind'));
    expect(asC('KEEP_', KeepReason)).toEqual(cEnum('keep_reason'));
    expect(asC('PG_', PgPhase)).toEqual(cEnum('pg_phase'));
    expect(asC('CONN_', ConnSide)).toEqual(cEnum('conn_side'));
    expect(asC('OFFCPU_', OffcpuState)).toEqual(cEnum('offcpu_state'));
  });

  it('reads the schema version the C side writes', () => {
    expect(Number(/#define REQTRACE_SCHEMA_VERSION (\d+)/.exec(header)?.[1])).toBe(EVENT_SCHEMA_VERSION);
  });
});
