/**
 * The app's start-up settings a fault needs changed — its pool's size (LAB_PG_POOL) or where it
 * reaches PostgreSQL (LAB_PG_HOST) — applied by restarting it, and restored the same way. An app
 * restarted so carries LAB_INJECT_OWNER (the run's pid): one left changed by a run that was
 * killed is recognized, and restored, by the next.
 */
import type { LabConfig } from '../config.ts';
import { appPid, startApp, stopApp } from '../lifecycle/app-tier.ts';
import { readLabState } from '../lifecycle/lab-state.ts';
import { processEnv } from '../lifecycle/processes.ts';
import { labPaths } from '../lifecycle/state-paths.ts';

export const APP_SETTING_NAMES = ['LAB_PG_POOL', 'LAB_PG_HOST'] as const;
export const OWNER_VARIABLE = 'LAB_INJECT_OWNER';

/** Values of the settings; an absent one is the app's default. */
export type AppSettings = Partial<Record<(typeof APP_SETTING_NAMES)[number], string>>;

/** The settings the running app was started with, and the run that changed them (null: none). */
export function readAppSettings(pid: number): { readonly settings: AppSettings; readonly owner: number | null } {
  const settings: AppSettings = {};
  for (const name of APP_SETTING_NAMES) {
    const v = processEnv(pid, name);
    if (v !== null) settings[name] = v;
  }
  const owner = Number(processEnv(pid, OWNER_VARIABLE) ?? NaN);
  return { settings, owner: Number.isInteger(owner) ? owner : null };
}

/** Restarts the app with exactly `settings` (the others unset) and, when given, the owner mark; returns its pid. */
export async function restartApp(cfg: LabConfig, settings: AppSettings, owner: number | null): Promise<number> {
  const usdt = readLabState(labPaths(cfg).stateFile).usdt ?? 'auto';
  if (appPid(cfg) !== null) await stopApp(cfg);
  const env: Record<string, string | undefined> = { [OWNER_VARIABLE]: owner === null ? undefined : String(owner) };
  for (const name of APP_SETTING_NAMES) env[name] = settings[name];
  return startApp(cfg, usdt, 30_000, env);
}
