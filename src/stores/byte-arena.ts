import { randomBytes } from 'node:crypto';

/**
 * A map from byte keys to byte values with an expiry, kept in a few large buffers rather than an
 * object or string per entry: a server cache holds many thousands of sessions, and in a `Map` each
 * cost about 330 heap bytes beside a 177-byte DER. Here an entry is one record of its bytes and a
 * 9-byte header, plus a 4-byte slot of the hash table (at most 80% full).
 *
 * Records, `[varint keyLength * 2 + stack][varint valueLength * 2 + prefixed][int48 expiry ms]
 * [key][value]`, are appended to the newest chunk, so chunks in order hold records in write
 * order: the least recently written entry is the first live record of the oldest chunk, with no
 * list per entry. A replaced or deleted record stays as a hole, its expiry overwritten with a
 * mark. A chunk whose holes outgrow its live bytes is rewritten with its live records only, and
 * merged with a neighbour when both fit in one, so memory stays within about twice the live
 * bytes (the oldest chunk, which eviction drains, and the newest aside); records keep their
 * order through both.
 *
 * Keys of one user often share their first bytes (a server cache: a prefix and its session id
 * context before each id). Given that prefix ({@link sharePrefix}), a chunk made afterwards keeps
 * it once, and its records whose keys start with it keep only the rest (flag `prefixed`).
 *
 * Addresses are `chunk id * 64 KiB + offset`, stored plus one in a Uint32Array (0: empty slot):
 * at most 65535 chunks of up to 64 KiB (a record larger than that gets a chunk of its own), which
 * bounds the arena at about 4 GiB; past it the least recently written entries make room.
 *
 * Expiry is kept in whole milliseconds (6 bytes, rounded down: never returned late). One thread
 * uses it: the record last read is described by module fields, not by an object per read.
 */

const SPAN_BITS = 16;
/** Bytes addressable in one chunk: a record starts below this offset. */
const SPAN = 1 << SPAN_BITS;
const OFFSET_MASK = SPAN - 1;
/** Chunk ids 0..65534: the highest address plus one still fits in a Uint32. */
const MAX_CHUNKS = 65535;
/** The first chunks are small so that a store of a few entries stays small. */
const MIN_CHUNK = 1024;
const MIN_SLOTS = 16;
const EXPIRY_BYTES = 6;
const MAX_EXPIRY = 2 ** 47 - 1;
/** The expiry a removed record is marked with: walks skip it without a lookup. */
const DEAD = -(2 ** 47);
const MIN_EXPIRY = DEAD + 1;

/** A key taken out of the arena with its expiry. */
export interface ArenaEntry {
  key: Buffer;
  expiresAtMs: number;
  /** Its value, when asked for. */
  value?: Buffer;
}

// The record last read by readRecord.
let rKeyLength = 0;
let rStack = false;
let rPrefixed = false;
let rValueLength = 0;
let rExpiry = 0;
let rKey = 0;
let rValue = 0;
let rEnd = 0;
let vNext = 0;

function readVarint(b: Buffer, o: number): number {
  let v = 0;
  let mul = 1;
  let x: number;
  do {
    x = b[o++]!;
    v += (x & 0x7f) * mul;
    mul *= 128;
  } while (x & 0x80);
  vNext = o;
  return v;
}

