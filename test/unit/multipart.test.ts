import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { createMultipartBody, escapeFilename } from '../../src/adapters/graph/multipart';
import type { ReopenableSource } from '../../src/core/ports';

function source(name: string, content: string, declaredSize = Buffer.byteLength(content)): ReopenableSource & { opens: number } {
  const s = {
    name,
    size: declaredSize,
    opens: 0,
    async open() {
      s.opens++;
      return Readable.from([Buffer.from(content)]);
    },
  };
  return s;
}

describe('multipart body', () => {
  it('is exactly the RFC 7578 body of contract §5.4, with a Content-Length that matches', async () => {
    const csv = 'principalId,principalType\r\n0a1b,user\r\n';
    const body = createMultipartBody(source('badge-export-01.csv', csv), '----sync7f3a9c');
    const wire = await text(await body.open());
    expect(body.contentType).toBe('multipart/form-data; boundary=----sync7f3a9c');
    expect(wire).toBe(
      '------sync7f3a9c\r\n' +
        'Content-Disposition: form-data; name="file"; filename="badge-export-01.csv"\r\n' +
        'Content-Type: application/octet-stream\r\n\r\n' +
        csv +
        '\r\n------sync7f3a9c--\r\n',
    );
    expect(Buffer.byteLength(wire)).toBe(body.contentLength);
  });

  it('re-opens the source for every body, so a retry sends it from the first byte', async () => {
    const src = source('a.csv', 'x');
    const body = createMultipartBody(src);
    await text(await body.open());
    await text(await body.open());
    expect(src.opens).toBe(2);
  });

  it('cannot be broken out of by a filename with quotes or line breaks (E5)', async () => {
    expect(escapeFilename('a"b\r\nContent-Type: text/html.csv')).toBe('a%22b%0D%0AContent-Type: text/html.csv');
    const wire = await text(await createMultipartBody(source('x"\r\ny.csv', 'z'), 'B').open());
    const headerLines = wire.split('\r\n\r\n')[0]!.split('\r\n');
    expect(headerLines).toEqual(['--B', 'Content-Disposition: form-data; name="file"; filename="x%22%0D%0Ay.csv"', 'Content-Type: application/octet-stream']);
  });

  it('fails instead of sending a body whose length differs from the declared size', async () => {
    const body = createMultipartBody(source('short.csv', 'abc', 10));
    await expect(text(await body.open())).rejects.toMatchObject({ code: 'upload.sourceSizeChanged' });
  });
});
