/**
 * {@link Ledger} over Azure Table Storage (`@azure/data-tables`), one table.
 *
 * Row layout: PartitionKey = kind; RowKey = SHA-256 hex of the key (keys are blob names with `/ # ?` and other
 * characters a RowKey forbids, and can outgrow its 1 KiB); properties `key` (the original key as ASCII JSON),
 * `state` (its own property so `list` filters server-side), `updatedAt` (Int64 ms), `parts` and `v0…vN` (the
 * value's ASCII JSON, split under the 64 KiB string-property limit). ASCII only: see `encodeLedgerValue`. Conditional writes are the service's: insert fails 409 when the row
 * exists, replace and delete fail 412 when the ETag moved on.
 */
import { odata, TableClient, type TableEntity, type TableEntityResult } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import { StorageError, type SyncError } from '../core/errors';
import {
  asciiJson,
  checkLedgerAddress,
  decodeLedgerValue,
  encodeLedgerValue,
  LEDGER_VALUE_PART_CHARS,
  ledgerConflict,
  ledgerRowKey,
  type Ledger,
  type LedgerListFilter,
  type LedgerRecord,
} from '../core/ledger';
import { toStorageError } from './storageErrors';

/** How to reach the table service: a connection string (Azurite, keys) or an endpoint with an Entra credential. */
export type TableLedgerConnection = { connectionString: string } | { endpoint: string; credential: TokenCredential };

/** Options of the adapter. */
export interface TableLedgerOptions {
  /** The writer's clock for `updatedAt`, in ms. Default `Date.now`. */
  now?: () => number;
}

/** The adapter: the port plus start-up provisioning. */
export interface TableLedger extends Ledger {
  readonly tableName: string;
  /** Creates the table when missing (idempotent); called once at start by the composition root. */
  ensureTable(): Promise<void>;
}

interface Row {
  key: string;
  state: string;
  updatedAt: bigint;
  parts: number;
  [part: `v${number}`]: string;
}

export function createTableLedger(connection: TableLedgerConnection, tableName: string, options: TableLedgerOptions = {}): TableLedger {
  // Azurite serves http; the SDK refuses to send a shared key over http unless told, and only loopback uses http.
  const allowInsecureConnection = endpointOf(connection).toLowerCase().startsWith('http:');
  const client =
    'connectionString' in connection
      ? TableClient.fromConnectionString(connection.connectionString, tableName, { allowInsecureConnection })
      : new TableClient(connection.endpoint, tableName, connection.credential, { allowInsecureConnection });
  return new TableLedgerImpl(client, tableName, options.now ?? Date.now);
}

function endpointOf(connection: TableLedgerConnection): string {
  if ('endpoint' in connection) return connection.endpoint;
  const explicit = /(?:^|;)\s*TableEndpoint=([^;]+)/i.exec(connection.connectionString)?.[1];
  if (explicit) return explicit;
  return /(?:^|;)\s*DefaultEndpointsProtocol=http(?:;|$)/i.test(connection.connectionString) ? 'http:' : 'https:';
}

class TableLedgerImpl implements TableLedger {
  constructor(
    private readonly client: TableClient,
    readonly tableName: string,
    private readonly now: () => number,
  ) {}

  async ensureTable(): Promise<void> {
    try {
      await this.client.createTable();
    } catch (error) {
      // createTable already treats 409 TableAlreadyExists as success; anything else is real.
      throw toStorageError(error, { operation: 'ledger.ensureTable', file: this.tableName });
    }
  }

  async get<T>(kind: string, key: string): Promise<LedgerRecord<T> | undefined> {
    checkLedgerAddress(kind, key);
    try {
      const entity = await this.client.getEntity<Row>(kind, ledgerRowKey(key));
      return toRecord<T>(kind, entity, key);
    } catch (error) {
      const mapped = this.map(error, kind, 'get');
      if (mapped.code === 'storage.notFound') return undefined;
      throw mapped;
    }
  }

  async create<T>(kind: string, key: string, state: string, value: T): Promise<LedgerRecord<T> | undefined> {
    checkLedgerAddress(kind, key, state);
    const json = encodeLedgerValue(kind, value);
    const updatedAt = this.now();
    try {
      const res = await this.client.createEntity<TableEntity<Row>>(entity(kind, key, state, json, updatedAt));
      return { kind, key, etag: etagOf(res.etag), state, value: decodeLedgerValue<T>(kind, json), updatedAt };
    } catch (error) {
      const mapped = this.map(error, kind, 'create', true);
      if (mapped.code === 'storage.alreadyExists') return undefined;
      throw mapped;
    }
  }

