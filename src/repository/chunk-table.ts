import type { PackTable } from './pack-index';

const ID_BYTES = 32;
/** [pack slot, offset, length, raw] per chunk. */
const NUMS = 4;
/** Chunks per page of the arrays: pages are added, never copied, so the index grows without transient copies or unused capacity. */
const PAGE_BITS = 12;
const PAGE_CHUNKS = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_CHUNKS - 1;

const idOffset = (slot: number) => (slot & PAGE_MASK) * ID_BYTES;

/**
 * Every chunk of every pack in paged typed arrays, found through an
 * open-addressing hash of their ids: about 55 bytes per chunk, where objects,
 * a Map and hex keys took ~140 on the V8 heap (370,000 chunks, about 12 GiB
 * stored: 17 MiB instead of 50). The index is the one part of a worker's
 * memory that grows with the data stored (30,000 chunks per GiB), and a
 * lookup makes no garbage; a restore of 10 GiB makes 300,000 of them.
 */
export class ChunkTable {
  /** Per page: PAGE_CHUNKS ids of 32 bytes, and [pack slot, offset, length, raw] of each of those chunks. */
  private idPages: Buffer[] = [];
  private numPages: Uint32Array[] = [];
  private count = 0;
  /** Per distinct id, its preferred copy's chunk slot + 1 (0: empty), at the id's first 4 bytes and on (ids are hashes, so those bytes are uniform). */
  private slots = new Int32Array(0);
  private distinct = 0;
  private readonly packIds: string[] = [];
  /** Per pack slot: its first chunk slot and how many it has. */
  private readonly ranges: [first: number, count: number][] = [];
  private readonly packSlots = new Map<string, number>();
  /** Where a looked-up id is decoded, so that finding makes no garbage. */
  private readonly wanted = Buffer.alloc(ID_BYTES);

  get chunks(): number {
    return this.distinct;
  }

  get packs(): number {
    return this.packSlots.size;
  }

  /** The bytes of its arrays: ids, locations and the hash. */
  get heldBytes(): number {
    return this.idPages.length * PAGE_CHUNKS * (ID_BYTES + NUMS * Uint32Array.BYTES_PER_ELEMENT) + this.slots.byteLength;
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
    const packSlot = this.startPack(table.pack, table.chunks.length);
    for (const [id, offset, length, raw] of table.chunks) {
      const slot = this.newSlot();
      this.idPages[slot >>> PAGE_BITS]!.write(id, idOffset(slot), ID_BYTES, 'hex');
      this.numPages[slot >>> PAGE_BITS]!.set([packSlot, offset, length, raw], (slot & PAGE_MASK) * NUMS);
      this.point(slot, prefer);
    }
  }

  /** Points each chunk's id at its best copy again (after the packs to avoid changed). */
  repoint(prefer: (knownPack: string) => boolean): void {
    this.slots.fill(0);
    this.distinct = 0;
    for (let slot = 0; slot < this.count; slot++) this.point(slot, prefer);
  }

  /** Forgets packs, then packs the arrays so their chunks' memory is reused: bytes are copied, not decoded again. */
  removePacks(gone: Set<string>, prefer: (knownPack: string) => boolean): void {
    const old = { idPages: this.idPages, numPages: this.numPages, packIds: [...this.packIds], ranges: [...this.ranges] };
    this.idPages = [];
    this.numPages = [];
    this.count = 0;
    this.slots = new Int32Array(0);
    this.distinct = 0;
    this.packIds.length = 0;
    this.ranges.length = 0;
    this.packSlots.clear();
    old.packIds.forEach((pack, oldPackSlot) => {
      if (gone.has(pack)) return;
      const [first, count] = old.ranges[oldPackSlot]!;
      const packSlot = this.startPack(pack, count);
      for (let from = first; from < first + count; from++) {
        const slot = this.newSlot();
        const fromNums = old.numPages[from >>> PAGE_BITS]!;
        const at = (from & PAGE_MASK) * NUMS;
        old.idPages[from >>> PAGE_BITS]!.copy(this.idPages[slot >>> PAGE_BITS]!, idOffset(slot), idOffset(from), idOffset(from) + ID_BYTES);
        this.numPages[slot >>> PAGE_BITS]!.set([packSlot, fromNums[at + 1]!, fromNums[at + 2]!, fromNums[at + 3]!], (slot & PAGE_MASK) * NUMS);
        this.point(slot, prefer);
      }
    });
  }

