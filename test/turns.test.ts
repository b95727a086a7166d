import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Turns } from '../src/activities/turns';

describe('turns', () => {
  it('at most `count` turns of a name at once, the rest given in the order asked, each ended once however often it is ended', async () => {
    const turns = new Turns();
    const first = await turns.take('ranges', 2);
    const second = await turns.take('ranges', 2);
    const order: string[] = [];
    const third = turns.take('ranges', 2).then((end) => (order.push('third'), end));
    const fourth = turns.take('ranges', 2).then((end) => (order.push('fourth'), end));
    const other = await turns.take('another name', 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, [], 'two turns are out');
    first();
    first();
    const endThird = await third;
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, ['third'], 'ending a turn twice gives only one away');
    second();
    (await fourth)();
    endThird();
    other();
    assert.deepEqual(order, ['third', 'fourth']);
    // All four ended: two are free again.
    const again = [await turns.take('ranges', 2), await turns.take('ranges', 2)];
    again.forEach((end) => end());
  });

  it('run ends its turn when the work fails', async () => {
    const turns = new Turns();
    await assert.rejects(
      turns.run('load', 1, () => Promise.reject(new Error('boom'))),
      /boom/,
    );
    assert.equal(await turns.run('load', 1, async () => 'next'), 'next');
  });
});
