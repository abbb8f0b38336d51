import { describe, expect, it } from 'vitest';
import { readNginxTemplate, renderNginxConf, type NginxConfValues } from './render-nginx-conf.ts';

const values: NginxConfValues = {
  PROXY_PORT: 21000,
  APP_PORT: 21001,
  WORKERS: 1,
  PID_FILE: '/tmp/lab/proxy.pid',
  ERROR_LOG: '/tmp/lab/logs/nginx-error.log',
  ACCESS_LOG: '/tmp/lab/logs/access.jsonl',
  TEMP_DIR: '/tmp/lab/nginx/tmp',
};

describe('renderNginxConf', () => {
  it('fills every placeholder of the shipped template', () => {
    const conf = renderNginxConf(readNginxTemplate(), values);
    expect(conf).not.toMatch(/\{\{/);
    expect(conf).toContain('listen 127.0.0.1:21000;');
    expect(conf).toContain('server 127.0.0.1:21001;');
    expect(conf).toContain('pid /tmp/lab/proxy.pid;');
    expect(conf).toContain('access_log /tmp/lab/logs/access.jsonl reqtrace;');
  });

  it('keeps connections alive for a whole benchmark on both sides', () => {
    const conf = renderNginxConf(readNginxTemplate(), values);
    expect(conf.match(/keepalive_requests 1000000;/g)).toHaveLength(2);
    expect(conf).toContain('proxy_http_version 1.1;');
    expect(conf).toContain('proxy_set_header Connection "";');
  });

  it('rejects a placeholder without a value', () => {
    expect(() => renderNginxConf('listen {{NOPE}};', values)).toThrow(/no value for \{\{NOPE\}\}/);
  });

  it('rejects a value that would break nginx syntax', () => {
    expect(() => renderNginxConf('pid {{PID_FILE}};', { ...values, PID_FILE: '/tmp/a b;' })).toThrow(/unusable value/);
  });
});
