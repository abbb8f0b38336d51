import { describe, expect, it } from 'vitest';
import { linkUpCommands, netnsLinkFor, netnsOwner } from './netns-link.ts';

describe('netnsLinkFor', () => {
  it('names the namespace for its owner and gives the veth ends a /30 of their own', () => {
    expect(netnsLinkFor(12345)).toEqual({ netns: 'reqtrace-inj-12345', hostIf: 'rti12345h', hostAddr: '10.231.192.229', nsIf: 'rti12345n', nsAddr: '10.231.192.230' });
  });

  it('keeps interface names within 15 characters and addresses valid for any pid', () => {
    for (const pid of [1, 63, 64, 16383, 16384, 4_194_303]) {
      const l = netnsLinkFor(pid);
      expect(l.hostIf.length).toBeLessThanOrEqual(15);
      for (const a of [l.hostAddr, l.nsAddr]) {
        const parts = a.split('.').map(Number);
        expect(parts.every((p) => Number.isInteger(p) && p >= 0 && p <= 255)).toBe(true);
      }
      // Same /30, neither the network nor the broadcast address.
      const last = (a: string): number => Number(a.split('.')[3]);
      expect(last(l.hostAddr) % 4).toBe(1);
      expect(last(l.nsAddr) - last(l.hostAddr)).toBe(1);
    }
  });
});

describe('netnsOwner', () => {
  it('reads the owner of our namespaces only', () => {
    expect(netnsOwner('reqtrace-inj-4242')).toBe(4242);
    expect(netnsOwner('reqtrace-rtx-4242')).toBeNull();
    expect(netnsOwner('reqtrace-inj-42x')).toBeNull();
  });
});

describe('linkUpCommands', () => {
  it('makes the namespace, the pair, moves one end in, addresses and raises both ends and lo', () => {
    expect(linkUpCommands(netnsLinkFor(7)).map((c) => c.join(' '))).toEqual([
      'netns add reqtrace-inj-7',
      'link add rti7h type veth peer name rti7n',
      'link set rti7n netns reqtrace-inj-7',
      'addr add 10.231.0.29/30 dev rti7h',
      'link set rti7h up',
      '-n reqtrace-inj-7 addr add 10.231.0.30/30 dev rti7n',
      '-n reqtrace-inj-7 link set rti7n up',
      '-n reqtrace-inj-7 link set lo up',
    ]);
  });
});
