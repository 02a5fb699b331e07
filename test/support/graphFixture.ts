import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { createCredential } from '../../src/adapters/credential';
import { GraphReviewClient, type GraphReviewClientOptions } from '../../src/adapters/graph/graphReviewClient';
import type { ReopenableSource } from '../../src/core/ports';
import type { GraphApiShape, ResourceRef, ReviewRef } from '../../src/core/reviewGraph';
import { startGraphEmulator, type GraphEmulator, type GraphEmulatorOptions } from '../../emulator/index';

/** A running emulator with its sample tenant, and helpers to build adapters against it. */
export interface GraphFixture {
  emulator: GraphEmulator;
  resource: ResourceRef;
  review: ReviewRef;
  client(shape: GraphApiShape, overrides?: Partial<GraphReviewClientOptions>): GraphReviewClient;
  close(): Promise<void>;
}

export async function startGraphFixture(options: GraphEmulatorOptions = {}): Promise<GraphFixture> {
  const emulator = await startGraphEmulator({ seedSample: true, ...options });
  const sample = emulator.sample!;
  const clients: GraphReviewClient[] = [];
  const credential = createCredential({
    tenantId: emulator.tenantId,
    clientId: emulator.clientId,
    clientSecret: emulator.clientSecret,
    authorityHost: emulator.authorityHost,
    extraCaPem: [emulator.caCertificatePem],
  });
  return {
    emulator,
    resource: { catalogId: sample.catalogId, resourceId: sample.resourceId, source: sample.source },
    review: { reviewDefinitionId: sample.reviewDefinitionId, reviewInstanceId: sample.reviewInstanceId },
    client(shape, overrides = {}) {
      const client = new GraphReviewClient({
        baseUrl: emulator.graphUrl,
        shape,
        credential,
        extraCaPem: [emulator.caCertificatePem],
        ...overrides,
      });
      clients.push(client);
      return client;
    },
    async close() {
      for (const c of clients) c.close();
      await emulator.close();
    },
  };
}

/** An in-memory reopenable source that counts how often it was opened. */
export function bufferSource(name: string, content: string | Buffer): ReopenableSource & { opens: number; sha256: string } {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const source = {
    name,
    size: bytes.length,
    opens: 0,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    async open() {
      source.opens++;
      // Several chunks, so that a reset "after N bytes" can fall inside the content.
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += 1024) chunks.push(bytes.subarray(i, i + 1024));
      return Readable.from(chunks);
    },
  };
  return source;
}

export const SAMPLE_CSV =
  'principalId,principalType,permissionId,permissionName,permissionDescription,permissionType\r\n' +
  '0a1b2c3d-1111-4e5f-8a9b-000000000001,user,perm-bldg-a,Building A,Door access to building A,Physical\r\n' +
  '0a1b2c3d-1111-4e5f-8a9b-000000000002,user,perm-lab-3,Lab 3,Access to lab 3,Physical\r\n';

/** Requests the adapter sent to Graph (the token and discovery traffic left out). */
export function graphRequests(emulator: GraphEmulator) {
  return emulator.admin.requests().filter((r) => r.path.startsWith('/v1.0/') || r.path.startsWith('/beta/'));
}
