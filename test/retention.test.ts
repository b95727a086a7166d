/**
 * restic's forget keep policy: which snapshots each --keep-* rule keeps, how
 * rules combine, and the policies refused before anything could be removed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyRetention, describePolicy, isEmptyPolicy, type Dated, type RetentionPolicy } from '../src/repository/retention';

const snap = (id: string, time: string): Dated => ({ id, time });
const kept = (snapshots: readonly Dated[], policy: RetentionPolicy) => applyRetention(snapshots, policy).keep.map((k) => k.snapshot.id);
const removed = (snapshots: readonly Dated[], policy: RetentionPolicy) => applyRetention(snapshots, policy).remove.map((s) => s.id);

describe('applyRetention', () => {
  it('keep-last keeps the N newest, whatever order they arrive in, and leaves the input alone', () => {
    const snapshots = [
      snap('b', '2026-03-02T10:00:00Z'),
      snap('d', '2026-03-04T10:00:00Z'),
      snap('a', '2026-03-01T10:00:00Z'),
      snap('c', '2026-03-03T10:00:00Z'),
    ];
    const before = structuredClone(snapshots);
    const decision = applyRetention(snapshots, { keepLast: 2 });
    assert.deepEqual(
      decision.keep.map((k) => [k.snapshot.id, k.reasons]),
      [
        ['d', ['last snapshot']],
        ['c', ['last snapshot']],
      ],
    );
    assert.deepEqual(
      decision.remove.map((s) => s.id),
      ['b', 'a'],
    );
    assert.deepEqual(snapshots, before);
    assert.equal(decision.keep[0]!.snapshot, snapshots[1], 'the caller gets its own objects back');
  });

  it('breaks equal times by id, descending', () => {
    const snapshots = [snap('x1', '2026-03-01T10:00:00Z'), snap('x3', '2026-03-01T10:00:00Z'), snap('x2', '2026-03-01T10:00:00Z')];
    assert.deepEqual(kept(snapshots, { keepLast: 1 }), ['x3']);
    assert.deepEqual(removed(snapshots, { keepLast: 1 }), ['x2', 'x1']);
  });

  it('compares times as instants, not strings', () => {
    // 09:30+00:00 is later than 10:00+01:00 (09:00Z) although it sorts earlier as text.
    const snapshots = [snap('offset', '2026-03-01T10:00:00+01:00'), snap('utc', '2026-03-01T09:30:00.000Z')];
    assert.deepEqual(kept(snapshots, { keepLast: 1 }), ['utc']);
  });

  it('daily keeps the newest snapshot of each of the N most recent days', () => {
    const snapshots = [
      snap('mon-early', '2026-03-02T01:00:00Z'),
      snap('mon-late', '2026-03-02T23:59:59Z'),
      snap('mon-noon', '2026-03-02T12:00:00Z'),
      snap('tue-early', '2026-03-03T00:00:00Z'),
      snap('tue-late', '2026-03-03T18:00:00Z'),
      // No snapshot on Wednesday: an empty day uses none of the count.
      snap('thu', '2026-03-05T08:00:00Z'),
      snap('sun-before', '2026-03-01T22:00:00Z'),
    ];
    assert.deepEqual(kept(snapshots, { keepDaily: 3 }), ['thu', 'tue-late', 'mon-late']);
    assert.deepEqual(removed(snapshots, { keepDaily: 3 }), ['tue-early', 'mon-noon', 'mon-early', 'sun-before']);
  });

  it('hourly buckets by UTC hour', () => {
    const snapshots = [
      snap('h10a', '2026-03-01T10:05:00Z'),
      snap('h10b', '2026-03-01T10:55:00Z'),
      snap('h11', '2026-03-01T11:00:00Z'),
      // 12:30 at +02:00 is 10:30 UTC, in the same hour as h10a and h10b.
      snap('h10c', '2026-03-01T12:30:00+02:00'),
    ];
    assert.deepEqual(kept(snapshots, { keepHourly: 5 }), ['h11', 'h10b']);
  });

  it('weekly uses ISO weeks, whose year can differ from the calendar year', () => {
    // 2026 starts on a Thursday, so it has 53 ISO weeks: Mon 2026-12-28 to Sun 2027-01-03 is 2026-W53,
    // and Mon 2027-01-04 starts 2027-W01 (checked against `date +%G-W%V`).
    const snapshots = [
      snap('2026-12-20', '2026-12-20T12:00:00Z'), // 2026-W51
      snap('2026-12-27', '2026-12-27T12:00:00Z'), // 2026-W52, a Sunday
      snap('2026-12-28', '2026-12-28T12:00:00Z'), // 2026-W53
      snap('2026-12-31', '2026-12-31T12:00:00Z'), // 2026-W53
      snap('2027-01-01', '2027-01-01T12:00:00Z'), // 2026-W53
      snap('2027-01-03', '2027-01-03T23:00:00Z'), // 2026-W53, a Sunday
      snap('2027-01-04', '2027-01-04T00:00:00Z'), // 2027-W01
    ];
    assert.deepEqual(kept(snapshots, { keepWeekly: 3 }), ['2027-01-04', '2027-01-03', '2026-12-27']);
    assert.deepEqual(removed(snapshots, { keepWeekly: 3 }), ['2027-01-01', '2026-12-31', '2026-12-28', '2026-12-20']);
  });

  it('weekly puts late December in week 1 of the next ISO year when that week is mostly January', () => {
    // Mon 2025-12-29 is in 2026-W01, alongside 2026-01-02; Sun 2025-12-28 ends 2025-W52.
    const snapshots = [
      snap('2025-12-28', '2025-12-28T12:00:00Z'),
      snap('2025-12-29', '2025-12-29T12:00:00Z'),
      snap('2026-01-02', '2026-01-02T12:00:00Z'),
    ];
    assert.deepEqual(kept(snapshots, { keepWeekly: 2 }), ['2026-01-02', '2025-12-28']);
  });

  it('monthly and yearly keep the newest of each UTC month and year', () => {
    const snapshots = [
      snap('jan-15', '2026-01-15T00:00:00Z'),
      snap('jan-31', '2026-01-31T23:00:00Z'),
      // 2026-02-01T00:30+01:00 is still January in UTC.
      snap('jan-31-late', '2026-02-01T00:30:00+01:00'),
      snap('feb-10', '2026-02-10T00:00:00Z'),
      snap('mar-01', '2026-03-01T00:00:00Z'),
      snap('dec-2025', '2025-12-31T23:59:59Z'),
    ];
    assert.deepEqual(kept(snapshots, { keepMonthly: 3 }), ['mar-01', 'feb-10', 'jan-31-late']);
    assert.deepEqual(kept(snapshots, { keepYearly: 5 }), ['mar-01', 'dec-2025']);
  });

  it('keeps a snapshot if any rule keeps it, and lists every rule that did', () => {
    const snapshots = [
      snap('s1', '2026-03-10T09:00:00Z'),
      snap('s2', '2026-03-10T08:00:00Z'),
      snap('s3', '2026-03-09T20:00:00Z'),
      snap('s4', '2026-03-08T20:00:00Z'),
      snap('s5', '2026-02-27T20:00:00Z'),
      snap('s6', '2026-01-05T20:00:00Z'),
    ];
    const decision = applyRetention(snapshots, { keepLast: 2, keepDaily: 2, keepMonthly: 3 });
    assert.deepEqual(
      decision.keep.map((k) => [k.snapshot.id, k.reasons]),
      [
        ['s1', ['last snapshot', 'daily snapshot', 'monthly snapshot']],
        ['s2', ['last snapshot']],
        ['s3', ['daily snapshot']],
        ['s5', ['monthly snapshot']],
        ['s6', ['monthly snapshot']],
      ],
    );
    assert.deepEqual(
      decision.remove.map((s) => s.id),
      ['s4'],
    );
  });

  it('keeps them all when there are fewer buckets than asked for', () => {
    const snapshots = [snap('a', '2026-03-01T00:00:00Z'), snap('b', '2026-03-02T00:00:00Z'), snap('c', '2026-03-03T00:00:00Z')];
    assert.deepEqual(kept(snapshots, { keepDaily: 30 }), ['c', 'b', 'a']);
    assert.deepEqual(removed(snapshots, { keepDaily: 30 }), []);
    assert.deepEqual(kept(snapshots, { keepLast: 10 }), ['c', 'b', 'a']);
    assert.deepEqual(applyRetention([], { keepLast: 1 }), { keep: [], remove: [] });
  });

  it('refuses a policy with no keep rule, since it would remove every snapshot', () => {
    const snapshots = [snap('a', '2026-03-01T00:00:00Z')];
    for (const policy of [{}, { keepLast: 0 }, { keepLast: undefined, keepDaily: 0, keepYearly: 0 }]) {
      assert.throws(() => applyRetention(snapshots, policy), /no keep rule would remove every snapshot.*at least one --keep-\* option/);
    }
  });

  it('refuses counts that are negative or not whole, naming the option', () => {
    const snapshots = [snap('a', '2026-03-01T00:00:00Z')];
    const cases: [RetentionPolicy, string][] = [
      [{ keepDaily: -1 }, 'keepDaily'],
      [{ keepLast: 1.5 }, 'keepLast'],
      [{ keepWeekly: Number.NaN }, 'keepWeekly'],
      [{ keepMonthly: Number.POSITIVE_INFINITY }, 'keepMonthly'],
      [{ keepLast: 2, keepYearly: '3' as unknown as number }, 'keepYearly'],
      [{ keepHourly: -2 }, 'keepHourly'],
    ];
    for (const [policy, option] of cases) {
      assert.throws(() => applyRetention(snapshots, policy), { message: `${option} must be a whole number of at least 0` });
    }
  });

  it('refuses a snapshot whose time is not a date', () => {
    assert.throws(() => applyRetention([snap('bad', 'yesterday')], { keepLast: 1 }), /snapshot bad has a time that is not an ISO-8601 date/);
  });
});

describe('describePolicy and isEmptyPolicy', () => {
  it('describes the rules in restic order, leaving out unset and zero ones', () => {
    assert.equal(describePolicy({ keepDaily: 7, keepLast: 3 }), 'keep last 3, daily 7');
    assert.equal(describePolicy({ keepYearly: 2, keepHourly: 0, keepWeekly: 4, keepMonthly: 6 }), 'keep weekly 4, monthly 6, yearly 2');
    assert.equal(describePolicy({}), 'keep nothing');
  });

  it('calls a policy empty when every count is unset or zero', () => {
    assert.equal(isEmptyPolicy({}), true);
    assert.equal(isEmptyPolicy({ keepLast: 0, keepDaily: undefined }), true);
    assert.equal(isEmptyPolicy({ keepYearly: 1 }), false);
  });
});