  /** The chunk slot of `id`, if a pack holds it. */
  find(id: string): number | undefined {
    if (this.distinct === 0 || id.length !== ID_BYTES * 2 || this.wanted.write(id, 'hex') !== ID_BYTES) return undefined;
    const entry = this.slots[this.probe(this.wanted, 0)]!;
    return entry === 0 ? undefined : entry - 1;
  }

  packOf(slot: number): string {
    return this.packIds[this.num(slot, 0)]!;
  }

  location(slot: number): { pack: string; offset: number; length: number; raw: number } {
    return { pack: this.packOf(slot), offset: this.num(slot, 1), length: this.num(slot, 2), raw: this.num(slot, 3) };
  }

  chunkIds(): string[] {
    const found: string[] = [];
    for (const entry of this.slots) if (entry !== 0) found.push(this.idAt(entry - 1));
    return found;
  }

  tableOf(pack: string): PackTable | undefined {
    const packSlot = this.packSlots.get(pack);
    if (packSlot === undefined) return undefined;
    const [first, count] = this.ranges[packSlot]!;
    const chunks: PackTable['chunks'] = [];
    for (let slot = first; slot < first + count; slot++) chunks.push([this.idAt(slot), this.num(slot, 1), this.num(slot, 2), this.num(slot, 3)]);
    return { pack, chunks };
  }

  /** A new pack slot for `pack`, whose `count` chunks take the next chunk slots. */
  private startPack(pack: string, count: number): number {
    const packSlot = this.packIds.length;
    this.packIds.push(pack);
    this.packSlots.set(pack, packSlot);
    this.ranges.push([this.count, count]);
    return packSlot;
  }

  /** The next chunk slot, on a new page when the last is full. */
  private newSlot(): number {
    const slot = this.count++;
    if ((slot & PAGE_MASK) === 0) {
      this.idPages.push(Buffer.alloc(PAGE_CHUNKS * ID_BYTES));
      this.numPages.push(new Uint32Array(PAGE_CHUNKS * NUMS));
    }
    return slot;
  }

  private idAt(slot: number): string {
    return this.idPages[slot >>> PAGE_BITS]!.toString('hex', idOffset(slot), idOffset(slot) + ID_BYTES);
  }

  /** Field `field` of [pack slot, offset, length, raw] of a chunk. */
  private num(slot: number, field: number): number {
    return this.numPages[slot >>> PAGE_BITS]![(slot & PAGE_MASK) * NUMS + field]!;
  }

  /** The hash slot holding the id at `bytes[from, from + 32)`, or the empty one where it would go. */
  private probe(bytes: Buffer, from: number): number {
    const mask = this.slots.length - 1;
    const head = bytes.readUInt32LE(from);
    const second = bytes.readUInt32LE(from + 4);
    for (let at = head & mask; ; at = (at + 1) & mask) {
      const entry = this.slots[at]!;
      if (entry === 0) return at;
      const page = this.idPages[(entry - 1) >>> PAGE_BITS]!;
      const known = idOffset(entry - 1);
      // Two words first: a full compare crosses into C++, and neighbours in a probe run almost never share them.
      if (
        page.readUInt32LE(known) === head &&
        page.readUInt32LE(known + 4) === second &&
        page.compare(bytes, from, from + ID_BYTES, known, known + ID_BYTES) === 0
      )
        return at;
    }
  }

  private point(slot: number, prefer: (knownPack: string) => boolean): void {
    // At most three quarters full: probe runs stay a few slots long, and at 300,000 chunks (10 GiB) the hash takes 2 MiB, not 4.
    if ((this.distinct + 1) * 4 > this.slots.length * 3) this.rehash(Math.max(1024, this.slots.length * 2));
    const at = this.probe(this.idPages[slot >>> PAGE_BITS]!, idOffset(slot));
    const known = this.slots[at]!;
    if (known === 0) {
      this.slots[at] = slot + 1;
      this.distinct++;
    } else if (prefer(this.packOf(known - 1))) this.slots[at] = slot + 1;
  }

  private rehash(size: number): void {
    const old = this.slots;
    this.slots = new Int32Array(size);
    for (const entry of old) if (entry !== 0) this.slots[this.probe(this.idPages[(entry - 1) >>> PAGE_BITS]!, idOffset(entry - 1))] = entry;
  }
}
