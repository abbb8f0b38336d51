import { describe, expect, it } from 'vitest';
import { COMMANDS, formatHelp, parseArguments } from './parse-args.ts';

describe('parseArguments', () => {
  it('parses a command with defaults filled in', () => {
    expect(parseArguments(['load', '--requests', '500'])).toEqual({
      ok: true,
      value: {
        command: 'load',
        positionals: {},
        options: { requests: 500, connections: 10, mix: 'default' },
      },
    });
  });

  it('accepts --name=value and flags', () => {
    const r = parseArguments(['trace', '--duration=2.5', '--sample', '0.1', '--no-load', '--json']);
    expect(r).toMatchObject({
      ok: true,
      value: { command: 'trace', options: { duration: 2.5, sample: 0.1, 'no-load': true, json: true } },
    });
  });

  it('names positionals and keeps optional ones optional', () => {
    expect(parseArguments(['show', 'captures/a', '--slowest', '3'])).toMatchObject({
      ok: true,
      value: { command: 'show', positionals: { dir: 'captures/a' }, options: { slowest: 3 } },
    });
    expect(parseArguments(['bench', 'overhead'])).toMatchObject({ ok: true, value: { command: 'bench', positionals: { name: 'overhead' } } });
    expect(parseArguments(['bench'])).toEqual({ ok: false, error: "'lab bench' needs name" });
  });

  it('treats no arguments and --help as help', () => {
    expect(parseArguments([])).toMatchObject({ ok: true, value: { command: 'help' } });
    expect(parseArguments(['load', '--help'])).toMatchObject({
      ok: true,
      value: { command: 'help', positionals: { command: 'load' } },
    });
  });

  it.each([
    [['frobnicate'], "unknown command 'frobnicate' (try 'lab help')"],
    [['load', '--connections', '0'], '--connections must be between 1 and 1000, got 0'],
    [['load', '--connections', '2.5'], "--connections expects a whole number, got '2.5'"],
    [['load', '--duration', 'abc'], "--duration expects a number, got 'abc'"],
    [['load', '--duration', ''], "--duration expects a number, got ''"],
    [['load', '--mix', 'nope'], "--mix must be one of default, users, light, orders, report, feed, health, all, got 'nope'"],
    [['load', '--requests'], '--requests needs a value'],
    [['load', '--bogus'], "'lab load' has no option --bogus"],
    [['load', '--json=yes'], '--json takes no value'],
    [['load', '--requests', '1', '--requests', '2'], '--requests given twice'],
    [['load', '--requests', '10', '--duration', '1'], '--duration and --requests are exclusive'],
    [['trace', '--sample', '1.5'], '--sample must be between 0 and 1, got 1.5'],
    [['show'], "'lab show' needs dir"],
    [['compare', 'a'], "'lab compare' needs a b"],
    [['status', 'extra'], "'lab status' takes 0 argument(s), got 1"],
    [['export', 'd', '--format', 'pdf'], "--format must be one of text, svg, jaeger, otlp, chrome, got 'pdf'"],
    [['up', '--postgres', 'docker'], "--postgres must be one of system, embedded, got 'docker'"],
  ])('rejects %j with a one-line reason', (argv, error) => {
    expect(parseArguments(argv)).toEqual({ ok: false, error });
  });

  it('takes the PostgreSQL server kind for up, and leaves it unset by default', () => {
    expect(parseArguments(['up', '--postgres', 'embedded', '--proxy=node'])).toEqual({
      ok: true,
      value: { command: 'up', positionals: {}, options: { postgres: 'embedded', proxy: 'node', usdt: 'auto' } },
    });
    expect(parseArguments(['up'])).toEqual({ ok: true, value: { command: 'up', positionals: {}, options: { usdt: 'auto' } } });
  });

  it('does not mutate its input', () => {
    const argv = Object.freeze(['load', '--requests', '5']);
    parseArguments(argv);
    expect(argv).toEqual(['load', '--requests', '5']);
  });
});

describe('formatHelp', () => {
  it('lists every command', () => {
    const text = formatHelp();
    for (const c of COMMANDS) expect(text).toContain(`  ${c.name}`);
  });

  it("shows a command's options with bounds and defaults", () => {
    const text = formatHelp('load');
    expect(text).toContain('usage: lab load [options]');
    expect(text).toMatch(/--connections 1\.\.1000 +concurrent connections \(default 10\)/);
  });
});
