import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventKind } from './event-types.ts';
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
});
