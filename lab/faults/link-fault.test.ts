import { describe, expect, it } from 'vitest';
import { linkFaultRule, netemArgs, nfqFaultArgs, parseSummary } from './link-fault.ts';
import { netnsLinkFor } from './netns-link.ts';

const link = netnsLinkFor(7);

describe('linkFaultRule', () => {
  it('nfqueue: packets to the relay go to the queue, and pass when nothing reads it', () => {
    expect(linkFaultRule(link, 19182, { kind: 'delay', ms: 20 }, 'nfqueue')?.join(' ')).toBe(
      'INPUT -p tcp -d 10.231.0.30 --dport 19182 -j NFQUEUE --queue-num 7 --queue-bypass',
    );
  });
  it('statistic: every second data segment to the relay is dropped', () => {
    expect(linkFaultRule(link, 19182, { kind: 'loss' }, 'iptables-statistic')?.join(' ')).toBe(
      'INPUT -p tcp -d 10.231.0.30 --dport 19182 -m length --length 53:65535 -m statistic --mode nth --every 2 --packet 0 -j DROP',
    );
  });
  it('statistic cannot delay; netem needs no rule', () => {
    expect(() => linkFaultRule(link, 1, { kind: 'delay', ms: 5 }, 'iptables-statistic')).toThrow(/cannot delay/);
    expect(linkFaultRule(link, 1, { kind: 'loss' }, 'netem')).toBeNull();
  });
});

describe('netemArgs and nfqFaultArgs', () => {
  it('build the commands of each fault', () => {
    expect(netemArgs(link, { kind: 'delay', ms: 25 })).toEqual(['qdisc', 'add', 'dev', 'rti7n', 'root', 'netem', 'delay', '25ms']);
    expect(nfqFaultArgs({ kind: 'delay', ms: 25 }, 12.2)).toEqual(['--queue', '7', '--delay-ms', '25', '--duration', '13']);
    expect(nfqFaultArgs({ kind: 'loss' }, 99999)).toEqual(['--queue', '7', '--drop-first', '--duration', '3600']);
  });
});

describe('parseSummary', () => {
  it("reads nfq-fault's exit line and nothing else", () => {
    expect(parseSummary('{"event":"exit","queued":11,"delayed":11,"dropped":0,"passed":0,"overflow":0,"unparsed":0,"enobufs":0,"error":0}')).toEqual({ delayed: 11, dropped: 0 });
    expect(parseSummary('ready')).toBeNull();
    expect(parseSummary('{"event":"other"}')).toBeNull();
  });
});
