/**
 * The bad-input scenarios of reliability.md section D (D1–D15, D17), each with its exact outcome and report entries,
 * plus the policies, the shrink guard, delimiters, the summary's hash and the stream behaviour.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { validateCsv, writeReports } from '../../src/core/csv';
import { G6, chunks, crlf, guid, row6, sha256, validate } from './helpers';

const fixture = (name: string): Buffer => readFileSync(path.join(__dirname, '..', 'fixtures', 'csv', name));

describe('D1 UTF-8 BOM', () => {
  test('is accepted, the BOM dropped, the canonical output identical to the BOM-less file', async () => {
    const body = `${G6}\r\n${row6(1)}\r\n${row6(2)}\r\n`;
    const plain = await validate(body);
    const bom = await validate(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body)]), {}, 2);
    expect(bom.summary.outcome).toBe('accepted');
    expect(bom.summary.encoding).toBe('utf-8-bom');
    expect(plain.summary.encoding).toBe('utf-8');
    expect(bom.outputBytes.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))).toBe(false);
    expect(bom.output).toBe(plain.output);
    expect(bom.summary.sha256).toBe(plain.summary.sha256);
    expect(bom.summary.bytesIn).toBe(body.length + 3);
  });
});

describe('D2 UTF-16', () => {
  const body = `${G6}\r\n${row6(1, { name: 'Tür 😀 Nord' })}\r\n`;
  const utf16le = (text: string): Buffer => Buffer.from(text, 'utf16le');
  const utf16be = (text: string): Buffer => Buffer.from(text, 'utf16le').swap16();

  test('UTF-16LE with BOM is transcoded to the same canonical UTF-8, even fed one byte at a time', async () => {
    const plain = await validate(body);
    const le = await validate(Buffer.concat([Buffer.from([0xff, 0xfe]), utf16le(body)]), {}, 1);
    expect(le.summary.outcome).toBe('accepted');
    expect(le.summary.encoding).toBe('utf-16le');
    expect(le.output).toBe(plain.output);
    expect(le.output).toContain('Tür 😀 Nord');
  });

  test('UTF-16BE with BOM is transcoded too', async () => {
    const plain = await validate(body);
    const be = await validate(Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(body)]), {}, 3);
    expect(be.summary.outcome).toBe('accepted');
    expect(be.summary.encoding).toBe('utf-16be');
    expect(be.summary.sha256).toBe(plain.summary.sha256);
  });

  test('UTF-16 without a BOM is rejected at byte 0', async () => {
    for (const bytes of [utf16le(body), utf16be(body)]) {
      const { summary } = await validate(bytes);
      expect(summary.outcome).toBe('rejected');
      expect(summary.rejection).toMatchObject({ code: 'decode.utf16WithoutBom', byteOffset: 0 });
    }
  });

  test('an unpaired surrogate or an odd byte count is rejected with its byte offset', async () => {
    const lone = Buffer.concat([Buffer.from([0xff, 0xfe]), utf16le('a,b\r\n'), Buffer.from([0x3d, 0xd8]), utf16le('x')]);
    const r1 = await validate(lone);
    expect(r1.summary.rejection).toMatchObject({ code: 'decode.invalidUtf16', byteOffset: 12 });
    const odd = Buffer.concat([Buffer.from([0xff, 0xfe]), utf16le('a,b'), Buffer.from([0x41])]);
    const r2 = await validate(odd, {}, 1);
    expect(r2.summary.rejection).toMatchObject({ code: 'decode.invalidUtf16', byteOffset: 8 });
  });

  test('UTF-32 is refused by name', async () => {
    const { summary } = await validate(Buffer.from([0xff, 0xfe, 0, 0, 0x61, 0, 0, 0]));
    expect(summary.rejection?.code).toBe('decode.unsupportedEncoding');
  });
});

describe('D3 invalid UTF-8', () => {
  test('a Latin-1 é is rejected with its exact byte offset, whatever the chunking; nothing is substituted', async () => {
    const head = Buffer.from(`${G6}\r\n${row6(1)}\r\n${guid(2)},user,p2,Caf`);
    const bytes = Buffer.concat([head, Buffer.from([0xe9]), Buffer.from(',x,y\r\n')]);
    for (const size of [1, 2, 7, 65536]) {
      const { summary, output } = await validate(bytes, {}, size);
      expect(summary.outcome).toBe('rejected');
      expect(summary.rejection).toMatchObject({ code: 'decode.invalidUtf8', byteOffset: head.length });
      expect(summary.rejection?.message).toContain(`byte ${head.length}`);
      expect(output).not.toContain('\ufffd');
      expect(summary.sha256).toBe('');
    }
  });

  test('multi-byte characters split across chunks are fine; a sequence cut by the end of file is not', async () => {
    const good = Buffer.from(`${G6}\r\n${row6(1, { name: '€ 𝄞 ü' })}\r\n`);
    for (const size of [1, 2, 3, 5]) expect((await validate(good, {}, size)).summary.outcome).toBe('accepted');
    const cut = Buffer.concat([Buffer.from(`${G6}\r\nx`), Buffer.from([0xe2, 0x82])]);
    const { summary } = await validate(cut, {}, 1);
    expect(summary.rejection).toMatchObject({ code: 'decode.invalidUtf8', byteOffset: G6.length + 3 });
  });

  test('overlong forms and encoded surrogates are invalid', async () => {
    for (const bad of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]]) {
      const { summary } = await validate(Buffer.concat([Buffer.from('ab'), Buffer.from(bad)]));
      expect(summary.rejection).toMatchObject({ code: 'decode.invalidUtf8', byteOffset: 2 });
    }
  });
});

describe('D4 mixed line ends', () => {
  test('CRLF, LF and CR in one file are all record ends, and lines are counted physically', async () => {
    const text = `${G6}\r\n${row6(1)}\n${row6(2)}\r${row6(3)}\r\nnot-a-guid,user,p,n,d,t\n`;
    const { summary } = await validate(text);
    expect(summary.rows).toBe(4);
    expect(summary.issues).toEqual([{ line: 5, column: 'principalId', rule: 'principalId.guid' }]);
    const ok = await validate(`${G6}\r\n${row6(1)}\n${row6(2)}\r${row6(3)}`);
    expect(ok.summary.outcome).toBe('accepted');
    expect(ok.output).toBe(crlf(G6, row6(1), row6(2), row6(3)));
  });

  test('blank lines are skipped but still counted', async () => {
    const { summary } = await validate(`\r\n${G6}\r\n\r\n\n${row6(1)}\r\nbad,user,p,n,d,t\r\n`);
    expect(summary.issues).toEqual([{ line: 6, column: 'principalId', rule: 'principalId.guid' }]);
  });
});

describe('D5 quoting', () => {
  test('embedded newlines, doubled quotes and a quote inside an unquoted field are accepted and re-quoted', async () => {
    const text = crlf(G6, `${guid(1)},user,p1,"Door ""A""","two\r\nlines",x`, `${guid(2)},user,p2,5" screen,"a, b",y`, `${guid(3)},user,p3,"multi\nline\rname",d,z`, 'bad,user,p4,n,d,t');
    const { summary, output } = await validate(text);
    expect(summary.rows).toBe(4);
    // Record 1 spans lines 2–3, record 2 is line 4, record 3 spans lines 5–7, so the bad record is on line 8.
    expect(summary.issues).toEqual([{ line: 8, column: 'principalId', rule: 'principalId.guid' }]);
    const good = await validate(text.split('\r\n').slice(0, 5).join('\r\n'));
    expect(good.summary.outcome).toBe('accepted');
    expect(good.output).toBe(
      crlf(G6, `${guid(1)},user,p1,"Door ""A""","two\r\nlines",x`, `${guid(2)},user,p2,"5"" screen","a, b",y`, `${guid(3)},user,p3,"multi\nline\rname",d,z`),
    );
    expect(output).toBe('');
  });
});

describe('D6 unterminated quote', () => {
  test('a quote still open at the end of the file rejects it with the line the record starts on', async () => {
    const { summary } = await validate(`${G6}\r\n${row6(1)}\r\n\r\n${guid(2)},user,p2,"Door\r\nmore text\r\n`);
    expect(summary.outcome).toBe('rejected');
    expect(summary.rejection).toMatchObject({ code: 'csv.quoteNotClosed', line: 4 });
    expect(summary.rejection?.message).toBe('The record starting at line 4 opens a quote that is never closed before the end of the file.');
  });

  test('in a large file it surfaces as an over-long record at the same line, without buffering the rest', async () => {
    const tail = 'x'.repeat(1000) + '\r\n';
    const text = `${G6}\r\n${row6(1)}\r\n${guid(2)},user,p2,"open${tail.repeat(400)}`;
    const { summary } = await validate(text, { maxRecordBytes: 64 * 1024 });
    expect(summary.rejection).toMatchObject({ code: 'csv.recordTooLarge', line: 3 });
    expect(summary.bytesIn).toBeLessThan(text.length);
  });
});

describe('D7 ragged rows', () => {
  const text = crlf(G6, row6(1), `${row6(2)},extra`, `${guid(3)},user,p3`, row6(4));

  test('strict: rejected, each ragged row reported with its line', async () => {
    const { summary } = await validate(text);
    expect(summary.outcome).toBe('rejected');
    expect(summary.rejection).toMatchObject({ code: 'rows.invalid', line: 3, rule: 'row.columnCount' });
    expect(summary.issues).toEqual([
      { line: 3, rule: 'row.columnCount' },
      { line: 4, rule: 'row.columnCount' },
    ]);
    expect(summary).toMatchObject({ rows: 4, rejected: 2, issuesByRule: { 'row.columnCount': 2 } });
  });

  test('tolerant: the ragged rows are dropped and the rest is written', async () => {
    const { summary, output } = await validate(text, { policy: { mode: 'tolerant', maxRejectedRows: 2 } });
    expect(summary).toMatchObject({ outcome: 'accepted', rows: 4, accepted: 2, rejected: 2 });
    expect(output).toBe(crlf(G6, row6(1), row6(4)));
    expect(summary.warnings.map((w) => w.code)).toEqual(['rows.dropped']);
  });
});

describe('D8 header cases', () => {
  test('duplicate column: rejected, entry on line 1', async () => {
    const { summary } = await validate(crlf(`${G6},PrincipalID`, `${row6(1)},${guid(9)}`));
    expect(summary.rejection).toMatchObject({ code: 'header.duplicate', line: 1, column: 'principalId' });
    expect(summary.issues).toEqual([{ line: 1, column: 'principalId', rule: 'header.duplicate' }]);
  });

  test('missing columns: one message lists them all', async () => {
    const { summary } = await validate(crlf('principalId,principalType,permissionId,permissionDescription', `${guid(1)},user,p,d`));
    expect(summary.rejection).toMatchObject({ code: 'header.missing', line: 1, column: 'permissionName' });
    expect(summary.rejection?.message).toContain('the columns permissionName, permissionType');
    expect(summary.issues).toEqual([
      { line: 1, column: 'permissionName', rule: 'header.missing' },
      { line: 1, column: 'permissionType', rule: 'header.missing' },
    ]);
    expect(summary.rows).toBe(0);
  });

  test('extra, wrong case, spaces, reordered and aliased columns are accepted and written in the preset order', async () => {
    const header = ' PERMISSIONNAME ,Employee Object ID,Department,permissionid,PrincipalType,permissionDescription,Permission Type,';
    const data = `Door 1,${guid(1).toUpperCase()},Sales,p1,USER,Badge,Physical,`;
    const { summary, output } = await validate(crlf(header, data), { headerAliases: { 'employee object id': 'principalId', 'Permission Type': 'PERMISSIONTYPE' } });
    expect(summary.outcome).toBe('accepted');
    expect(output).toBe(crlf(G6, `${guid(1)},user,p1,Door 1,Badge,Physical`));
    expect(summary.warnings).toEqual([
      { code: 'header.extraColumn', line: 1, column: '"Department" (column 3)', message: 'Column "Department" (column 3) is not part of the graph-v1 schema; it was dropped.' },
      { code: 'header.emptyColumn', line: 1, column: 'column 8', message: 'Column 8 has no name; it was dropped.' },
    ]);
  });

  test('an alias to a column the schema lacks is a configuration error, thrown', async () => {
    await expect(validate(crlf(G6), { headerAliases: { x: 'nope' } })).rejects.toMatchObject({ code: 'csv.options', disposition: 'fatal' });
  });
});

describe('D9 empty and header-only files', () => {
  test('0 bytes: rejected as empty', async () => {
    const { summary } = await validate(Buffer.alloc(0));
    expect(summary).toMatchObject({ outcome: 'rejected', rows: 0, rejection: { code: 'file.empty' } });
  });

  test('blank lines only: rejected as empty', async () => {
    expect((await validate('\r\n\n\r')).summary.rejection?.code).toBe('file.empty');
  });

  test('header only: rejected as having no rows, unless released', async () => {
    const { summary } = await validate(`${G6}\r\n`);
    expect(summary.rejection).toMatchObject({ code: 'file.noRows' });
    const released = await validate(`${G6}\r\n`, { shrinkGuard: { released: true } });
    expect(released.summary.outcome).toBe('accepted');
    expect(released.output).toBe(crlf(G6));
    expect(released.summary.warnings.map((w) => w.code)).toEqual(['shrink.released']);
  });
});

describe('D10 size cap', () => {
  test('over the cap: rejected from the declared size without reading a byte', async () => {
    let reads = 0;
    const input = new Readable({
      read() {
        reads++;
        this.push(null);
      },
    });
    const summary = await validateCsv(input, { fileName: 'big.csv', schema: 'graph-v1', declaredSize: 2_000_000, maxFileBytes: 1_000_000 });
    expect(summary.rejection).toMatchObject({ code: 'file.tooLarge', rule: 'file.tooLarge' });
    expect(summary.bytesIn).toBe(0);
    expect(reads).toBe(0);
    expect(input.destroyed).toBe(true);
  });

  test('a declared size that lies is caught while streaming', async () => {
    const text = crlf(G6, ...Array.from({ length: 200 }, (_, i) => row6(i)));
    const { summary } = await validate(text, { declaredSize: 100, maxFileBytes: 1000 }, 256);
    expect(summary.rejection).toMatchObject({ code: 'file.tooLarge', byteOffset: 1000 });
    expect(summary.bytesIn).toBeLessThanOrEqual(1000 + 256);
  });
});

describe('D11 over-long fields', () => {
  test('a single field over max_record_size rejects the file with its line', async () => {
    const { summary } = await validate(crlf(G6, row6(1), row6(2, { description: 'y'.repeat(300 * 1024) }), row6(3)));
    expect(summary.rejection).toMatchObject({ code: 'csv.recordTooLarge', line: 3 });
  });

  test('a cell over the field length cap is a row issue', async () => {
    const { summary } = await validate(crlf(G6, row6(1, { description: 'y'.repeat(4001) }), row6(2, { description: 'y'.repeat(4000) })));
    expect(summary.issues).toEqual([{ line: 2, column: 'permissionDescription', rule: 'permissionDescription.tooLong' }]);
    expect(summary.limits.maxFieldLength).toBe(4000);
  });
});

describe('D12 formula-leading cells', () => {
  const leads = ['=HYPERLINK("x")', '+1+2', '-2+3', '@SUM(A1)', '\tx'];
  const text = crlf(G6, ...leads.map((v, i) => row6(i, { name: `"${v.replace(/"/g, '""')}"` })), row6(9, { name: '-12' }), row6(10, { name: '+3.5' }));

  test('reject (default): one issue per cell; plain numbers are not formulas', async () => {
    const { summary } = await validate(text);
    expect(summary.rejection?.code).toBe('rows.invalid');
    expect(summary.issues).toEqual(leads.map((_, i) => ({ line: i + 2, column: 'permissionName', rule: 'permissionName.formula' })));
  });

  test('neutralise: a leading apostrophe, counted in a warning', async () => {
    const { summary, output } = await validate(text, { formulaCells: 'neutralise' });
    expect(summary.outcome).toBe('accepted');
    expect(output).toContain(`${guid(0)},user,perm-0,"'=HYPERLINK(""x"")"`);
    expect(output).toContain(`,'@SUM(A1),`);
    expect(output).toContain(`,-12,`);
    expect(summary.warnings).toEqual([expect.objectContaining({ code: 'cells.neutralised', count: 5 })]);
  });

  test('allow: unchanged', async () => {
    const { summary, output } = await validate(text, { formulaCells: 'allow' });
    expect(summary.outcome).toBe('accepted');
    expect(output).toContain(',=HYPERLINK(""x""),'.replace(',=', ',"=').replace('),', ')",'));
  });

  test('a leading NUL is a control character whatever the formula policy', async () => {
    const { summary } = await validate(crlf(G6, row6(1, { name: '\u0000x' })), { formulaCells: 'allow' });
    expect(summary.issues).toEqual([{ line: 2, column: 'permissionName', rule: 'permissionName.controlChar' }]);
  });

  test("the job's own report CSV is neutralised", () => {
    const reports = writeReports(undefined, { fileName: 'a.csv', reason: '=cmd|" /C calc"!A0', code: 'file.other' });
    expect(reports.csv).toBe(crlf('kind,line,column,rule,message', `rejection,,,file.other,"'=cmd|"" /C calc""!A0"`));
    expect(JSON.parse(reports.json)).toMatchObject({ outcome: 'rejected', code: 'file.other' });
  });
});

describe('D13 ids and principal types', () => {
  test('bad GUIDs and types are issues naming line, column and rule', async () => {
    const text = crlf(G6, row6(1), `{${guid(2)}},user,p2,n,d,t`, `${guid(3)},group,p3,n,d,t`, `,user,p4,n,d,t`, `${guid(5)},,p5,n,d,t`, `${guid(6)}x,user,p6,n,d,t`, `${guid(7)},user,,,d,t`);
    const { summary } = await validate(text);
    expect(summary.issues).toEqual([
      { line: 3, column: 'principalId', rule: 'principalId.guid' },
      { line: 4, column: 'principalType', rule: 'principalType.allowed' },
      { line: 5, column: 'principalId', rule: 'principalId.required' },
      { line: 6, column: 'principalType', rule: 'principalType.required' },
      { line: 7, column: 'principalId', rule: 'principalId.guid' },
      { line: 8, column: 'permissionId', rule: 'permissionId.required' },
      { line: 8, column: 'permissionName', rule: 'permissionName.required' },
    ]);
    expect(summary).toMatchObject({ rows: 7, accepted: 1, rejected: 6 });
    const reports = writeReports(summary, { fileName: 'access.csv' });
    expect(reports.csv).toContain('issue,4,principalType,principalType.allowed,"line 4, column principalType: not a principal type this schema accepts (user or EntraIdUser, written as user) (rule principalType.allowed)"\r\n');
  });

  test('principal types and GUIDs are normalised as the preset says; owner lists too', async () => {
    const header = 'principalId,principalType,permissionId,permissionName,permissionDescription,permissionType,ScopeId,ScopeDisplayName,EntitlementOwners_Users,EntitlementOwners_Groups,CustomData';
    const g = guid(1).toUpperCase();
    const { summary, output } = await validate(crlf(header, ` ${g} ,user,p1,n,d,t,app1,App,"${guid(7)}; ${guid(8).toUpperCase()} ,${guid(7)}",,note`), { schema: 'entra-portal' });
    expect(summary.outcome).toBe('accepted');
    expect(output).toBe(crlf(header, `${guid(1)},EntraIdUser,p1,n,d,t,app1,App,"${guid(7)},${guid(8)}",,note`));
    const back = await validate(crlf(G6, `${guid(1)},entraiduser,p1,n,d,t`));
    expect(back.output).toBe(crlf(G6, `${guid(1)},user,p1,n,d,t`));
    const bad = await validate(crlf(header, `${guid(1)},user,p1,n,d,t,app1,App,"${guid(7)},bob@contoso.com",,`), { schema: 'entra-portal' });
    expect(bad.summary.issues).toEqual([{ line: 2, column: 'EntitlementOwners_Users', rule: 'EntitlementOwners_Users.guidList' }]);
  });

  test('cells that look canonical already are checked as strictly as any other', async () => {
    const header = 'principalId,principalType,permissionId,permissionName,permissionDescription,permissionType,ScopeId,ScopeDisplayName,EntitlementOwners_Users,EntitlementOwners_Groups,CustomData';
    // A repeat in an otherwise canonical list is still removed; a list with an upper-case digit group is lowered.
    const { summary, output } = await validate(
      crlf(header, `${guid(1)},EntraIdUser,p1,n,d,t,app1,App,"${guid(7)},${guid(7)}","${guid(8).toUpperCase()},${guid(9)}",x`),
      { schema: 'entra-portal' },
    );
    expect(summary.outcome).toBe('accepted');
    expect(output).toBe(crlf(header, `${guid(1)},EntraIdUser,p1,n,d,t,app1,App,${guid(7)},"${guid(8)},${guid(9)}",x`));
    // 36 characters with a dash out of place, or one too many, are not GUIDs.
    const shifted = `${guid(1).slice(0, 7)}-${guid(1).slice(8)}`.slice(0, 36);
    const bad = await validate(crlf(G6, `${shifted},user,p1,n,d,t`, `${guid(2)}0,user,p2,n,d,t`, `${guid(3)},user,p3,n,d,t`));
    expect(bad.summary.issues).toEqual([
      { line: 2, column: 'principalId', rule: 'principalId.guid' },
      { line: 3, column: 'principalId', rule: 'principalId.guid' },
    ]);
  });

  test('legacy-2025 preset', async () => {
    const header = 'PrincipalAADId,ResourceId,ResourceName,ResourceDescription,ResourceType,PermissionId,PermissionName,PermissionDescription,PermissionType,ResourceOwners';
    const { summary, output } = await validate(crlf(header.toLowerCase(), `${guid(1)},r1,Res,desc,app,p1,Read,,,${guid(2)}`), { schema: 'legacy-2025' });
    expect(summary.outcome).toBe('accepted');
    expect(output).toBe(crlf(header, `${guid(1)},r1,Res,desc,app,p1,Read,,,${guid(2)}`));
  });
});

describe('D14 duplicates', () => {
  test('a repeated row and a repeated (principal, permission) pair are both duplicates; the first stays', async () => {
    const text = crlf(G6, row6(1), row6(2), row6(1), `${guid(2).toUpperCase()},user,perm-2,Other name,x,y`, row6(3, { permissionId: 'perm-1' }));
    const { summary } = await validate(text);
    expect(summary.issues).toEqual([
      { line: 4, rule: 'row.duplicate' },
      { line: 5, rule: 'row.duplicate' },
    ]);
    const tolerant = await validate(text, { policy: { mode: 'tolerant', maxRejectedRatio: 0.5 } });
    expect(tolerant.output).toBe(crlf(G6, row6(1), row6(2), row6(3, { permissionId: 'perm-1' })));
    expect(tolerant.summary).toMatchObject({ accepted: 3, rejected: 2, distinctPrincipals: 3 });
  });

  test('entra-portal: the scope is part of the identity', async () => {
    const header = 'principalId,principalType,permissionId,permissionName,permissionDescription,permissionType,ScopeId,ScopeDisplayName,EntitlementOwners_Users,EntitlementOwners_Groups,CustomData';
    const r = (scope: string): string => `${guid(1)},EntraIdUser,p1,n,d,t,${scope},S,,,`;
    const { summary } = await validate(crlf(header, r('a'), r('b'), r('a')), { schema: 'entra-portal' });
    expect(summary.issues).toEqual([{ line: 4, rule: 'row.duplicate' }]);
    expect(summary.distinctPrincipals).toBe(1);
  });
});

describe('D15 control characters', () => {
  test('NUL, BEL, a bidi override, or a line break in a one-line column are issues; tabs and quoted breaks in text are not', async () => {
    const text = crlf(
      G6,
      row6(1, { description: 'a\u0000b' }),
      row6(2, { name: 'bell\u0007' }),
      row6(3, { description: 'abc\u202Eevil' }),
      `${guid(4)},user,"p\r\n4",n,d,t`,
      row6(5, { description: 'tab\tinside' }),
      row6(6, { description: '"two\nlines"' }),
    );
    const { summary } = await validate(text);
    expect(summary.issues).toEqual([
      { line: 2, column: 'permissionDescription', rule: 'permissionDescription.controlChar' },
      { line: 3, column: 'permissionName', rule: 'permissionName.controlChar' },
      { line: 4, column: 'permissionDescription', rule: 'permissionDescription.controlChar' },
      { line: 5, column: 'permissionId', rule: 'permissionId.controlChar' },
    ]);
    expect(summary).toMatchObject({ rows: 6, rejected: 4 });
  });
});

describe('D17 wrong extension or content type', () => {
  test('an extension other than .csv/.txt is refused before reading', async () => {
    const { summary } = await validate(crlf(G6, row6(1)), { fileName: 'access.xlsx' });
    expect(summary.rejection).toMatchObject({ code: 'file.type', rule: 'file.extension' });
    expect(summary.bytesIn).toBe(0);
  });

  test('a content type that is not CSV is refused; CSV types with parameters pass', async () => {
    const bad = await validate(crlf(G6, row6(1)), { contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' });
    expect(bad.summary.rejection).toMatchObject({ code: 'file.type', rule: 'file.contentType' });
    for (const ok of ['text/csv; charset=utf-8', 'application/octet-stream', 'application/vnd.ms-excel', 'TEXT/PLAIN']) {
      expect((await validate(crlf(G6, row6(1)), { contentType: ok })).summary.outcome).toBe('accepted');
    }
  });

  test('a workbook renamed to .csv is recognised from its first bytes', async () => {
    const { summary } = await validate(fixture('workbook-renamed.csv'));
    expect(summary.rejection).toMatchObject({ code: 'file.notCsv', byteOffset: 0 });
    expect(summary.rejection?.message).toContain('ZIP archive');
  });
});

describe('policies', () => {
  const rows = (bad: number, good: number): string => crlf(G6, ...Array.from({ length: good }, (_, i) => row6(i)), ...Array.from({ length: bad }, (_, i) => `bad${i},user,p,n,d,t`));

  test('tolerant stops reading once the row limit is passed', async () => {
    const text = crlf(G6, ...Array.from({ length: 5000 }, (_, i) => `bad${i},user,p,n,d,t`));
    const { summary } = await validate(text, { policy: { mode: 'tolerant', maxRejectedRows: 3 } }, 1024);
    expect(summary.rejection?.code).toBe('rows.tooManyRejected');
    expect(summary.rejected).toBe(4);
    expect(summary.bytesIn).toBeLessThan(text.length);
  });

  test('tolerant ratio is checked at the end; the default is 5%', async () => {
    expect((await validate(rows(5, 95))).summary.rejection?.code).toBe('rows.invalid');
    expect((await validate(rows(5, 95), { policy: { mode: 'tolerant' } })).summary.outcome).toBe('accepted');
    const over = await validate(rows(6, 94), { policy: { mode: 'tolerant' } });
    expect(over.summary.rejection?.code).toBe('rows.tooManyRejected');
    expect(over.summary.rejection?.message).toContain('more than 5% of the rows');
  });

  test('issues are capped at 1,000 but counted in full', async () => {
    const { summary } = await validate(rows(1200, 0));
    expect(summary.issues).toHaveLength(1000);
    expect(summary.issuesByRule).toEqual({ 'principalId.guid': 1200 });
    expect(summary.issuesTruncated).toBe(true);
  });
});

describe('shrink guard', () => {
  const file = (n: number, principals = n): string => crlf(G6, ...Array.from({ length: n }, (_, i) => row6(i % principals, { permissionId: `p${i}` })));

  test('a drop of more than half the rows is rejected; exactly half passes', async () => {
    const previous = { rows: 100, distinctPrincipals: 40 };
    expect((await validate(file(50, 40), { shrinkGuard: { previous } })).summary.outcome).toBe('accepted');
    const { summary } = await validate(file(49, 40), { shrinkGuard: { previous } });
    expect(summary.rejection).toMatchObject({ code: 'shrink.rows' });
    expect(summary.rejection?.message).toContain('arsync_release_shrink=true');
  });

  test('a drop in distinct principals is caught even when rows hold up', async () => {
    const { summary } = await validate(file(100, 10), { shrinkGuard: { previous: { rows: 100, distinctPrincipals: 40 }, maxDropRatio: 0.5 } });
    expect(summary.rejection?.code).toBe('shrink.principals');
    expect(summary.distinctPrincipals).toBe(10);
  });

  test('a released file passes with a warning; a custom ratio applies', async () => {
    const released = await validate(file(10), { shrinkGuard: { previous: { rows: 100, distinctPrincipals: 100 }, released: true } });
    expect(released.summary.outcome).toBe('accepted');
    expect(released.summary.warnings.map((w) => w.code)).toEqual(['shrink.released', 'shrink.released']);
    const strictRatio = await validate(file(80), { shrinkGuard: { previous: { rows: 100, distinctPrincipals: 80 }, maxDropRatio: 0.1 } });
    expect(strictRatio.summary.rejection?.code).toBe('shrink.rows');
  });
});

describe('delimiters and output', () => {
  test('semicolon and tab are detected from the header; the output is comma-delimited', async () => {
    const semi = await validate(crlf(G6.replace(/,/g, ';'), `${guid(1)};user;p1;"a;b";x, y;t`));
    expect(semi.summary.delimiter).toBe(';');
    expect(semi.output).toBe(crlf(G6, `${guid(1)},user,p1,a;b,"x, y",t`));
    const tab = await validate(crlf(G6.replace(/,/g, '\t'), `${guid(1)}\tuser\tp1\tn, m\td\tt`), {}, 5);
    expect(tab.summary.delimiter).toBe('\t');
    expect(tab.output).toBe(crlf(G6, `${guid(1)},user,p1,"n, m",d,t`));
  });

  test('a header that ends the file without a line end is checked like any other', async () => {
    const { summary, output } = await validate('principalId,principalType,permissionId');
    expect(summary.rejection).toMatchObject({ code: 'header.missing', line: 1, column: 'permissionName' });
    expect(output).toBe('');
  });

  test('a set delimiter is used as given', async () => {
    const { summary } = await validate(crlf(G6.replace(/,/g, ';'), `${guid(1)};user;p1;n;d;t`), { delimiter: ',' });
    expect(summary.rejection?.code).toBe('header.missing');
  });

  test('sha256 and bytesOut describe exactly the bytes written; the output ends', async () => {
    const sink = new PassThrough();
    const got: Buffer[] = [];
    sink.on('data', (b: Buffer) => got.push(b));
    const ended = new Promise((r) => sink.on('end', r));
    const text = crlf(G6, ...Array.from({ length: 3000 }, (_, i) => row6(i)));
    const summary = await validateCsv(Readable.from(chunks(Buffer.from(text), 4096)), { fileName: 'a.csv', schema: 'graph-v1' }, sink);
    await ended;
    const out = Buffer.concat(got);
    expect(summary.sha256).toBe(sha256(out));
    expect(summary.bytesOut).toBe(out.length);
    expect(out.toString()).toBe(text);
  });

  test('a slow output is waited for (backpressure), not buffered without bound', async () => {
    let maxBuffered = 0;
    let written = 0;
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _e, cb) {
        written += chunk.length;
        maxBuffered = Math.max(maxBuffered, this.writableLength);
        setImmediate(cb);
      },
    });
    const text = crlf(G6, ...Array.from({ length: 20000 }, (_, i) => row6(i)));
    const summary = await validateCsv(Readable.from(chunks(Buffer.from(text), 16384)), { fileName: 'a.csv', schema: 'graph-v1' }, slow);
    expect(summary.outcome).toBe('accepted');
    expect(written).toBe(summary.bytesOut);
    expect(maxBuffered).toBeLessThan(256 * 1024);
  });
});

describe('failures that throw', () => {
  test('an input I/O error is thrown (as a SyncError), not turned into a rejection', async () => {
    const input = new Readable({
      read() {
        this.destroy(new Error('socket hang up'));
      },
    });
    await expect(validateCsv(input, { fileName: 'a.csv', schema: 'graph-v1' })).rejects.toMatchObject({ code: 'csv.io', disposition: 'retry' });
  });

  test('an output error is thrown', async () => {
    const broken = new Writable({
      write(_c, _e, cb) {
        cb(new Error('disk full'));
      },
    });
    const text = crlf(G6, ...Array.from({ length: 5000 }, (_, i) => row6(i)));
    await expect(validateCsv(Readable.from([Buffer.from(text)]), { fileName: 'a.csv', schema: 'graph-v1' }, broken)).rejects.toMatchObject({ code: 'csv.io' });
  });

  test('an abort is thrown as AbortedError', async () => {
    const controller = new AbortController();
    let n = 0;
    const input = new Readable({
      read() {
        if (n++ === 3) controller.abort();
        this.push(n === 1 ? `${G6}\r\n` : `${row6(n)}\r\n`);
      },
    });
    await expect(validateCsv(input, { fileName: 'a.csv', schema: 'graph-v1', signal: controller.signal })).rejects.toMatchObject({ code: 'aborted' });
    const already = new AbortController();
    already.abort();
    await expect(validateCsv(Readable.from([]), { fileName: 'a.csv', schema: 'graph-v1', signal: already.signal })).rejects.toMatchObject({ code: 'aborted' });
  });
});
