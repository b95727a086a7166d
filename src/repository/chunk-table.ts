import type { PackTable } from './pack-index';

const ID_BYTES = 32;
/** A map key of the id's first 8 bytes, a quarter of its hex; two ids sharing one would only cost the later chunk being stored again (the full id is compared). */
const KEY_BYTES = 8;

/**
 * Every chunk of every pack in flat typed arrays: about 100 bytes per chunk
 * instead of ~270 for objects and hex keys, so the index a worker keeps stays
 * small beside the data it moves (30,000 chunks per GiB stored).
 */
export class ChunkTable {
  private ids = Buffer.alloc(0);
  private nums = new Uint32Array(0);
  private count = 0;
  private readonly packIds: string[] = [];
  /** Per pack slot: its first chunk slot and how many it has. */
  private readonly ranges: [first: number, count: number][] = [];
  private readonly packSlots = new Map<string, number>();
  /** Chunk key → chunk slot: the copy a backup should refer to. */
  private readonly byKey = new Map<string, number>();

  get chunks(): number {
    return this.byKey.size;
  }

  get packs(): number {
    return this.packSlots.size;
  }

  hasPack(pack: string): boolean {
    return this.packSlots.has(pack);
  }

  packNames(): string[] {
    return [...this.packSlots.keys()];
  }

  /** Adds a pack's chunks; `prefer(pack)` says whether a chunk known from `pack` should point at this copy instead. */
  addPack(table: PackTable, prefer: (knownPack: string) => boolean): void {
    if (this.packSlots.has(table.pack)) return;
    const packSlot = this.packIds.length;
    this.packIds.push(table.pack);
    this.packSlots.set(table.pack, packSlot);
    this.reserve(this.count + table.chunks.length);
    this.ranges.push([this.count, table.chunks.length]);
    for (const [id, offset, length, raw] of table.chunks) {
      const slot = this.count++;
      this.ids.write(id, slot * ID_BYTES, ID_BYTES, 'hex');
      this.nums.set([packSlot, offset, length, raw], slot * 4);
      this.point(slot, prefer);
    }
  }

  /** Points each chunk's key at its best copy again (after the packs to avoid changed). */
  repoint(prefer: (knownPack: string) => boolean): void {
    this.byKey.clear();
    for (let slot = 0; slot < this.count; slot++) this.point(slot, prefer);
  }

  /** Forgets packs, then packs the arrays so their chunks' memory is reused. */
  removePacks(gone: Set<string>, prefer: (knownPack: string) => boolean): void {
    const kept = this.packIds.filter((pack) => this.packSlots.has(pack) && !gone.has(pack)).map((pack) => this.tableOf(pack)!);
    this.ids = Buffer.alloc(0);
    this.nums = new Uint32Array(0);
    this.count = 0;
    this.packIds.length = 0;
    this.ranges.length = 0;
    this.packSlots.clear();
    this.byKey.clear();
    for (const table of kept) this.addPack(table, prefer);
  }

  /** The chunk slot of `id`, if a pack holds it. */
  find(id: string): number | undefined {
    const slot = this.byKey.get(id.slice(0, KEY_BYTES * 2));
    if (slot === undefined) return undefined;
    return this.ids.toString('hex', slot * ID_BYTES, (slot + 1) * ID_BYTES) === id ? slot : undefined;
  }

  packOf(slot: number): string {
    return this.packIds[this.nums[slot * 4]!]!;
  }

  location(slot: number): { pack: string; offset: number; length: number; raw: number } {
    const at = slot * 4;
    return { pack: this.packOf(slot), offset: this.nums[at + 1]!, length: this.nums[at + 2]!, raw: this.nums[at + 3]! };
  }

  chunkIds(): string[] {
    return [...this.byKey.values()].map((slot) => this.ids.toString('hex', slot * ID_BYTES, (slot + 1) * ID_BYTES));
  }

  tableOf(pack: string): PackTable | undefined {
    const packSlot = this.packSlots.get(pack);
    if (packSlot === undefined) return undefined;
    const [first, count] = this.ranges[packSlot]!;
    const chunks: PackTable['chunks'] = [];
    for (let slot = first; slot < first + count; slot++) {
      const at = slot * 4;
      chunks.push([this.ids.toString('hex', slot * ID_BYTES, (slot + 1) * ID_BYTES), this.nums[at + 1]!, this.nums[at + 2]!, this.nums[at + 3]!]);
    }
    return { pack, chunks };
  }

  private point(slot: number, prefer: (knownPack: string) => boolean): void {
    const key = this.ids.toString('hex', slot * ID_BYTES, slot * ID_BYTES + KEY_BYTES);
    const known = this.byKey.get(key);
    if (known === undefined) this.byKey.set(key, slot);
    else if (
      this.ids.compare(this.ids, known * ID_BYTES, (known + 1) * ID_BYTES, slot * ID_BYTES, (slot + 1) * ID_BYTES) === 0 &&
      prefer(this.packOf(known))
    )
      this.byKey.set(key, slot);
  }

  private reserve(chunks: number): void {
    if (chunks * 4 <= this.nums.length) return;
    const capacity = Math.max(1024, chunks, (this.nums.length / 4) * 2);
    const ids = Buffer.alloc(capacity * ID_BYTES);
    this.ids.copy(ids);
    const nums = new Uint32Array(capacity * 4);
    nums.set(this.nums);
    this.ids = ids;
    this.nums = nums;
  }
}
