import { describe, expect, it } from 'vitest';
import { appBackend } from './app-backend.ts';

const ADDON = '/work/main/probes/usdt-addon/build/Release/reqtrace_usdt.node';
const line = (path: string): string => `7fb8ea068000-7fb8ea069000 r--p 00000000 fe:00 5317809                    ${path}`;
/** A pid that cannot exist (above pid_max), so its environment reads as absent. */
const NO_PID = 2 ** 22 + 1;

describe('appBackend', () => {
  it('native when the addon is mapped into the app, with the mapped path', () => {
    expect(appBackend(NO_PID, { stateDir: '/s' }, [line('/usr/lib/libc.so.6'), line(ADDON), ''].join('\n'))).toEqual({ kind: 'native', addonPath: ADDON });
  });
  it('stale when the mapped addon file was replaced since the app loaded it', () => {
    expect(appBackend(NO_PID, { stateDir: '/s' }, line(`${ADDON} (deleted)`))).toEqual({ kind: 'stale', addonPath: ADDON });
  });
  it('off when neither the addon is mapped nor the app runs file probes', () => {
    expect(appBackend(NO_PID, { stateDir: '/s' }, line('/usr/lib/libc.so.6'))).toEqual({ kind: 'off' });
  });
});
