import { describe, expect, it } from 'vitest';
import { loaderArgs, parseFamilies } from './loader-args.ts';

describe('loaderArgs', () => {
  it('passes every target pid and bounds the run', () => {
    expect(
      loaderArgs({ appPid: 10, addonPath: '/a.node', nginxPids: [20, 21], pgPid: 30, sample: 0.5, maxSeconds: 90.2 }),
    ).toEqual(['--app-pid', '10', '--addon', '/a.node', '--nginx-pid', '20', '--nginx-pid', '21', '--pg-pid', '30', '--sample', '0.5', '-d', '91']);
  });
});

describe('parseFamilies', () => {
  it('reads an exact list and a list added to the defaults', () => {
    expect(parseFamilies('usdt,sockets')).toEqual({ families: ['usdt', 'sockets'] });
    expect(parseFamilies('+files')).toEqual({ extraFamilies: ['files'] });
  });
  it.each([
    ['usdt,,sockets', "--families has an empty name in 'usdt,,sockets'"],
    ['usdt,nope', "unknown family 'nope' (known: core, usdt, sockets, files, sched, postgres, tcp, pool, conn, blockio, reclaim, faults, offcpu, slowsys, netdev)"],
    ['+files,files', "--families names a family twice in '+files,files'"],
  ])('refuses %s', (raw, error) => {
    expect(parseFamilies(raw)).toBe(error);
  });
  it('puts a list added to the defaults after a plus on the loader command line', () => {
    const args = loaderArgs({ appPid: 1, addonPath: '/a', nginxPids: [], pgPid: null, sample: 1, maxSeconds: 5, extraFamilies: ['files'], pgDetail: true });
    expect(args).toEqual(['--app-pid', '1', '--addon', '/a', '--families', '+files', '--sample', '1', '-d', '5', '--pg-detail']);
    expect(loaderArgs({ appPid: 1, addonPath: '/a', nginxPids: [], pgPid: null, sample: 0.01, maxSeconds: 5, arrivals: true })).toContain('--arrivals');
  });
  it('passes a benchmark\'s socket floor, and none unless asked', () => {
    const base = { appPid: 1, addonPath: '/a', nginxPids: [], pgPid: null, sample: 0.01, maxSeconds: 5 } as const;
    expect(loaderArgs({ ...base, socketsFloor: 'ports' }).slice(-2)).toEqual(['--sockets-floor', 'ports']);
    expect(loaderArgs(base)).not.toContain('--sockets-floor');
  });
});