  async update<T>(record: LedgerRecord<T>, state: string, value: T): Promise<LedgerRecord<T>> {
    checkLedgerAddress(record.kind, record.key, state);
    const json = encodeLedgerValue(record.kind, value);
    const updatedAt = this.now();
    try {
      const res = await this.client.updateEntity(entity(record.kind, record.key, state, json, updatedAt), 'Replace', { etag: record.etag });
      return { kind: record.kind, key: record.key, etag: etagOf(res.etag), state, value: decodeLedgerValue<T>(record.kind, json), updatedAt };
    } catch (error) {
      const mapped = this.map(error, record.kind, 'update');
      if (mapped.code === 'storage.conditionFailed') throw ledgerConflict(record.kind, 'update');
      if (mapped.code === 'storage.notFound') throw ledgerConflict(record.kind, 'update', true);
      throw mapped;
    }
  }

  async *list<T>(kind: string, filter: LedgerListFilter = {}): AsyncIterable<LedgerRecord<T>> {
    checkLedgerAddress(kind, 'list');
    if (filter.states?.length === 0) return;
    // Every value goes through the odata tag, which quotes and escapes it; only the fixed text is ours.
    let query = odata`PartitionKey eq ${kind}`;
    if (filter.states) query += ` and (${filter.states.map((state) => odata`state eq ${state}`).join(' or ')})`;
    const pages = this.client.listEntities<Row>({ queryOptions: { filter: query } }).byPage({ maxPageSize: 1000 });
    for (;;) {
      let page;
      try {
        page = await pages.next();
      } catch (error) {
        throw this.map(error, kind, 'list');
      }
      if (page.done) return;
      for (const row of page.value) yield toRecord<T>(kind, row);
    }
  }

  async delete(record: LedgerRecord<unknown>): Promise<void> {
    checkLedgerAddress(record.kind, record.key);
    try {
      await this.client.deleteEntity(record.kind, ledgerRowKey(record.key), { etag: record.etag });
    } catch (error) {
      const mapped = this.map(error, record.kind, 'delete');
      if (mapped.code === 'storage.notFound') return;
      if (mapped.code === 'storage.conditionFailed') throw ledgerConflict(record.kind, 'delete');
      throw mapped;
    }
  }

  private map(error: unknown, kind: string, operation: string, createOnly = false): SyncError {
    // The ledger key can be a blob name; it goes nowhere near the message. The kind names the partition.
    return toStorageError(error, { operation: `ledger.${kind}.${operation}`, createOnly });
  }
}

function entity(kind: string, key: string, state: string, json: string, updatedAt: number): TableEntity<Row> {
  const row: TableEntity<Row> = { partitionKey: kind, rowKey: ledgerRowKey(key), key: asciiJson(key), state, updatedAt: BigInt(updatedAt), parts: 0 };
  let parts = 0;
  // The JSON is ASCII (see encodeLedgerValue), so a cut anywhere is safe; parts are joined before parsing.
  for (let offset = 0; offset < json.length || parts === 0; offset += LEDGER_VALUE_PART_CHARS) {
    row[`v${parts}`] = json.slice(offset, offset + LEDGER_VALUE_PART_CHARS);
    parts += 1;
  }
  row.parts = parts;
  return row;
}

function toRecord<T>(kind: string, row: TableEntityResult<Row>, expectedKey?: string): LedgerRecord<T> {
  const corrupt = (why: string) => new StorageError('ledger.corrupt', `A ledger row cannot be read: ${why}`, 'fatal', { operation: `ledger.${kind}` });
  if (typeof row.key !== 'string' || typeof row.state !== 'string') throw corrupt('key or state missing');
  let key: unknown;
  try {
    key = JSON.parse(row.key);
  } catch {
    throw corrupt('the stored key is not JSON');
  }
  if (typeof key !== 'string') throw corrupt('the stored key is not a string');
  // A hash collision (or a row written by something else) must not pass for the caller's record.
  if (expectedKey !== undefined && key !== expectedKey) throw corrupt('the stored key differs from the requested one');
  const parts = Number(row.parts);
  let json = '';
  for (let i = 0; i < parts; i++) {
    const part = row[`v${i}`];
    if (typeof part !== 'string') throw corrupt(`value part ${i} of ${parts} missing`);
    json += part;
  }
  return { kind, key, etag: row.etag, state: row.state, value: decodeLedgerValue<T>(kind, json), updatedAt: Number(row.updatedAt) };
}

/** The service always answers a write with an ETag; without one the next conditional write could not be made. */
function etagOf(etag: string | undefined): string {
  if (!etag) throw new StorageError('storage.unavailable', 'The table service answered a write without an ETag', 'retry', { operation: 'ledger' });
  return etag;
}
