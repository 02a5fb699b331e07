/**
 * An in-memory {@link Ledger} with the Table adapter's semantics, for core unit tests: insert-if-absent, replace
 * and delete only at the current ETag (a new ETag on every write), the same key/kind/state/value checks and size
 * limit, values round-tripped through JSON, `list` in row-key (hash) order so nobody relies on insertion order.
 * The contract suite in `test/storage` holds it to the real adapter on Azurite.
 *
 * Fault hooks for crash and retry tests: `failNext(operation, times, error)` makes the next calls fail before they
 * take effect; `calls` records every call in order.
 */
import { StorageError } from '../../src/core/errors';
import {
  checkLedgerAddress,
  decodeLedgerValue,
  encodeLedgerValue,
  ledgerConflict,
  ledgerRowKey,
  type Ledger,
  type LedgerListFilter,
  type LedgerRecord,
} from '../../src/core/ledger';

export type FakeLedgerOperation = 'get' | 'create' | 'update' | 'list' | 'delete';

interface StoredRecord {
  key: string;
  etag: string;
  state: string;
  json: string;
  updatedAt: number;
}

export class FakeLedger implements Ledger {
  /** Every call, in order: the operation, kind and key (`''` for list). */
  readonly calls: { operation: FakeLedgerOperation; kind: string; key: string }[] = [];
  private readonly partitions = new Map<string, Map<string, StoredRecord>>();
  private readonly faults = new Map<FakeLedgerOperation, { times: number; error: () => Error }>();
  private version = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** The next `times` calls of `operation` fail with `error()` (default `storage.unavailable`, retry), changing nothing. */
  failNext(
    operation: FakeLedgerOperation,
    times = 1,
    error: () => Error = () => new StorageError('storage.unavailable', `Storage ledger.${operation} failed: unavailable (fake)`, 'retry', { operation: `ledger.${operation}`, status: 503 }),
  ): void {
    this.faults.set(operation, { times, error });
  }

  /** Every stored record of every kind (test assertions, reconciliation). */
  dump(): LedgerRecord<unknown>[] {
    const all: LedgerRecord<unknown>[] = [];
    for (const [kind, rows] of this.partitions) for (const row of rows.values()) all.push(toRecord(kind, row));
    return all;
  }

  async get<T>(kind: string, key: string): Promise<LedgerRecord<T> | undefined> {
    checkLedgerAddress(kind, key);
    await this.enter('get', kind, key);
    const row = this.partition(kind).get(ledgerRowKey(key));
    return row ? toRecord<T>(kind, row) : undefined;
  }

  async create<T>(kind: string, key: string, state: string, value: T): Promise<LedgerRecord<T> | undefined> {
    checkLedgerAddress(kind, key, state);
    const json = encodeLedgerValue(kind, value);
    await this.enter('create', kind, key);
    // Check and insert in one synchronous step: the fake's equivalent of the service's atomic insert.
    const rows = this.partition(kind);
    const rowKey = ledgerRowKey(key);
    if (rows.has(rowKey)) return undefined;
    const row: StoredRecord = { key, etag: this.nextEtag(), state, json, updatedAt: this.now() };
    rows.set(rowKey, row);
    return toRecord<T>(kind, row);
  }

  async update<T>(record: LedgerRecord<T>, state: string, value: T): Promise<LedgerRecord<T>> {
    checkLedgerAddress(record.kind, record.key, state);
    const json = encodeLedgerValue(record.kind, value);
    await this.enter('update', record.kind, record.key);
    const rows = this.partition(record.kind);
    const rowKey = ledgerRowKey(record.key);
    const current = rows.get(rowKey);
    if (!current) throw ledgerConflict(record.kind, 'update', true);
    if (current.etag !== record.etag) throw ledgerConflict(record.kind, 'update');
    const row: StoredRecord = { key: record.key, etag: this.nextEtag(), state, json, updatedAt: this.now() };
    rows.set(rowKey, row);
    return toRecord<T>(record.kind, row);
  }

  async *list<T>(kind: string, filter: LedgerListFilter = {}): AsyncIterable<LedgerRecord<T>> {
    checkLedgerAddress(kind, 'list');
    await this.enter('list', kind, '');
    const states = filter.states ? new Set(filter.states) : undefined;
    const rows = [...this.partition(kind).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [, row] of rows) if (!states || states.has(row.state)) yield toRecord<T>(kind, row);
  }

  async delete(record: LedgerRecord<unknown>): Promise<void> {
    checkLedgerAddress(record.kind, record.key);
    await this.enter('delete', record.kind, record.key);
    const rows = this.partition(record.kind);
    const rowKey = ledgerRowKey(record.key);
    const current = rows.get(rowKey);
    if (!current) return;
    if (current.etag !== record.etag) throw ledgerConflict(record.kind, 'delete');
    rows.delete(rowKey);
  }

  private partition(kind: string): Map<string, StoredRecord> {
    let rows = this.partitions.get(kind);
    if (!rows) this.partitions.set(kind, (rows = new Map()));
    return rows;
  }

  /** Records the call, yields once (so concurrent callers interleave as they would over the network), then faults. */
  private async enter(operation: FakeLedgerOperation, kind: string, key: string): Promise<void> {
    this.calls.push({ operation, kind, key });
    await Promise.resolve();
    const fault = this.faults.get(operation);
    if (fault && fault.times > 0) {
      fault.times -= 1;
      throw fault.error();
    }
  }

  private nextEtag(): string {
    this.version += 1;
    return `W/"fake-${this.version}"`;
  }
}

function toRecord<T>(kind: string, row: StoredRecord): LedgerRecord<T> {
  // Parse on every read so callers never share (and mutate) the stored value, as with the real service.
  return { kind, key: row.key, etag: row.etag, state: row.state, value: decodeLedgerValue<T>(kind, row.json), updatedAt: row.updatedAt };
}
