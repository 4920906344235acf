/**
 * This process's view of which security domains hold sessions, in least-recently-used order,
 * with a count of sessions per domain. It bounds what the client store keeps (keys and
 * sessions) without asking the {@link SessionStore}, which cannot list its keys. Counts follow
 * this process's own writes and takes; a store shared with other processes may hold fewer (they
 * took some) or more (they wrote some), which only makes the bound approximate.
 */
import type { DomainKey } from './domain-key.js';

/** One domain's sessions as this process counts them. */
export interface DomainRecord {
  readonly key: DomainKey;
  /** TLS 1.3 tickets on the domain's stack. */
  tickets: number;
  /** Whether a TLS 1.2 session is stored. */
  session: boolean;
}

export class DomainIndex {
  // Map iteration order is insertion order: re-inserting on use keeps the oldest first.
  readonly #records = new Map<string, DomainRecord>();
  #total = 0;

  /** Domains with at least one session. */
  get size(): number {
    return this.#records.size;
  }

  /** Sessions over every domain. */
  get total(): number {
    return this.#total;
  }

  /** Marks the domain most recently used, creating its record. */
  touch(key: DomainKey): DomainRecord {
    const found = this.#records.get(key.id);
    if (found !== undefined) {
      this.#records.delete(key.id);
      this.#records.set(key.id, found);
      return found;
    }
    const record: DomainRecord = { key, tickets: 0, session: false };
    this.#records.set(key.id, record);
    return record;
  }

  /** The domain's record, if any, without changing the order. */
  peek(key: DomainKey): DomainRecord | undefined {
    return this.#records.get(key.id);
  }

  /** Marks the domain most recently used if it is known (a lookup does not create records). */
  use(key: DomainKey): void {
    const found = this.#records.get(key.id);
    if (found === undefined) return;
    this.#records.delete(key.id);
    this.#records.set(key.id, found);
  }

  /** A ticket was pushed; returns true when the stack was full and its oldest ticket fell off. */
  ticketPushed(record: DomainRecord, max: number): boolean {
    if (record.tickets >= max) return true;
    record.tickets++;
    this.#total++;
    return false;
  }

  /** `count` tickets left the stack (taken, expired or removed). */
  ticketsRemoved(key: DomainKey, count: number): void {
    const record = this.#records.get(key.id);
    if (record === undefined || count <= 0) return;
    const n = Math.min(count, record.tickets);
    record.tickets -= n;
    this.#total -= n;
    this.#dropIfEmpty(record);
  }

  /** The store answered that the stack is empty. */
  ticketsEmpty(key: DomainKey): void {
    const record = this.#records.get(key.id);
    if (record !== undefined) this.ticketsRemoved(key, record.tickets);
  }

  sessionSet(record: DomainRecord): void {
    if (record.session) return;
    record.session = true;
    this.#total++;
  }

  sessionRemoved(key: DomainKey): void {
    const record = this.#records.get(key.id);
    if (record === undefined || !record.session) return;
    record.session = false;
    this.#total--;
    this.#dropIfEmpty(record);
  }

  /** Removes and returns the least recently used domains until both bounds hold. */
  shrink(maxKeys: number, maxSessions: number): DomainRecord[] {
    const removed: DomainRecord[] = [];
    for (const record of this.#records.values()) {
      if (this.#records.size <= maxKeys && this.#total <= maxSessions) break;
      this.#remove(record);
      removed.push(record);
    }
    return removed;
  }

  /** Removes and returns every record. */
  drain(): DomainRecord[] {
    const all = [...this.#records.values()];
    this.#records.clear();
    this.#total = 0;
    return all;
  }

  #remove(record: DomainRecord): void {
    this.#records.delete(record.key.id);
    this.#total -= record.tickets + (record.session ? 1 : 0);
  }

  #dropIfEmpty(record: DomainRecord): void {
    if (record.tickets === 0 && !record.session) this.#records.delete(record.key.id);
  }
}
