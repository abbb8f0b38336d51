import { describe, expect, it } from 'vitest';
import { countTcpStates, parseDiskstats, parseLoadavg, parseMeminfo, parseNetDev, parseProcStat, parseTcpSnmp } from './machine-sample.ts';

describe('procfs parsers', () => {
  it('/proc/stat: the aggregate line, steal included, and the CPU count', () => {
    const text = 'cpu  420215 76 178012 317690 1637 0 3600 12 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\ncpu1 1 2 3 4 5 6 7 8 0 0\nintr 1\n';
    expect(parseProcStat(text)).toEqual({ cpus: 2, cpu: { user: 420215, nice: 76, system: 178012, idle: 317690, iowait: 1637, irq: 0, softirq: 3600, steal: 12 } });
  });

  it('/proc/meminfo, /proc/loadavg', () => {
    expect(parseMeminfo('MemTotal:       24683748 kB\nMemAvailable:   23805064 kB\nDirty:             404 kB\nSwapTotal:  1000 kB\nSwapFree:  600 kB\n')).toEqual({
      total: 24683748,
      available: 23805064,
      dirty: 404,
      swapUsed: 400,
    });
    expect(parseLoadavg('2.55 4.01 4.18 3/216 4242\n')).toEqual({ one: 2.55, five: 4.01, fifteen: 4.18, running: 3, tasks: 216 });
  });

  it('/proc/diskstats: whole disks only', () => {
    const text = [
      '   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0',
      ' 254       0 vda 217184 15287 7891586 144971 109684 101630 17659144 49459 0 35960 210570 27050 30 5577360 7131 31002 9006',
      ' 254       1 vda1 1 0 8 0 1 0 8 0 0 1 1 0 0 0 0 0 0',
      ' 259       0 nvme0n1 10 0 80 1 20 0 160 2 0 7 3 0 0 0 0 0 0',
      ' 259       1 nvme0n1p1 1 0 8 0 1 0 8 0 0 1 1 0 0 0 0 0 0',
    ].join('\n');
    expect(parseDiskstats(text)).toEqual({
      vda: { reads: 217184, readSectors: 7891586, writes: 109684, writeSectors: 17659144, ioMs: 35960 },
      nvme0n1: { reads: 10, readSectors: 80, writes: 20, writeSectors: 160, ioMs: 7 },
    });
  });

  it('/proc/net/dev, TCP states and segment counters', () => {
    const dev = 'Inter-| head\n face | head\n    lo: 664 7191 0 1 0 0 0 0 665 7192 0 2 0 0 0 0\n';
    expect(parseNetDev(dev)).toEqual({ lo: { rxBytes: 664, rxPackets: 7191, txBytes: 665, txPackets: 7192, drops: 3 } });
    const tcp = '  sl  local_address rem_address   st tx_queue\n   0: 00000000:07E8 00000000:0000 0A 0\n   1: 0100007F:46A2 0100007F:9C40 01 0\n   2: 0100007F:46A2 0100007F:9C42 06 0\n';
    expect(countTcpStates([tcp, tcp])).toEqual({ LISTEN: 2, ESTABLISHED: 2, TIME_WAIT: 2 });
    const snmp = 'Tcp: RtoAlgorithm OutSegs RetransSegs\nTcp: 1 7207928 65\n';
    expect(parseTcpSnmp(snmp)).toEqual({ outSegs: 7207928, retransSegs: 65 });
  });
});
