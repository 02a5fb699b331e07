import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Hash64Set, hash64, lastHash } from '../../src/core/csv/hashSet';

describe('Hash64Set', () => {
  test('addJoined hashes exactly as addString of the parts joined with U+0000', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 12 }), { minLength: 1, maxLength: 5 }), (parts) => {
        const indexes = parts.map((_, i) => i);
        const joined = new Hash64Set(16);
        const whole = new Hash64Set(16);
        expect(joined.addJoined(parts, indexes)).toBe(true);
        expect(whole.addString(parts.join('\u0000'))).toBe(true);
        // Each set now refuses the other's key: the two hashes are the same.
        expect(joined.addString(parts.join('\u0000'))).toBe(false);
        expect(whole.addJoined(parts, indexes)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  test('addJoined picks the parts named by the indexes, in their order', () => {
    const set = new Hash64Set(16);
    expect(set.addJoined(['a', 'x', 'b'], [0, 2])).toBe(true);
    expect(set.addString('a\u0000b')).toBe(false);
    expect(set.addJoined(['a', 'x', 'b'], [2, 0])).toBe(true);
    hash64('b\u0000a');
    expect(set.add(lastHash.hi, lastHash.lo)).toBe(false);
  });

  test('grows and reserves without losing keys', () => {
    const set = new Hash64Set(16);
    for (let i = 0; i < 5000; i++) expect(set.addString(`k${i}`)).toBe(true);
    set.reserve(20_000);
    for (let i = 0; i < 5000; i++) expect(set.addString(`k${i}`)).toBe(false);
    expect(set.size).toBe(5000);
    expect(set.capacity).toBeGreaterThanOrEqual(20_000 / 0.85);
  });
});
