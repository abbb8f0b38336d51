import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  ports?: string[];
  privileged?: boolean;
  pid?: string;
  network_mode?: string;
  volumes?: string[];
  environment?: Record<string, string>;
}

const root = join(import.meta.dirname, '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service>; configs?: Record<string, { content?: string }> };
const { services } = compose;

describe('docker-compose.yml', () => {
  it('has the three tiers and the tracer', () => {
    expect(Object.keys(services).sort()).toEqual(['app', 'nginx', 'postgres', 'tracer']);
  });

  it('publishes only the proxy, and only on the host loopback', () => {
    const published = Object.entries(services).flatMap(([name, s]) => (s.ports ?? []).map((p) => `${name} ${p}`));
    expect(published).toEqual(['postgres 127.0.0.1:18080:18080']);
    for (const name of ['app', 'nginx', 'tracer']) expect(services[name]?.network_mode).toBe('service:postgres');
  });

  it('loads pg_stat_statements in PostgreSQL and listens where the app looks', () => {
    const cmd = services.postgres?.command as string[];
    expect(cmd[cmd.indexOf('shared_preload_libraries=pg_stat_statements') - 1]).toBe('-c');
    expect(services.postgres?.environment?.PGPORT).toBe('18082');
    expect(compose.configs?.['pg-init']?.content).toContain('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  });

  it("runs nginx from the lab's own template with every placeholder filled", () => {
    const nginx = services.nginx as Service;
    expect(nginx.volumes).toContain('./lab/nginx/nginx.conf.template:/lab/nginx.conf.template:ro');
    const script = (nginx.command as string[]).join(' ');
    const template = readFileSync(join(root, 'lab', 'nginx', 'nginx.conf.template'), 'utf8');
    const placeholders = new Set([...template.matchAll(/\{\{([A-Z_]+)\}\}/g)].map((m) => m[1]));
    expect(placeholders.size).toBeGreaterThan(0);
    for (const p of placeholders) expect(script, p).toContain(`{{${p}}}`);
  });

  it('runs the tracer privileged in the host pid namespace with BTF and tracefs', () => {
    const t = services.tracer as Service;
    expect(t.privileged).toBe(true);
    expect(t.pid).toBe('host');
    expect(t.volumes).toEqual(expect.arrayContaining(['/sys/kernel/btf:/sys/kernel/btf:ro', '/sys/kernel/tracing:/sys/kernel/tracing']));
  });

  it('gives the app the same ports as a host lab', () => {
    expect(services.app?.environment).toMatchObject({ LAB_PORT_BASE: '18080', LAB_USDT: 'auto' });
  });
});