function varintBytes(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(b: Buffer, o: number, n: number): number {
  while (n >= 128) {
    b[o++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  b[o++] = n;
  return o;
}

function readRecord(b: Buffer, o: number): void {
  const first = readVarint(b, o);
  rKeyLength = Math.floor(first / 2);
  rStack = (first & 1) === 1;
  const second = readVarint(b, vNext);
  rValueLength = Math.floor(second / 2);
  rPrefixed = (second & 1) === 1;
  rExpiry = vNext;
  rKey = vNext + EXPIRY_BYTES;
  rValue = rKey + rKeyLength;
  rEnd = rValue + rValueLength;
}

function recordBytes(keyLength: number, valueLength: number): number {
  return varintBytes(keyLength * 2 + 1) + varintBytes(valueLength * 2 + 1) + EXPIRY_BYTES + keyLength + valueLength;
}

// FNV-1a, fed in parts (a shared prefix, then the rest of the key), then murmur3's finalizer
// for the low bits the table uses.
function feed(h: number, b: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h;
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function startsWith(key: Uint8Array, prefix: Buffer): boolean {
  if (key.length < prefix.length) return false;
  for (let i = prefix.length - 1; i >= 0; i--) if (key[i] !== prefix[i]) return false;
  return true;
}

function clampExpiry(ms: number): number {
  const whole = Math.floor(ms);
  if (whole >= MAX_EXPIRY || Number.isNaN(whole)) return MAX_EXPIRY;
  return whole < MIN_EXPIRY ? MIN_EXPIRY : whole;
}

export class ByteArena {
  /** Chunks by id; `undefined` for a free id. */
  #chunks: Array<Buffer | undefined> = [];
  /** Bytes written into each chunk. */
  #used: number[] = [];
  /** At most the earliest expiry of the live records of each chunk: a flush passes over later chunks. */
  #minExpiry: number[] = [];
  /** Bytes of live records in each chunk. */
  #live: number[] = [];
  /** The key prefix each chunk keeps once, if any. */
  #prefixOf: Array<Buffer | undefined> = [];
  /** The prefix new chunks keep. */
  #prefix: Buffer | undefined;
  /** Chunk ids, oldest first; the last one takes new records. */
  #order: number[] = [];
  #freeIds: number[] = [];
  /** Offset in the oldest chunk before which every record is dead. */
  #headCursor = 0;
  #slots = new Uint32Array(MIN_SLOTS);
  #count = 0;
  #liveBytes = 0;
  /** A random hash seed: keys can come from peers. */
  readonly #seed = (randomBytes(4).readUInt32LE(0) ^ 0x811c9dc5) >>> 0;

  /** Number of entries. */
  get size(): number {
    return this.#count;
  }

  /**
   * Keys that start with `prefix` are kept without it in chunks made from now on (a server
   * cache's keys: the same prefix before every session id).
   */
  sharePrefix(prefix: Uint8Array): void {
    if (this.#prefix === undefined || !this.#prefix.equals(prefix)) this.#prefix = Buffer.from(prefix);
  }

  /** The slot of `key`, or -1. Valid until the arena next changes. */
  slotOf(key: Uint8Array): number {
    const slots = this.#slots;
    const mask = slots.length - 1;
    const n = key.length;
    for (let i = finish(feed(this.#seed, key, 0, n)) & mask; ; i = (i + 1) & mask) {
      const a = slots[i]!;
      if (a === 0) return -1;
      const c = (a - 1) >>> SPAN_BITS;
      const b = this.#chunks[c]!;
      readRecord(b, (a - 1) & OFFSET_MASK);
      const p = rPrefixed ? this.#prefixOf[c]! : undefined;
      const skip = p === undefined ? 0 : p.length;
      if (rKeyLength + skip !== n) continue;
      // From the end: keys of one user share their first bytes and differ in the last.
      let j = rKeyLength - 1;
      const at = rKey;
      while (j >= 0 && b[at + j] === key[skip + j]) j--;
      if (j < 0 && (p === undefined || startsWith(key, p))) return i;
    }
  }

  /** Expiry of the entry in `slot`. */
  expiryAt(slot: number): number {
    const a = this.#slots[slot]! - 1;
    const b = this.#chunks[a >>> SPAN_BITS]!;
    readRecord(b, a & OFFSET_MASK);
    return b.readIntLE(rExpiry, EXPIRY_BYTES);
  }

  /** Whether the entry in `slot` was written as a stack. */
  isStackAt(slot: number): boolean {
    const a = this.#slots[slot]! - 1;
    readRecord(this.#chunks[a >>> SPAN_BITS]!, a & OFFSET_MASK);
    return rStack;
  }

  /** The value in `slot`, over the arena's memory: valid until the arena next changes; writable in place. */
  viewAt(slot: number): Buffer {
    const a = this.#slots[slot]! - 1;
    const b = this.#chunks[a >>> SPAN_BITS]!;
    readRecord(b, a & OFFSET_MASK);
    return b.subarray(rValue, rEnd);
  }

  /** A fresh copy of the value in `slot`: the caller owns it. */
  copyAt(slot: number): Buffer {
    const a = this.#slots[slot]! - 1;
    const b = this.#chunks[a >>> SPAN_BITS]!;
    readRecord(b, a & OFFSET_MASK);
    const out = Buffer.allocUnsafe(rValueLength);
    b.copy(out, 0, rValue, rEnd);
    return out;
  }

  /**
   * For a lookup, in one read of the record: a fresh copy of the single value in `slot` when it
   * expires after `nowMs`, `null` when it has expired, `undefined` when the entry is a stack.
   */
  liveValueAt(slot: number, nowMs: number): Buffer | null | undefined {
    const a = this.#slots[slot]! - 1;
    const b = this.#chunks[a >>> SPAN_BITS]!;
    readRecord(b, a & OFFSET_MASK);
    if (rStack) return undefined;
    if (b.readIntLE(rExpiry, EXPIRY_BYTES) <= nowMs) return null;
    const out = Buffer.allocUnsafe(rValueLength);
    b.copy(out, 0, rValue, rEnd);
    return out;
  }

  /** Changes the expiry of the entry in `slot`, in place (its write order stays). */
  setExpiryAt(slot: number, expiresAtMs: number): void {
    const a = this.#slots[slot]! - 1;
    const b = this.#chunks[a >>> SPAN_BITS]!;
    readRecord(b, a & OFFSET_MASK);
    const at = clampExpiry(expiresAtMs);
    b.writeIntLE(at, rExpiry, EXPIRY_BYTES);
    const c = a >>> SPAN_BITS;
    if (at < this.#minExpiry[c]!) this.#minExpiry[c] = at;
  }

  /** Stores `value` under `key` as the most recently written entry, replacing any entry of that key. */
  set(key: Uint8Array, value: Uint8Array, expiresAtMs: number, stack = false): void {
    const old = this.slotOf(key);
    if (old >= 0) this.removeAt(old);
    const p = this.#prefix;
    const skip = p !== undefined && startsWith(key, p) ? p.length : 0;
    const span = recordBytes(key.length - skip, value.length);
    const addr = this.#room(span, skip > 0);
    const c = addr >>> SPAN_BITS;
    const b = this.#chunks[c]!;
    let o = writeVarint(b, addr & OFFSET_MASK, (key.length - skip) * 2 + (stack ? 1 : 0));
    o = writeVarint(b, o, value.length * 2 + (skip > 0 ? 1 : 0));
    const at = clampExpiry(expiresAtMs);
    b.writeIntLE(at, o, EXPIRY_BYTES);
    if (at < this.#minExpiry[c]!) this.#minExpiry[c] = at;
    o += EXPIRY_BYTES;
    b.set(skip > 0 ? key.subarray(skip) : key, o);
    b.set(value, o + key.length - skip);
    this.#used[c]! += span;
    this.#live[c]! += span;
    this.#liveBytes += span;
    if ((this.#count + 1) * 5 > this.#slots.length * 4) this.#resize(this.#slots.length * 2);
    this.#place(addr, finish(feed(this.#seed, key, 0, key.length)));
    this.#count++;
  }

  /** Removes the entry under `key`; true when there was one. */
  delete(key: Uint8Array): boolean {
    const slot = this.slotOf(key);
    if (slot < 0) return false;
    this.removeAt(slot);
    return true;
  }

  /** Removes the entry in `slot`. */
  removeAt(slot: number): void {
    const slots = this.#slots;
    const mask = slots.length - 1;
    const a = slots[slot]! - 1;
    // Backward-shift deletion: entries after the hole that may move into it do, so lookups
    // never need tombstones.
    let hole = slot;
    for (let j = (slot + 1) & mask; slots[j] !== 0; j = (j + 1) & mask) {
      const home = this.#hashAt(slots[j]! - 1) & mask;
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        slots[hole] = slots[j]!;
        hole = j;
      }
    }
    slots[hole] = 0;
    this.#count--;
    const c = a >>> SPAN_BITS;
    const b = this.#chunks[c]!;
    readRecord(b, a & OFFSET_MASK);
    b.writeIntLE(DEAD, rExpiry, EXPIRY_BYTES);
    const span = rEnd - (a & OFFSET_MASK);
    this.#live[c]! -= span;
    this.#liveBytes -= span;
    this.#reclaim(c);
  }

  /** The slot of the least recently written entry, or -1 when empty. */
  oldestSlot(): number {
    if (this.#order.length === 0) return -1;
    // Any other chunk with no live record is freed: the walk ends on a live one or the end.
    const c = this.#order[0]!;
    const b = this.#chunks[c]!;
    const used = this.#used[c]!;
    while (this.#headCursor < used) {
      readRecord(b, this.#headCursor);
      if (b.readIntLE(rExpiry, EXPIRY_BYTES) !== DEAD) return this.#liveSlot(c * SPAN + this.#headCursor);
      this.#headCursor = rEnd;
    }
    return -1;
  }

  /** A fresh copy of the key in `slot`. */
  keyAt(slot: number): Buffer {
    const a = this.#slots[slot]! - 1;
    const b = this.#chunks[a >>> SPAN_BITS]!;
    readRecord(b, a & OFFSET_MASK);
    return this.#fullKey(a >>> SPAN_BITS, b);
  }

  /** Removes and returns the least recently written entry (its value too when `withValue`), or `undefined` when empty. */
  takeOldest(withValue = false): ArenaEntry | undefined {
    const slot = this.oldestSlot();
    if (slot < 0) return undefined;
    const entry: ArenaEntry = { key: this.keyAt(slot), expiresAtMs: this.expiryAt(slot) };
    if (withValue) entry.value = this.copyAt(slot);
    this.removeAt(slot);
    return entry;
  }

  /** Removes and returns every entry expired at `nowMs` (expiring at or before it), oldest first. */
  takeExpired(nowMs: number, withValues = false): ArenaEntry[] {
    const out = this.#entries(nowMs, withValues);
    for (const e of out) this.delete(e.key);
    return out;
  }

  /** Removes and returns every entry, oldest first. */
  takeAll(withValues = false): ArenaEntry[] {
    const out = this.#entries(Number.POSITIVE_INFINITY, withValues);
    this.clear();
    return out;
  }

  /** Removes every entry and gives the memory back. */
  clear(): void {
    this.#chunks = [];
    this.#prefixOf = [];
    this.#minExpiry = [];
    this.#used = [];
    this.#live = [];
    this.#order = [];
    this.#freeIds = [];
    this.#headCursor = 0;
    this.#slots = new Uint32Array(MIN_SLOTS);
    this.#count = 0;
    this.#liveBytes = 0;
  }

  /** Bytes held by chunks (for tests: holes are reclaimed). */
  get chunkBytes(): number {
    let n = 0;
    for (const b of this.#chunks) n += b?.length ?? 0;
    return n;
  }

  /** Bytes of live records (for tests). */
  get liveBytes(): number {
    return this.#liveBytes;
  }

  // ---- internals ----

  #hashAt(a: number): number {
    const c = a >>> SPAN_BITS;
    const b = this.#chunks[c]!;
    readRecord(b, a & OFFSET_MASK);
    let h = this.#seed;
    if (rPrefixed) {
      const p = this.#prefixOf[c]!;
      h = feed(h, p, 0, p.length);
    }
    return finish(feed(h, b, rKey, rValue));
  }

  /** A fresh copy of the whole key of the record last read, in chunk `c` (`b`). */
  #fullKey(c: number, b: Buffer): Buffer {
    const rest = b.subarray(rKey, rValue);
    return rPrefixed ? Buffer.concat([this.#prefixOf[c]!, rest]) : Buffer.from(rest);
  }

  /** The slot pointing at the live record at address `a`. */
  #liveSlot(a: number): number {
    const slots = this.#slots;
    const mask = slots.length - 1;
    for (let i = this.#hashAt(a) & mask; ; i = (i + 1) & mask) {
      const s = slots[i]!;
      if (s === 0) return -1;
      if (s === a + 1) return i;
    }
  }

  #place(a: number, h: number): void {
    const slots = this.#slots;
    const mask = slots.length - 1;
    let i = h & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = a + 1;
  }

  #resize(length: number): void {
    const old = this.#slots;
    this.#slots = new Uint32Array(length);
    for (const s of old) if (s !== 0) this.#place(s - 1, this.#hashAt(s - 1));
  }

  /** The address where a record of `span` bytes goes: the end of the newest chunk, or a new chunk. */
  #room(span: number, prefixed: boolean): number {
    const order = this.#order;
    if (order.length > 0) {
      const c = order[order.length - 1]!;
      const used = this.#used[c]!;
      const fits = used < SPAN && used + span <= this.#chunks[c]!.length;
      // A prefixed record goes where the prefix is kept: after sharePrefix, in a new chunk.
      if (fits && (!prefixed || this.#prefixOf[c] === this.#prefix)) return c * SPAN + used;
    }
    const c = this.#newChunk(span);
    return c * SPAN;
  }

  #newChunk(span: number): number {
    // Out of addresses (about 4 GiB held): the least recently written entries make room.
    while (this.#freeIds.length === 0 && this.#chunks.length >= MAX_CHUNKS && this.#count > 0) {
      this.removeAt(this.oldestSlot());
    }
    const size = span > SPAN ? span : Math.min(SPAN, Math.max(MIN_CHUNK, span, this.#liveBytes));
    const c = this.#freeIds.pop() ?? this.#chunks.length;
    this.#chunks[c] = Buffer.allocUnsafeSlow(size);
    this.#prefixOf[c] = this.#prefix;
    this.#minExpiry[c] = MAX_EXPIRY;
    this.#used[c] = 0;
    this.#live[c] = 0;
    this.#order.push(c);
    return c;
  }

  #freeChunk(c: number): void {
    const at = this.#order.indexOf(c);
    this.#order.splice(at, 1);
    if (at === 0) this.#headCursor = 0;
    this.#chunks[c] = undefined;
    this.#prefixOf[c] = undefined;
    this.#freeIds.push(c);
  }

  /** After a record of chunk `c` died: frees the chunk when empty, rewrites it when mostly holes. */
  #reclaim(c: number): void {
    const order = this.#order;
    const tail = order[order.length - 1];
    if (this.#live[c] === 0) {
      // The newest chunk keeps taking records; any other empty chunk goes.
      if (c !== tail) this.#freeChunk(c);
      else if (this.#chunks[c]!.length > SPAN) this.#freeChunk(c);
      else {
        this.#used[c] = 0;
        this.#minExpiry[c] = MAX_EXPIRY;
        if (order.length === 1) this.#headCursor = 0;
      }
      return;
    }
    // The oldest chunk drains through eviction; the newest is still being written.
    if (c === tail || c === order[0]) return;
    if (this.#live[c]! * 2 >= this.#used[c]!) return;
    const at = order.indexOf(c);
    const next = order[at + 1]!;
    // Merged only with a neighbour that keeps the same prefix: records move byte for byte.
    if (next !== tail && this.#live[c]! + this.#live[next]! <= SPAN && this.#prefixOf[next] === this.#prefixOf[c]) {
      this.#rewrite(c, next);
      return;
    }
    const prev = order[at - 1]!;
    if (at - 1 > 0 && this.#live[prev]! + this.#live[c]! <= SPAN && this.#prefixOf[prev] === this.#prefixOf[c]) {
      this.#rewrite(prev, c);
      return;
    }
    this.#rewrite(c, undefined);
  }

  /** Rewrites chunk `c` with its live records, then those of `next` (freed), in order. */
  #rewrite(c: number, next: number | undefined): void {
    const size = this.#live[c]! + (next === undefined ? 0 : this.#live[next]!);
    const out = Buffer.allocUnsafeSlow(size);
    let p = this.#moveLive(c, out, c, 0);
    if (next !== undefined) {
      p = this.#moveLive(next, out, c, p);
      this.#freeChunk(next);
    }
    this.#chunks[c] = out;
    this.#used[c] = p;
    this.#live[c] = p;
  }

  /** Copies the live records of chunk `from` into `out` at `p` (chunk id `to`), repointing their slots. */
  #moveLive(from: number, out: Buffer, to: number, p: number): number {
    const b = this.#chunks[from]!;
    const used = this.#used[from]!;
    let earliest = MAX_EXPIRY;
    for (let o = 0; o < used; ) {
      readRecord(b, o);
      const end = rEnd;
      const at = b.readIntLE(rExpiry, EXPIRY_BYTES);
      if (at !== DEAD) {
        const slot = this.#liveSlot(from * SPAN + o);
        b.copy(out, p, o, end);
        this.#slots[slot] = to * SPAN + p + 1;
        p += end - o;
        if (at < earliest) earliest = at;
      }
      o = end;
    }
    if (from === to || earliest < this.#minExpiry[to]!) this.#minExpiry[to] = earliest;
    return p;
  }

  /** Keys and expiries (and values) of live entries expiring at or before `untilMs`, oldest first. */
  #entries(untilMs: number, withValues: boolean): ArenaEntry[] {
    const out: ArenaEntry[] = [];
    for (const c of this.#order) {
      // A full walk of every chunk that may hold one, not a stop at the first live entry: a
      // clock step back must not hide entries.
      if (this.#minExpiry[c]! > untilMs) continue;
      const b = this.#chunks[c]!;
      const used = this.#used[c]!;
      for (let o = 0; o < used; ) {
        readRecord(b, o);
        const expiresAtMs = b.readIntLE(rExpiry, EXPIRY_BYTES);
        if (expiresAtMs !== DEAD && expiresAtMs <= untilMs) {
          const entry: ArenaEntry = { key: this.#fullKey(c, b), expiresAtMs };
          if (withValues) entry.value = Buffer.from(b.subarray(rValue, rEnd));
          out.push(entry);
        }
        o = rEnd;
      }
    }
    return out;
  }
}
