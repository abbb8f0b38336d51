/**
 * Command-line options of the bench scripts: `--name value` pairs of bounded numbers, with
 * defaults. Pure: argv in, values or a one-line error out.
 */

export interface NumberOption {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly default: number;
  /** Whole numbers only. */
  readonly integer?: boolean;
}

export type BenchArgs<N extends string> = { readonly ok: true; readonly values: Readonly<Record<N, number>> } | { readonly ok: false; readonly error: string };

/** Parses `--name value` or `--name=value` for each option; anything else is an error. */
export function parseBenchArgs<N extends string>(argv: readonly string[], options: readonly (NumberOption & { readonly name: N })[]): BenchArgs<N> {
  const values = Object.fromEntries(options.map((o) => [o.name, o.default])) as Record<N, number>;
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/.exec(arg);
    if (!m) return { ok: false, error: `unexpected argument '${arg}' (options: ${options.map((o) => `--${o.name}`).join(', ')})` };
    const name = m[1] as string;
    const spec = options.find((o) => o.name === name);
    if (!spec) return { ok: false, error: `unknown option --${name} (options: ${options.map((o) => `--${o.name}`).join(', ')})` };
    if (seen.has(name)) return { ok: false, error: `--${name} given twice` };
    seen.add(name);
    let raw = m[2];
    if (raw === undefined) {
      raw = argv[i + 1];
      i++;
    }
    if (raw === undefined || raw === '') return { ok: false, error: `--${name} needs a value` };
    const n = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
    const kind = spec.integer ? 'a whole number' : 'a number';
    if (!Number.isFinite(n) || (spec.integer && !Number.isInteger(n)) || n < spec.min || n > spec.max) {
      return { ok: false, error: `--${name} must be ${kind} from ${spec.min} to ${spec.max}, got '${raw.slice(0, 40)}'` };
    }
    values[spec.name] = n;
  }
  return { ok: true, values };
}
