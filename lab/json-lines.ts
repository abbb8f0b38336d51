/**
 * JSON-lines files written while the lab runs (access logs, capture side files): one value per
 * line, a last line without its newline being a write still in progress. Never throws: each bad
 * line becomes one warning naming `label` and the line number, and the good lines are kept.
 */
export function parseJsonLines<T>(text: string, label: string, convert: (v: unknown) => T | string): { values: T[]; warnings: string[] } {
  const values: T[] = [];
  const warnings: string[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      const truncated = i === lines.length - 1;
      warnings.push(`${label} line ${i + 1}: ${truncated ? 'truncated (no newline)' : `not JSON: ${line.slice(0, 60)}`}`);
      return;
    }
    const v = convert(json);
    if (typeof v === 'string') warnings.push(`${label} line ${i + 1}: ${v}`);
    else values.push(v);
  });
  return { values, warnings };
}
