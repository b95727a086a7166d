import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ChunkTable } from '../src/repository/chunk-table';
import type { PackTable } from '../src/repository/pack-index';

const id = () => randomBytes(32).toString('hex');
const packOf = (chunks: number, ids: string[] = Array.from({ length: chunks }, id)): PackTable => ({
  pack: id(),
  chunks: ids.map((chunk, i) => [chunk, i * 40_000, 39_000 + i, 40_000 + i]),
});
const never = () => false;

describe('the compact chunk table behind the pack index', () => {
  it('finds every chunk of thousands of packs where its table put it, and gives each table back as it was', () => {
    const table = new ChunkTable();
    const packs = Array.from({ length: 300 }, () => packOf(500));
    for (const pack of packs) table.addPack(pack, never);
    assert.equal(table.chunks, 150_000);
    assert.equal(table.packs, 300);
    for (const pack of [packs[0]!, packs[150]!, packs[299]!]) {
      assert.deepEqual(table.tableOf(pack.pack), pack);
      for (const [chunk, offset, length, raw] of pack.chunks)
        assert.deepEqual(table.location(table.find(chunk)!), { pack: pack.pack, offset, length, raw });
    }
    assert.equal(table.find(id()), undefined);
    assert.equal(new Set(table.chunkIds()).size, 150_000);
    // Every third pack removed: the rest keep their places, across the pages they are copied to.
    table.removePacks(new Set(packs.filter((_, i) => i % 3 === 0).map((p) => p.pack)), never);
    assert.equal(table.packs, 200);
    assert.equal(table.chunks, 100_000);
    for (const [i, pack] of [[0, packs[0]!] as const, [1, packs[1]!] as const, [299, packs[299]!] as const, [298, packs[298]!] as const]) {
      if (i % 3 === 0) assert.equal(table.find(pack.chunks[7]![0]), undefined);
      else {
        assert.deepEqual(table.tableOf(pack.pack), pack);
        for (const [chunk, offset, length, raw] of pack.chunks)
          assert.deepEqual(table.location(table.find(chunk)!), { pack: pack.pack, offset, length, raw });
      }
    }
  });

  it('ids sharing their first bytes (where the hash looks) are each found at their own place; a malformed id is found nowhere', () => {
    const table = new ChunkTable();
    const prefix = id().slice(0, 16);
    const twins = Array.from({ length: 200 }, () => prefix + id().slice(16));
    const packs = [packOf(100, twins.slice(0, 100)), packOf(100, twins.slice(100)), packOf(2000)];
    for (const pack of packs) table.addPack(pack, never);
    assert.equal(table.chunks, 2200);
    for (const pack of packs)
      for (const [chunk, offset, length, raw] of pack.chunks)
        assert.deepEqual(table.location(table.find(chunk)!), { pack: pack.pack, offset, length, raw });
    assert.equal(table.find(prefix + id().slice(16)), undefined, 'an unknown twin');
    for (const bad of ['', twins[0]!.slice(0, 62), twins[0]!.slice(0, 63) + 'z', twins[0]! + '00']) assert.equal(table.find(bad), undefined, bad);
  });

  it('holds a large repository in about 55 bytes per chunk', () => {
    const table = new ChunkTable();
    for (let i = 0; i < 660; i++) table.addPack(packOf(500), never);
    assert.equal(table.chunks, 330_000, 'about 11 GiB of data');
    const perChunk = table.heldBytes / table.chunks;
    assert.ok(perChunk < 60, `${perChunk.toFixed(0)} bytes per chunk`);
  });

  it('a chunk stored twice points at the copy preferred, again after the preference changes, and a removed pack leaves nothing behind', () => {
    const table = new ChunkTable();
    const shared = id();
    const first = packOf(3, [id(), shared, id()]);
    const second = packOf(2, [shared, id()]);
    let condemned = new Set<string>();
    const prefer = (knownPack: string) => condemned.has(knownPack);
    table.addPack(first, prefer);
    table.addPack(second, prefer);
    assert.equal(table.packOf(table.find(shared)!), first.pack, 'the first copy while it is not condemned');
    condemned = new Set([first.pack]);
    table.repoint(prefer);
    assert.equal(table.packOf(table.find(shared)!), second.pack, 'the other copy once the first is condemned');
    table.removePacks(new Set([first.pack]), prefer);
    assert.equal(table.packs, 1);
    assert.equal(table.find(first.chunks[0]![0]), undefined);
    assert.deepEqual(table.location(table.find(shared)!), { pack: second.pack, offset: 0, length: 39_000, raw: 40_000 });
    assert.deepEqual(table.tableOf(second.pack), second);
  });
});
