/**
 * The adapter against the emulator, once per API shape: the exact requests each shape sends (method, path, query,
 * body, content type, multipart part name and filename), and that responses of each era parse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAPH_API_SHAPES, type GraphApiShape, type ReviewRef } from '../../src/core/reviewGraph';
import { bufferSource, graphRequests, SAMPLE_CSV, startGraphFixture, type GraphFixture } from '../support/graphFixture';

let fx: GraphFixture;
beforeAll(async () => {
  fx = await startGraphFixture();
});
afterAll(async () => {
  await fx.close();
});

function sessionsPath(shape: GraphApiShape, forListAndDelete = false): string {
  const { catalogId: c, resourceId: r } = fx.resource;
  if (shape === 'v1.0') return `/v1.0/identityGovernance/entitlementManagement/catalogs/${c}/resources/${r}/uploadSessions`;
  if (shape === 'beta' || forListAndDelete) return `/beta/identityGovernance/catalogs/${c}/accessPackageResources/${r}/uploadSessions`;
  return `/beta/identityGovernance/entitlementManagement/accessPackageCatalogs/${c}/accessPackageResources/${r}/uploadSessions`;
}

function expectedCreateBody(shape: GraphApiShape, review: ReviewRef): unknown {
  if (shape === 'beta-2025') {
    return {
      source: fx.resource.source,
      type: '#microsoft.graph.accessReviewDataUploadTriggerCallbackData',
      data: {
        '@odata.type': '#microsoft.graph.accessReviewResourceDataUploadSessionContextData',
        accessReviewId: review.reviewDefinitionId,
        accessReviewInstanceId: review.reviewInstanceId,
      },
    };
  }
  return {
    '@odata.type': '#microsoft.graph.customDataProvidedResourceAccessReviewUploadSession',
    data: {
      '@odata.type': '#microsoft.graph.customDataProvidedResourcePayloads.accessReviewContextData',
      reviewDefinitionId: review.reviewDefinitionId,
      reviewInstanceId: review.reviewInstanceId,
    },
  };
}

async function newReview(): Promise<ReviewRef> {
  const instance = await fx.emulator.admin.startInstance(fx.review.reviewDefinitionId);
  return { reviewDefinitionId: fx.review.reviewDefinitionId, reviewInstanceId: instance.id };
}

describe.each(GRAPH_API_SHAPES)('Graph adapter, shape %s', (shape) => {
  it('creates, uploads, reads back and completes with exactly the documented requests', async () => {
    const graph = fx.client(shape);
    const review = await newReview();
    const file = bufferSource('BuildingAccessData-1a2b3c4d-0123456789ab.csv', SAMPLE_CSV);
    fx.emulator.admin.clearRequests();

    const created = await graph.createUploadSession(fx.resource, review);
    expect(created).toMatchObject({ status: 'active', isUploadDone: false, reviewInstanceId: review.reviewInstanceId });
    const afterUpload = await graph.uploadFile(fx.resource, created.id, file);
    expect(afterUpload.files).toEqual([expect.objectContaining({ name: file.name, size: file.size })]);
    const found = await graph.findUploadSession(fx.resource, review.reviewInstanceId);
    expect(found?.id).toBe(created.id);
    const completed = await graph.completeUploadSession(fx.resource, created.id);
    expect(completed).toMatchObject({ id: created.id, status: 'complete', isUploadDone: true });

    const base = sessionsPath(shape);
    const list = sessionsPath(shape, true);
    const sent = graphRequests(fx.emulator);
    expect(sent.map((r) => [r.method, r.path, r.query])).toEqual([
      ['POST', base, ''],
      ['POST', `${base}/${created.id}/uploadFile`, ''],
      ['GET', list, `$filter=referenceId eq '${review.reviewInstanceId}'&$expand=files`],
      ['PATCH', `${base}/${created.id}`, ''],
      ['GET', `${base}/${created.id}`, '$expand=files'],
    ]);
    const [create, upload, , patch] = sent;
    expect(create!.headers.contentType).toBe('application/json');
    expect(create!.json).toEqual(expectedCreateBody(shape, review));
    expect(create!.headers.clientRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(upload!.headers.contentType).toMatch(/^multipart\/form-data; boundary=----arsync[0-9a-f]{32}$/);
    expect(upload!.multipart?.parts).toEqual([
      { name: 'file', filename: file.name, contentType: 'application/octet-stream', size: file.size, sha256: file.sha256 },
    ]);
    expect(Number(upload!.headers.contentLength)).toBeGreaterThan(file.size);
    expect(patch!.json).toEqual({ isUploadDone: true });
    expect(patch!.headers.contentType).toBe('application/json');
    expect(sent.every((r) => r.headers.hasAuthorization)).toBe(true);

    const state = fx.emulator.admin.state();
    const session = state.sessions.find((s) => s.id === created.id)!;
    expect(session.files.map((f) => [f.name, f.size, f.sha256])).toEqual([[file.name, file.size, file.sha256]]);
    expect(fx.emulator.admin.fileContent(created.id, session.files[0]!.id)?.toString('utf8')).toBe(SAMPLE_CSV);
  });

  it('deletes an active session on the documented path, and a new one can then be created', async () => {
    const graph = fx.client(shape);
    const review = await newReview();
    const first = await graph.createUploadSession(fx.resource, review);
    fx.emulator.admin.clearRequests();
    await graph.deleteUploadSession(fx.resource, first.id);
    expect(graphRequests(fx.emulator).map((r) => [r.method, r.path])).toEqual([['DELETE', `${sessionsPath(shape, true)}/${first.id}`]]);
    const second = await graph.createUploadSession(fx.resource, review);
    expect(second.id).not.toBe(first.id);
    expect(fx.emulator.admin.state().sessions.filter((s) => s.referenceId === review.reviewInstanceId).map((s) => s.id)).toEqual([second.id]);
  });

  it('adopts the existing session instead of creating a second one', async () => {
    const graph = fx.client(shape);
    const review = await newReview();
    const first = await graph.createUploadSession(fx.resource, review);
    const again = await graph.createUploadSession(fx.resource, review);
    expect(again.id).toBe(first.id);
    expect(fx.emulator.admin.state().sessions.filter((s) => s.referenceId === review.reviewInstanceId)).toHaveLength(1);
  });

  it('lists the catalog custom data provided resources and discovers Initializing instances of covering reviews', async () => {
    const graph = fx.client(shape);
    const resources = await graph.listCustomDataResources(fx.resource.catalogId);
    expect(resources).toContainEqual(expect.objectContaining({ id: fx.resource.resourceId, displayName: fx.resource.source }));
    const review = await newReview();
    const found = await graph.findInitializingInstances([fx.resource.catalogId]);
    expect(found).toContainEqual(expect.objectContaining({ reviewDefinitionId: review.reviewDefinitionId, reviewInstanceId: review.reviewInstanceId, catalogIds: [fx.resource.catalogId] }));
    expect(await graph.findInitializingInstances(['00000000-0000-0000-0000-000000000000'])).toEqual([]);
  });
});
