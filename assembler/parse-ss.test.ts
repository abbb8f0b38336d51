import { describe, expect, it } from 'vitest';
import { parseSs, parseSsEndpoint } from './parse-ss.ts';

const SS = [
  'State Recv-Q Send-Q Local Address:Port  Peer Address:Port Process',
  'ESTAB 0      0          127.0.0.1:27001    127.0.0.1:60988',
  '\t bbr wscale:10,10 rto:208 rtt:6.431/10.957 ato:40 mss:50688 cwnd:18 bytes_sent:20756 minrtt:0.024 snd_wnd:98304',
  'ESTAB 0      0      [::ffff:127.0.0.1]:27002 [::ffff:127.0.0.1]:42082',
  '\t cubic rto:204 rtt:0.05/0.025 retrans:0/3 minrtt:0.012',
  'ESTAB 0      0              [::1]:27000          [::1]:51000',
  'garbage',
  '',
].join('\n');

describe('parseSs', () => {
  it('reads each socket with its RTTs in ms, IPv4-mapped addresses unwrapped', () => {
    const { sockets } = parseSs(SS);
    expect(sockets).toEqual([
      { state: 'ESTAB', local: { address: '127.0.0.1', port: 27001 }, peer: { address: '127.0.0.1', port: 60988 }, rttMs: 6.431, rttVarMs: 10.957, minRttMs: 0.024, retransmits: 0 },
      { state: 'ESTAB', local: { address: '127.0.0.1', port: 27002 }, peer: { address: '127.0.0.1', port: 42082 }, rttMs: 0.05, rttVarMs: 0.025, minRttMs: 0.012, retransmits: 3 },
      { state: 'ESTAB', local: { address: '::1', port: 27000 }, peer: { address: '::1', port: 51000 }, rttMs: null, rttVarMs: null, minRttMs: null, retransmits: 0 },
    ]);
  });

  it('turns a line that is not a socket into a warning naming its line', () => {
    expect(parseSs(SS).warnings).toEqual(['ss line 7: not a socket line: garbage']);
  });

  it('reads an empty file as no sockets', () => {
    expect(parseSs('')).toEqual({ sockets: [], warnings: [] });
  });

  it('rejects wildcard ports', () => {
    expect(parseSsEndpoint('*:*')).toBeNull();
    expect(parseSsEndpoint('0.0.0.0:*')).toBeNull();
    expect(parseSsEndpoint('127.0.0.1:5432')).toEqual({ address: '127.0.0.1', port: 5432 });
  });
});
