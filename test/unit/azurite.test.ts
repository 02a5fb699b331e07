import { BlobServiceClient } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import { describe, expect, it, inject } from 'vitest';

describe('in-process Azurite', () => {
  it('stores and streams a blob back, and refuses a conditional overwrite', async () => {
    const service = BlobServiceClient.fromConnectionString(inject('azuriteConnectionString'));
    const container = service.getContainerClient(`t-${randomUUID()}`);
    await container.create();
    const blob = container.getBlockBlobClient('inbox/src/a.csv');
    const body = Buffer.from('\ufeffprincipalId\r\n1\r\n', 'utf8');
    await blob.upload(body, body.length);
    const copy = await blob.downloadToBuffer();
    expect(copy.equals(body)).toBe(true);
    await expect(blob.upload(body, body.length, { conditions: { ifNoneMatch: '*' } })).rejects.toMatchObject({ statusCode: 409 });
  });
});
