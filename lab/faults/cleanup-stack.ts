/**
 * Undo actions for what a fault injection makes (namespaces, netfilter rules, cgroups, helper
 * processes, changed settings), run newest first and each exactly once: when the step that made
 * it ends, at the end of the run, on a signal, or — as far as they can run synchronously — when
 * the process exits without reaching any of those.
 */

export type Undo = () => void | Promise<void>;

export interface CleanupStack {
  /** Registers `undo` under `name`; the returned function runs it now (once) and forgets it. */
  push(name: string, undo: Undo): () => Promise<void>;
  /** Runs every pending undo, newest first, past failures; returns one line per failure. */
  runAll(): Promise<string[]>;
  /**
   * For the process's 'exit' event, where nothing can be awaited: starts every pending undo,
   * newest first; returns one line per failure, and names those that could not finish in time.
   */
  runAllSync(): string[];
  /** Names of the undos not run yet, oldest first. */
  pending(): string[];
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';

export function createCleanupStack(): CleanupStack {
  const entries: { readonly name: string; readonly undo: Undo }[] = [];
  const take = (entry: (typeof entries)[number]): boolean => {
    const at = entries.indexOf(entry);
    if (at === -1) return false;
    entries.splice(at, 1);
    return true;
  };
  const runOne = async (entry: (typeof entries)[number]): Promise<string | null> => {
    if (!take(entry)) return null;
    try {
      await entry.undo();
      return null;
    } catch (err) {
      return `${entry.name}: ${message(err)}`;
    }
  };
  return {
    push(name, undo) {
      const entry = { name, undo };
      entries.push(entry);
      return async () => {
        const failed = await runOne(entry);
        if (failed !== null) throw new Error(failed);
      };
    },
    async runAll() {
      const failures: string[] = [];
      for (let e = entries.at(-1); e !== undefined; e = entries.at(-1)) {
        const failed = await runOne(e);
        if (failed !== null) failures.push(failed);
      }
      return failures;
    },
    runAllSync() {
      const failures: string[] = [];
      for (let e = entries.at(-1); e !== undefined; e = entries.at(-1)) {
        take(e);
        try {
          const r = e.undo();
          if (r instanceof Promise) {
            r.catch(() => undefined);
            failures.push(`${e.name}: started, not finished (the process is exiting)`);
          }
        } catch (err) {
          failures.push(`${e.name}: ${message(err)}`);
        }
      }
      return failures;
    },
    pending: () => entries.map((e) => e.name),
  };
}
