/**
 * The Ledger contract: the same tests against the in-memory fake and the Table adapter on Azurite.
 */
import { describe, expect, it } from 'vitest';
import { MAX_LEDGER_VALUE_CHARS, type Ledger, type LedgerRecord } from '../../src/core/ledger';
import { expectCode, ledgers } from './implementations';

async function listAll<T>(ledger: Ledger, kind: string, states?: readonly string[]): Promise<LedgerRecord<T>[]> {
  const all: LedgerRecord<T>[] = [];
  for await (const r of ledger.list<T>(kind, states ? { states } : undefined)) all.push(r);
  return all;
}

interface BlobVersion {
  name: string;
  etag: string;
  attempts: number;
  note?: string;
}

describe.each(ledgers)('Ledger contract: $name', ({ make }) => {
  it('creates, reads back and updates a record, with a new ETag on every write', async () => {
    const ledger = await make();
    const value: BlobVersion = { name: 'inbox/s/a.csv', etag: '"0x1"', attempts: 1, note: 'caf\u00e9 \u{1F600} "quoted" \\ /' };
    const created = await ledger.create<BlobVersion>('blob', 'k1', 'claimed', value);
    expect(created).toMatchObject({ kind: 'blob', key: 'k1', state: 'claimed', value });
    expect(created!.etag).not.toBe('');
    expect(typeof created!.updatedAt).toBe('number');
    expect(await ledger.get<BlobVersion>('blob', 'k1')).toEqual(created);

    const updated = await ledger.update(created!, 'uploaded', { ...value, attempts: 2 });
    expect(updated).toMatchObject({ kind: 'blob', key: 'k1', state: 'uploaded', value: { ...value, attempts: 2 } });
    expect(updated.etag).not.toBe(created!.etag);
    expect(await ledger.get('blob', 'k1')).toEqual(updated);
    expect(await ledger.get('blob', 'missing')).toBeUndefined();
  });

  it('five concurrent creates of one key: exactly one wins, the others learn they lost', async () => {
    const ledger = await make();
    const results = await Promise.all([0, 1, 2, 3, 4].map((i) => ledger.create('request', 'instance-1', 'pending', { worker: i })));
    const winners = results.filter((r) => r !== undefined);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r === undefined)).toHaveLength(4);
    expect(await ledger.get('request', 'instance-1')).toEqual(winners[0]);
    expect(await ledger.create('request', 'instance-1', 'pending', { worker: 9 })).toBeUndefined();
  });

  it('update with a stale ETag is a retryable ledger.conflict and changes nothing; of concurrent updates one wins', async () => {
    const ledger = await make();
    const v1 = (await ledger.create('blob', 'k', 'claimed', { n: 1 }))!;
    const v2 = await ledger.update(v1, 'claimed', { n: 2 });
    await expectCode(ledger.update(v1, 'uploaded', { n: 3 }), 'ledger.conflict', 'retry');
    expect(await ledger.get('blob', 'k')).toEqual(v2);

    const racers = await Promise.allSettled([1, 2, 3, 4, 5].map((n) => ledger.update(v2, 'uploading', { n: 10 + n })));
    const won = racers.filter((r): r is PromiseFulfilledResult<LedgerRecord<{ n: number }>> => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of racers) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'ledger.conflict', disposition: 'retry' });
    expect(await ledger.get('blob', 'k')).toEqual(won[0]!.value);
  });

  it('update and delete of a deleted record are conflicts; a repeated delete is harmless', async () => {
    const ledger = await make();
    const v1 = (await ledger.create('blob', 'k', 'claimed', {}))!;
    const v2 = await ledger.update(v1, 'uploaded', { done: true });
    await expectCode(ledger.delete(v1), 'ledger.conflict', 'retry');
    expect(await ledger.get('blob', 'k')).toEqual(v2);
    await ledger.delete(v2);
    expect(await ledger.get('blob', 'k')).toBeUndefined();
    await ledger.delete(v2);
    await expectCode(ledger.update(v2, 'uploaded', {}), 'ledger.conflict', 'retry');
    expect(await ledger.get('blob', 'k')).toBeUndefined();
    // The key is free again.
    expect(await ledger.create('blob', 'k', 'claimed', { again: true })).toMatchObject({ value: { again: true } });
  });

  it('lists a kind, filtered by state on the service, and nothing of other kinds', async () => {
    const ledger = await make();
    const states = ['pending', 'uploading', 'done', 'failed-permanent'];
    for (let i = 0; i < 24; i++) await ledger.create('request', `r${i}`, states[i % 4]!, { i });
    await ledger.create('blob', 'r0', 'pending', { other: true });
    await ledger.create('requests', 'x', 'pending', { prefixOfKind: true });

    const all = await listAll<{ i: number }>(ledger, 'request');
    expect(all.map((r) => r.value.i).sort((a, b) => a - b)).toEqual([...Array(24).keys()]);
    expect(all.every((r) => r.kind === 'request' && r.key === `r${r.value.i}`)).toBe(true);

    const open = await listAll<{ i: number }>(ledger, 'request', ['pending', 'uploading']);
    expect(open.map((r) => r.value.i).sort((a, b) => a - b)).toEqual([0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21]);
    expect(open.every((r) => r.state === 'pending' || r.state === 'uploading')).toBe(true);
    expect((await listAll(ledger, 'request', ['failed-permanent'])).length).toBe(6);
    expect(await listAll(ledger, 'request', [])).toEqual([]);
    expect(await listAll(ledger, 'request', ['unknown'])).toEqual([]);
    expect(await listAll(ledger, 'nothing')).toEqual([]);

    // The listed record is the current one: it can be updated with its ETag.
    const first = open[0]!;
    await expect(ledger.update(first, 'done', first.value)).resolves.toMatchObject({ state: 'done' });
    expect((await listAll(ledger, 'request', ['pending', 'uploading'])).length).toBe(11);
  });

  it('takes any key: blob names with / \\ # ? %2F quotes, control characters, both Unicode forms, 1,100 characters', async () => {
    const ledger = await make();
    const keys = [
      'access-data|inbox/src/a/../b.csv|"0x8DC"',
      'inbox\\win\\path.csv',
      'inbox/s/h#a?b=c&d.csv',
      'inbox/s/a%2Fb.csv',
      "inbox/s/o'brien.csv",
      'tab\there\nnewline\u0000nul\u007f',
      'inbox/s/caf\u00e9.csv',
      'inbox/s/cafe\u0301.csv',
      'inbox/s/trailing.',
      ' leading and trailing spaces ',
      `inbox/s/${'\u00fc'.repeat(1100 - 8)}`,
    ];
    expect(keys.at(-1)).toHaveLength(1100);
    for (const [i, key] of keys.entries()) expect(await ledger.create('blob', key, 'claimed', { i })).toMatchObject({ key, value: { i } });
    for (const [i, key] of keys.entries()) expect(await ledger.get('blob', key)).toMatchObject({ key, value: { i } });
    const listed = await listAll<{ i: number }>(ledger, 'blob');
    expect(listed.map((r) => r.key).sort()).toEqual([...keys].sort());
    expect(listed.every((r) => keys[r.value.i] === r.key)).toBe(true);
    // The same key under another kind is another record.
    expect(await ledger.create('request', keys[0]!, 'pending', { other: true })).toBeDefined();
    expect(await ledger.get('blob', keys[0]!)).toMatchObject({ value: { i: 0 } });
  });

  it('keeps a large value whole across the split into parts, and refuses an oversized one clearly', async () => {
    const ledger = await make();
    // Over a dozen parts of mixed ASCII and astral characters (surrogate pairs, escaped when stored).
    const big = { text: `${'a'.repeat(29_991)}${'\u{1F600}'.repeat(20_000)}\u00e9${'z'.repeat(7)}`, files: Array.from({ length: 200 }, (_, i) => ({ name: `staged/s/${i}.csv`, size: i })) };
    const created = await ledger.create<{ text: string; files?: unknown[] }>('snapshot', 'src', 'current', big);
    // Compared as JSON text, so that a failure reports a boolean instead of printing half a megabyte.
    const same = (value: unknown) => JSON.stringify(value) === JSON.stringify(big);
    expect(same(created?.value)).toBe(true);
    expect(same((await ledger.get('snapshot', 'src'))?.value)).toBe(true);
    expect(same((await listAll(ledger, 'snapshot'))[0]?.value)).toBe(true);
    const smaller = await ledger.update(created!, 'current', { text: 'short' });
    expect((await ledger.get('snapshot', 'src'))?.value).toEqual({ text: 'short' });

    const tooBig = { text: 'x'.repeat(MAX_LEDGER_VALUE_CHARS) };
    await expectCode(ledger.create('snapshot', 'other', 'current', tooBig), 'ledger.valueTooLarge', 'fatal');
    expect(await ledger.get('snapshot', 'other')).toBeUndefined();
    await expectCode(ledger.update(smaller, 'current', tooBig), 'ledger.valueTooLarge', 'fatal');
    expect(await ledger.get('snapshot', 'src')).toEqual(smaller);
  });

  it('round-trips values through JSON: undefined members dropped, null and nesting kept', async () => {
    const ledger = await make();
    const created = await ledger.create('blob', 'json', 'claimed', { a: undefined, b: null, c: [1, { d: 'e' }], n: 1.5 });
    expect(created?.value).toEqual({ b: null, c: [1, { d: 'e' }], n: 1.5 });
    expect(Object.keys((await ledger.get<Record<string, unknown>>('blob', 'json'))!.value)).toEqual(['b', 'c', 'n']);
  });

  it('refuses kinds and states that are not identifiers, and empty or overlong keys', async () => {
    const ledger = await make();
    await expectCode(ledger.create('bad kind', 'k', 'pending', {}), 'ledger.invalidKind', 'fatal');
    await expectCode(ledger.create("k' or 1 eq 1", 'k', 'pending', {}), 'ledger.invalidKind');
    await expectCode(ledger.create('blob', 'k', "pending' or state ne '", {}), 'ledger.invalidState');
    await expectCode(ledger.create('blob', '', 'pending', {}), 'ledger.invalidKey');
    await expectCode(ledger.create('blob', 'x'.repeat(2049), 'pending', {}), 'ledger.invalidKey');
    expect(await listAll(ledger, 'blob')).toEqual([]);
  });
});
