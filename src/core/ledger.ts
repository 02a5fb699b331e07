/**
 * The ledger port: the job's durable state, with conditional writes.
 *
 * Delivery is at-least-once everywhere (blob trigger, Event Grid, the sweep, the callout), so idempotency lives
 * here: `create` decides which of several concurrent workers owns a key, and `update` only succeeds for a caller
 * that saw the latest version. Implemented over Azure Table Storage by `src/adapters/tableLedger.ts` and in memory
 * by `test/support/fakeLedger.ts`; one contract suite (`test/storage`) runs against both.
 *
 * Why Table Storage rather than blobs with ETags: a record is small and read/written whole, Table gives conditional
 * insert (409) and replace (412) in one round trip, and `state` is a property the service can filter on, so the
 * sweep's "everything pending" is one paged query instead of a read per record. Azurite serves it locally.
 */
import { createHash } from 'node:crypto';
import { StorageError } from './errors';

/** One record: a value of kind `kind` under `key`, at version `etag`. */
export interface LedgerRecord<T> {
  /** The record family (`blob`, `request`, `snapshot`); the partition. */
  kind: string;
  /** The caller's key, any string up to {@link MAX_LEDGER_KEY_LENGTH} characters, returned exactly. */
  key: string;
  /** This version's ETag, opaque; `update` and `delete` succeed only while it is current. */
  etag: string;
  /** The record's state, filterable server-side by `list` (`pending`, `claimed`, `uploaded`, …). */
  state: string;
  /** The caller's JSON value (it goes through `JSON.stringify`; `undefined` members are dropped). */
  value: T;
  /** When this version was written, milliseconds since the epoch (the writer's clock). */
  updatedAt: number;
}

/** Options of {@link Ledger.list}. */
export interface LedgerListFilter {
  /** Only records in one of these states. An empty array matches nothing; absent matches every state. */
  states?: readonly string[];
}

/** Durable state with conditional writes. Keys are unique per kind. */
export interface Ledger {
  /** The current version of the record, or `undefined` when there is none. */
  get<T>(kind: string, key: string): Promise<LedgerRecord<T> | undefined>;
  /**
   * Insert if absent; returns undefined (no throw) when the key already exists: the caller lost the race. Of any
   * number of concurrent creates of one key exactly one resolves with a record.
   */
  create<T>(kind: string, key: string, state: string, value: T): Promise<LedgerRecord<T> | undefined>;
  /**
   * Replace only if the etag still matches; throws StorageError code 'ledger.conflict' (disposition 'retry')
   * otherwise, including when the record has been deleted since. Returns the new version.
   */
  update<T>(record: LedgerRecord<T>, state: string, value: T): Promise<LedgerRecord<T>>;
  /** Every record of a kind (optionally in some states), paged internally, in no particular order. */
  list<T>(kind: string, filter?: LedgerListFilter): AsyncIterable<LedgerRecord<T>>;
  /**
   * Delete only if the etag still matches (otherwise 'ledger.conflict'); a record that is already gone is not an
   * error, so a repeated delete is harmless.
   */
  delete(record: LedgerRecord<unknown>): Promise<void>;
}

/**
 * Codes of the {@link StorageError}s a {@link Ledger} throws (besides the `storage.*` transport codes:
 * `storage.unavailable` retry, `storage.forbidden` fatal, `storage.invalidRequest` fatal):
 * - `ledger.conflict` (retry): the record changed or vanished since the caller read it; re-read and decide again.
 * - `ledger.invalidKind` (fatal): a kind that is not a short identifier (a programming error).
 * - `ledger.invalidKey` (fatal): an empty key or one over {@link MAX_LEDGER_KEY_LENGTH} characters.
 * - `ledger.invalidState` (fatal): a state that is not a short identifier.
 * - `ledger.valueTooLarge` (fatal): a value whose JSON exceeds {@link MAX_LEDGER_VALUE_CHARS}; keep files out of it.
 * - `ledger.corrupt` (fatal): a stored row that cannot be read back (missing parts, not JSON, key mismatch).
 */
