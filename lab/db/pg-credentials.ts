/**
 * Who connects to the private cluster and how: the app's role over TCP with a fixed password, the
 * superuser only through the unix socket.
 */
import type pg from 'pg';
import type { LabConfig } from '../config.ts';

/** Database, application role and superuser of the private cluster. */
export const PG_DATABASE = 'reqtrace';

export const PG_APP_ROLE = 'lab';

export const PG_SUPERUSER = 'postgres';

/**
 * Authentication, by design: the unprivileged role `lab` logs in over TCP on 127.0.0.1 only,
 * with scram-sha-256 and this fixed password (the cluster is a throwaway lab, not a secret).
 * The superuser is reachable only through the unix socket in `<state>/pg/run` (or
 * `<state>/pg-embedded/run`; mode 0700, trust), so no other local user can become superuser
 * through the lab's port.
 */
export const PG_APP_PASSWORD = 'lab';

/** Client config for the app and tests: role `lab`, database `reqtrace`, TCP on 127.0.0.1. */
export function pgConnectionConfig(cfg: Pick<LabConfig, 'pgPort'>): pg.ClientConfig {
  return {
    host: '127.0.0.1',
    port: cfg.pgPort,
    user: PG_APP_ROLE,
    password: PG_APP_PASSWORD,
    database: PG_DATABASE,
    application_name: 'reqtrace-app',
  };
}
