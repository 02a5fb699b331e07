import { describe, expect, it } from 'vitest';
import { blobRef, fitBlobName, parseInboxName, receivedArchiveName, rejectedFolder, uploadNameFor } from '../../src/core/layout';

describe('layout', () => {
  it('splits inbox names into source and relative path, and refuses names without a source folder', () => {
    expect(parseInboxName('inbox/BuildingAccessData/2026/export.csv')).toEqual({ source: 'BuildingAccessData', relativePath: '2026/export.csv', fileName: 'export.csv' });
    expect(parseInboxName('inbox/loose.csv')).toBeUndefined();
    expect(parseInboxName('inbox/src/')).toBeUndefined();
    expect(parseInboxName('staged/src/a.csv')).toBeUndefined();
  });

  it('gives deterministic, content-addressed upload names that do not reveal the export file name', () => {
    const sha = 'ab'.repeat(32);
    const name = uploadNameFor('Building Access', 'jane.doe@contoso.com.csv', sha);
    expect(name).toBe(uploadNameFor('Building Access', 'jane.doe@contoso.com.csv', sha));
    expect(name).toMatch(/^Building_Access-[0-9a-f]{8}-abababababababab\.csv$/);
    expect(name).not.toContain('jane');
    // NFC and NFD spellings of the same file name are one file.
    expect(uploadNameFor('s', 'caf\u00e9.csv', sha)).toBe(uploadNameFor('s', 'cafe\u0301.csv', sha));
    expect(uploadNameFor('s', 'a.csv', sha)).not.toBe(uploadNameFor('s', 'b.csv', sha));
  });

  it('keeps each version of a file apart in the archive and in quarantine', () => {
    const at = Date.UTC(2026, 10, 23, 9, 30, 5, 120);
    expect(receivedArchiveName('S', 'x/a.csv', at, '"0x8DDE1234ABCD5678"')).toBe('archive/S/_received/20261123T093005Z-1234ABCD5678/x/a.csv');
    expect(rejectedFolder('S', at, '"0x1"')).toBe('rejected/S/20261123T093005Z-0x1/');
    expect(blobRef('inbox/S/a.csv')).toMatch(/^[0-9a-f]{12}$/);
  });
});

describe('fitBlobName', () => {
  it('keeps names within the limit as they are, and shortens longer ones uniquely, keeping the extension', () => {
    expect(fitBlobName('archive/S/_received/x/', 'a b/c.csv')).toBe('archive/S/_received/x/a b/c.csv');
    const long = `${'n'.repeat(1020)}.csv`;
    const fitted = fitBlobName('archive/S/_received/20261123T093005Z-abc/', long);
    expect(fitted.length).toBe(1024);
    expect(fitted).toMatch(/~[0-9a-f]{16}\.csv$/);
    expect(fitBlobName('archive/S/_received/20261123T093005Z-abc/', `${'n'.repeat(1019)}x.csv`)).not.toBe(fitted);
    // A surrogate pair at the cut is dropped whole, never halved.
    const emoji = fitBlobName('f/', `${'a'.repeat(1004)}\u{1F600}${'b'.repeat(100)}`);
    expect(emoji.length).toBe(1023);
    expect(/[\ud800-\udbff](?![\udc00-\udfff])/.test(emoji)).toBe(false);
  });
});
