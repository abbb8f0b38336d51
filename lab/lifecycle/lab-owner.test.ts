import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ownerRefusal, stateDirOwner, userName } from './lab-owner.ts';

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n';

describe('ownerRefusal', () => {
  it('lets the owner, and anyone before the state dir exists, change the lab', () => {
    expect(ownerRefusal('up', '/s', 1000, 1000)).toBeNull();
    expect(ownerRefusal('up', '/s', null, 1000)).toBeNull();
  });
  it("tells a user that root's lab needs sudo", () => {
    expect(ownerRefusal('down', '/s', 0, 1000)).toBe(
      'the lab in /s belongs to root, and `lab down` changes its processes and pid files: run `sudo lab down`, or set LAB_STATE_DIR to a lab of your own',
    );
  });
  it("tells root that a user's lab is theirs", () => {
    expect(ownerRefusal('up', '/s', 1000, 0, (uid) => userName(PASSWD, uid))).toBe(
      'the lab in /s belongs to uid 1000 (alice), and `lab up` changes its processes and pid files: run `lab up` as alice, or set LAB_STATE_DIR to a lab of your own',
    );
  });
});

describe('userName', () => {
  it('finds a name by uid, null when there is none', () => {
    expect(userName(PASSWD, 1000)).toBe('alice');
    expect(userName(PASSWD, 4242)).toBeNull();
  });
});

describe('stateDirOwner', () => {
  it("is the directory's uid, null when it does not exist", () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-owner-'));
    try {
      expect(stateDirOwner(dir)).toBe(process.geteuid?.());
      expect(stateDirOwner(join(dir, 'missing'))).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
