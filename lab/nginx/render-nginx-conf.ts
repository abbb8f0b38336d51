import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Values substituted into `nginx.conf.template`. */
export interface NginxConfValues {
  readonly PROXY_PORT: number;
  readonly APP_PORT: number;
  readonly WORKERS: number;
  readonly PID_FILE: string;
  readonly ERROR_LOG: string;
  readonly ACCESS_LOG: string;
  readonly TEMP_DIR: string;
}

export const NGINX_TEMPLATE_PATH = join(import.meta.dirname, 'nginx.conf.template');

/** Reads the template shipped beside this module. */
export function readNginxTemplate(): string {
  return readFileSync(NGINX_TEMPLATE_PATH, 'utf8');
}

/**
 * Fills `{{NAME}}` placeholders. Throws on a placeholder without a value, and on a value that
 * would break nginx's syntax (whitespace, quotes, `;`, braces), so a bad state dir fails here
 * with its name instead of as an nginx parse error.
 */
export function renderNginxConf(template: string, values: NginxConfValues): string {
  const table: Record<string, string | number> = { ...values };
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (_m, name: string) => {
    const v = table[name];
    if (v === undefined) throw new Error(`nginx template: no value for {{${name}}}`);
    const s = String(v);
    if (s === '' || /[\s;{}"'$#]/.test(s)) throw new Error(`nginx template: unusable value for {{${name}}}: '${s}'`);
    return s;
  });
}
