/**
 * The backup drop folder's moves, on real files: a file taken from the inbox
 * must not share its bytes with a file dropped under the same name the moment
 * the first shows in working/, and a finished file never replaces another.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { moveInto, moveOutOfWork, moveToWork } from '../src/kinds/backup/drop-moves';

describe('backup drop folder moves', () => {
  let base: string;
  before(async () => {
    base = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP ?? os.tmpdir(), 'drop-moves-'));
  });
  after(async () => {
    await fs.rm(base, { recursive: true, force: true });
  });

  it('a file of the same name written into the inbox as soon as the first shows in working/ never changes the first', async () => {
    const inbox = path.join(base, 'inbox');
    const working = path.join(base, 'working');
    await fs.mkdir(inbox);
    await fs.mkdir(working);
    const dropped = path.join(inbox, 'same.dump');
    // The window between the file showing in working/ and leaving the inbox is one system call wide: many rounds find it.
    for (let round = 0; round < 300; round++) {
      const first = `first version ${round}`;
      await fs.writeFile(dropped, first);
      let stop = false;
      const dropper = (async () => {
        while (!stop) {
          const seen = (await fs.readdir(working, { recursive: true })).some((f) => f.endsWith('same.dump'));
          if (seen) {
            await fs.writeFile(dropped, `second version ${round}`);
            return;
          }
        }
      })();
      const taken = await moveToWork(dropped, working);
      stop = true;
      await dropper;
      assert.equal(await fs.readFile(taken, 'utf8'), first, `round ${round}: the file in working/ was overwritten by the next drop`);
      await fs.rm(path.dirname(taken), { recursive: true });
      await fs.rm(dropped, { force: true });
    }
  });

  it('a finished file takes the next free name in its target and its working directory goes', async () => {
    const working = path.join(base, 'working-out');
    const resolved = path.join(base, 'resolved');
    await fs.mkdir(working);
    await fs.mkdir(resolved);
    await fs.writeFile(path.join(resolved, 'a.dump'), 'already there');
    const source = path.join(base, 'a.dump');
    await fs.writeFile(source, 'finished');
    const taken = await moveToWork(source, working);
    await moveOutOfWork(taken, working, resolved);
    assert.deepEqual((await fs.readdir(resolved)).sort(), ['a.dump', 'a.dump (2)']);
    assert.equal(await fs.readFile(path.join(resolved, 'a.dump'), 'utf8'), 'already there');
    assert.equal(await fs.readFile(path.join(resolved, 'a.dump (2)'), 'utf8'), 'finished');
    assert.deepEqual(await fs.readdir(working), []);
    await assert.rejects(fs.access(source));
    assert.equal(await moveInto(path.join(resolved, 'a.dump'), path.join(base, 'elsewhere')), path.join(base, 'elsewhere', 'a.dump'));
  });
});
