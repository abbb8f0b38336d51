import { describe, expect, it } from 'vitest';
import { findPasswdUser, modeAllows } from './server-owner.ts';

describe('findPasswdUser', () => {
  const passwd = ['root:x:0:0:root:/root:/bin/bash', 'postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash', 'broken:x::'].join('\n');

  it('reads uid and gid of a user', () => {
    expect(findPasswdUser(passwd, 'postgres')).toEqual({ uid: 101, gid: 104 });
    expect(findPasswdUser(passwd, 'root')).toEqual({ uid: 0, gid: 0 });
  });

  it('does not match a prefix, a missing user or a malformed line', () => {
    expect(findPasswdUser(passwd, 'post')).toBeNull();
    expect(findPasswdUser(passwd, 'reqtrace-pg')).toBeNull();
    expect(findPasswdUser(passwd, 'broken')).toBeNull();
  });
});

describe('modeAllows', () => {
  const pgUser = { uid: 101, gid: 104 };

  it('uses the owner, group or other bits that apply', () => {
    expect(modeAllows({ uid: 101, gid: 0, mode: 0o40700 }, pgUser, 0o1)).toBe(true);
    expect(modeAllows({ uid: 0, gid: 104, mode: 0o40750 }, pgUser, 0o5)).toBe(true);
    expect(modeAllows({ uid: 0, gid: 0, mode: 0o40755 }, pgUser, 0o5)).toBe(true);
  });

  it('refuses a 0700 home of another user, and a file readable but not executable', () => {
    expect(modeAllows({ uid: 0, gid: 0, mode: 0o40700 }, pgUser, 0o1)).toBe(false);
    expect(modeAllows({ uid: 0, gid: 0, mode: 0o100644 }, pgUser, 0o5)).toBe(false);
  });

  it('lets root through everything', () => {
    expect(modeAllows({ uid: 1000, gid: 1000, mode: 0o40700 }, { uid: 0, gid: 0 }, 0o7)).toBe(true);
  });
});