export type LedgerErrorCode = 'ledger.conflict' | 'ledger.invalidKind' | 'ledger.invalidKey' | 'ledger.invalidState' | 'ledger.valueTooLarge' | 'ledger.corrupt';

/** Longest key accepted. Blob names are at most 1,024 characters; keys add a container or an ETag to them. */
export const MAX_LEDGER_KEY_LENGTH = 2048;

/**
 * Largest value accepted, in JSON characters. A Table string property holds 64 KiB (32,768 UTF-16 units) and an
 * entity 1 MiB, so values (ASCII, see {@link encodeLedgerValue}) are split into parts of
 * {@link LEDGER_VALUE_PART_CHARS}; 12 parts stay well inside the entity limit with the other properties. The fake enforces the same limit, so unit tests find oversized values.
 */
export const MAX_LEDGER_VALUE_CHARS = 360_000;

/** Characters per stored value part (under the 32,768 UTF-16 units a Table string property holds). */
export const LEDGER_VALUE_PART_CHARS = 30_000;

const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;

/** Checks a kind, key and (optionally) state; throws the `ledger.invalid*` errors. Shared by every implementation. */
export function checkLedgerAddress(kind: string, key: string, state?: string): void {
  if (!IDENTIFIER.test(kind)) throw new StorageError('ledger.invalidKind', 'Ledger kind must be a short identifier (letters, digits, _ . -)', 'fatal', { operation: 'ledger' });
  if (key.length === 0 || key.length > MAX_LEDGER_KEY_LENGTH)
    throw new StorageError('ledger.invalidKey', `Ledger key must be 1 to ${MAX_LEDGER_KEY_LENGTH} characters`, 'fatal', { operation: `ledger.${kind}` });
  if (state !== undefined && !IDENTIFIER.test(state))
    throw new StorageError('ledger.invalidState', 'Ledger state must be a short identifier (letters, digits, _ . -)', 'fatal', { operation: `ledger.${kind}` });
}

/**
 * The stored row key of a ledger key: SHA-256 hex. Table row keys forbid `/ \ # ?` and control characters and hold
 * 1 KiB, while ledger keys are blob names with any of those; a hash is fixed-length and safe, and the original key
 * is stored beside it.
 */
export function ledgerRowKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * Serialises a value as ASCII-only JSON (every character from U+007F up as a `\\uXXXX` escape), enforcing
 * {@link MAX_LEDGER_VALUE_CHARS} on that form. ASCII because Azurite 3.35 corrupts multi-byte UTF-8 that straddles
 * two chunks of a large request body (found by the contract suite), and because it makes the stored size exact:
 * one character is one byte on the wire and two in the service's accounting, whatever the text.
 */
export function encodeLedgerValue(kind: string, value: unknown): string {
  // `undefined` has no JSON form; store it as null so that a read gives back something JSON can hold.
  const json = asciiJson(value);
  if (json.length > MAX_LEDGER_VALUE_CHARS)
    throw new StorageError('ledger.valueTooLarge', `Ledger value of ${json.length} characters (as stored) exceeds ${MAX_LEDGER_VALUE_CHARS}`, 'fatal', { operation: `ledger.${kind}` });
  return json;
}

/** `JSON.stringify` with every non-ASCII UTF-16 unit escaped; `JSON.parse` gives back the identical value. */
export function asciiJson(value: unknown): string {
  return (JSON.stringify(value) ?? 'null').replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Parses a stored value; a row that is not JSON is `ledger.corrupt`. */
export function decodeLedgerValue<T>(kind: string, json: string): T {
  try {
    return JSON.parse(json) as T;
  } catch {
    throw new StorageError('ledger.corrupt', 'A ledger value is not valid JSON', 'fatal', { operation: `ledger.${kind}` });
  }
}

/** The error `update`/`delete` throw when the caller's version is no longer current. */
export function ledgerConflict(kind: string, operation: 'update' | 'delete', gone = false): StorageError {
  return new StorageError(
    'ledger.conflict',
    gone ? `Ledger ${operation} lost: the record no longer exists` : `Ledger ${operation} lost: the record changed since it was read`,
    'retry',
    { operation: `ledger.${kind}.${operation}` },
  );
}
