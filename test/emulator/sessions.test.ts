import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGraphEmulator, type GraphEmulator } from '../../emulator/index';
import { JSON_HEADERS, call, currentBody, getToken, multipart, originalBody, paths, seedReview, type Review } from '../support/emulatorClient';

let emu: GraphEmulator;
let token: string;

beforeAll(async () => {
  emu = await startGraphEmulator();
  token = await getToken(emu);
});
afterAll(async () => {
  await emu.close();
});

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function create(base: string, body: string) {
  return call(emu, base, { method: 'POST', token, body, headers: JSON_HEADERS });
}
function upload(base: string, sessionId: string, filename: string, content: string | Buffer) {
  const mp = multipart([{ name: 'file', filename, content }]);
  return call(emu, `${base}/${sessionId}/uploadFile`, { method: 'POST', token, body: mp.body, headers: { 'content-type': mp.contentType } });
}
function complete(base: string, sessionId: string, body = '{"isUploadDone":true}') {
  return call(emu, `${base}/${sessionId}`, { method: 'PATCH', token, body, headers: JSON_HEADERS });
}
function get(path: string) {
  return call(emu, path.replace(/ /g, '%20'), { token });
}

describe('upload session lifecycle on v1.0 (P3, current body)', () => {
  it('creates, uploads, completes and reads back, with the v1.0 shapes', async () => {
    const review = seedReview(emu);
    const base = paths.p3(review.catalogId, review.resourceId);
    const created = await create(base, currentBody(review.definitionId, review.instanceId));
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      '@odata.type': '#microsoft.graph.customDataProvidedResourceAccessReviewUploadSession',
      referenceId: review.instanceId,
      status: 'active',
      isUploadDone: false,
      stats: { filesUploaded: 0, totalBytesUploaded: 0 },
      data: { reviewDefinitionId: review.definitionId, reviewInstanceId: review.instanceId },
    });
    expect(created.json['@odata.context']).toContain(`/v1.0/$metadata#identityGovernance/entitlementManagement/catalogs('${review.catalogId}')`);
    expect(created.json.createdDateTime).toMatch(/\.\d{7}Z$/);
    const id = created.json.id as string;
    expect(id).toMatch(GUID);

    const csv = 'principalId,principalType\r\n0a1b,user\r\n';
    const uploaded = await upload(base, id, 'badge-export-01.csv', csv);
    expect(uploaded.status).toBe(200);
    expect(uploaded.json.stats).toEqual({ filesUploaded: 1, totalBytesUploaded: csv.length });
    expect(uploaded.json.files).toEqual([{ id: expect.stringMatching(GUID), name: 'badge-export-01.csv', size: csv.length, uploadedDateTime: expect.any(String) }]);

    // v1.0 omits files without $expand.
    const plain = await get(`${base}/${id}`);
    expect(plain.status).toBe(200);
    expect(plain.json).not.toHaveProperty('files');
    const expanded = await get(`${base}/${id}?$expand=files`);
    expect(expanded.json.files).toHaveLength(1);

    const done = await complete(base, id);
    expect(done.status).toBe(200);
    expect(done.json).toMatchObject({ status: 'complete', isUploadDone: true });

    const state = emu.admin.state();
    const held = state.sessions.find((s) => s.id === id);
    expect(held?.files[0]?.sha256).toBe(createHash('sha256').update(csv).digest('hex'));
    expect(emu.admin.fileContent(id, held?.files[0]?.id ?? '')?.toString()).toBe(csv);
    // The only CDPR of the catalog is complete, so the instance leaves Initializing.
    expect(state.instances.find((i) => i.id === review.instanceId)?.status).toBe('InProgress');
  });

  it('lists with $filter on referenceId and status, and deletes an active session (204)', async () => {
    const review = seedReview(emu);
    const base = paths.p3(review.catalogId, review.resourceId);
    const created = await create(base, currentBody(review.definitionId, review.instanceId));
    const byRef = await get(`${base}?$filter=referenceId eq '${review.instanceId}'`);
    expect(byRef.status).toBe(200);
    expect(byRef.json.value.map((s: { id: string }) => s.id)).toEqual([created.json.id]);
    expect((await get(`${base}?$filter=referenceId eq 'other'`)).json.value).toEqual([]);
    expect((await get(`${base}?$filter=status eq 'active'`)).json.value).toHaveLength(1);
    expect((await get(`${base}?$filter=status eq 'complete'`)).json.value).toHaveLength(0);

    const deleted = await call(emu, `${base}/${created.json.id}`, { method: 'DELETE', token });
    expect(deleted.status).toBe(204);
    expect((await get(`${base}/${created.json.id}`)).status).toBe(404);
    // After deleting the active session a new one may be created.
    expect((await create(base, currentBody(review.definitionId, review.instanceId))).status).toBe(201);
  });

  it('refuses the original body on v1.0', async () => {
    const review = seedReview(emu);
    const answer = await create(paths.p3(review.catalogId, review.resourceId), originalBody(review.source, review.definitionId, review.instanceId));
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe('BadRequest');
  });
});

describe('beta families', () => {
  it('P2 accepts the current body, inlines files and uses lowercase status', async () => {
    const review = seedReview(emu);
    const base = paths.p2(review.catalogId, review.resourceId);
    const created = await create(base, currentBody(review.definitionId, review.instanceId));
    expect(created.status).toBe(201);
    expect(created.json['@odata.context']).toContain(`/beta/$metadata#identityGovernance/catalogs('${review.catalogId}')/accessPackageResources`);
    await upload(base, created.json.id, 'a.csv', 'x');
    const read = await get(`${base}/${created.json.id}`);
    expect(read.json.status).toBe('active');
    expect(read.json.files).toEqual([expect.objectContaining({ id: expect.stringMatching(GUID), name: 'a.csv', size: 1 })]);
  });

  it('P2 accepts the original body and echoes the intermediate shape', async () => {
    const review = seedReview(emu);
    const base = paths.p2(review.catalogId, review.resourceId);
    const created = await create(base, originalBody(review.source, review.definitionId, review.instanceId));
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      referenceId: review.instanceId,
      status: 'active',
      source: review.source,
      type: '#microsoft.graph.accessReviewDataUploadTriggerCallbackData',
      data: { accessReviewId: review.definitionId, accessReviewInstanceId: review.instanceId },
    });
    expect(created.json).not.toHaveProperty('@odata.type');
  });

  it('P1 speaks the original 2025 shape: Active/Complete, expirationDateTime, files without id', async () => {
    const review = seedReview(emu);
    const base = paths.p1(review.catalogId, review.resourceId);
    const created = await create(base, originalBody(review.source, review.definitionId, review.instanceId));
    expect(created.status).toBe(201);
    expect(created.json.status).toBe('Active');
    expect(created.json).not.toHaveProperty('referenceId');
    expect(created.json).not.toHaveProperty('@odata.context');
    expect(Date.parse(created.json.expirationDateTime) - Date.parse(created.json.createdDateTime)).toBe(24 * 3600 * 1000);
    const uploaded = await upload(base, created.json.id, 'a.csv', 'abc');
    expect(uploaded.json.files).toEqual([{ name: 'a.csv', size: 3, uploadedDateTime: expect.any(String) }]);
    const done = await complete(base, created.json.id);
    expect(done.json.status).toBe('Complete');
    // The same session seen through v1.0 P3 is in the current shape.
    const v1 = await get(`${paths.p3(review.catalogId, review.resourceId)}/${created.json.id}`);
    expect(v1.json).toMatchObject({ status: 'complete', referenceId: review.instanceId, data: { reviewInstanceId: review.instanceId } });
  });

  it('P1 also accepts the current body and the Logic App data type', async () => {
    const review = seedReview(emu, 1);
    const first = await create(paths.p1(review.catalogId, review.resourceId), currentBody(review.definitionId, review.instanceId));
    expect(first.status).toBe(201);
    const logicApp = JSON.stringify({
      source: 'Source1',
      type: 'accessReviewDataUploadTriggerCallbackData',
      data: { '@odata.type': '#microsoft.graph.accessReviewInstance', accessReviewId: review.definitionId, accessReviewInstanceId: review.instanceId },
    });
    const second = await create(paths.p2(review.catalogId, review.extraResourceIds[0] ?? ''), logicApp);
    expect(second.status).toBe(201);
    expect(second.json.data['@odata.type']).toBe('#microsoft.graph.accessReviewInstance');
  });

  it('a family on the wrong version is a 400 naming the segment', async () => {
    const review = seedReview(emu);
    const p3OnBeta = await get(paths.p3(review.catalogId, review.resourceId).replace('/v1.0/', '/beta/'));
    expect(p3OnBeta.status).toBe(400);
    expect(p3OnBeta.json.error.message).toContain("segment 'catalogs'");
    const p1OnV1 = await get(paths.p1(review.catalogId, review.resourceId).replace('/beta/', '/v1.0/'));
    expect(p1OnV1.status).toBe(400);
    expect(p1OnV1.json.error.message).toContain("segment 'accessPackageCatalogs'");
    const p2OnV1 = await get(paths.p2(review.catalogId, review.resourceId).replace('/beta/', '/v1.0/'));
    expect(p2OnV1.status).toBe(400);
  });
});

describe('rules', () => {
  async function activeSession(review: Review, base = paths.p3(review.catalogId, review.resourceId)) {
    const created = await create(base, currentBody(review.definitionId, review.instanceId));
    expect(created.status).toBe(201);
    return { base, id: created.json.id as string };
  }

  it('refuses a second create for the same instance and resource, also after complete', async () => {
    const review = seedReview(emu, 1);
    const { base, id } = await activeSession(review);
    const again = await create(base, currentBody(review.definitionId, review.instanceId));
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('Conflict');
    // Through another family: still the same (instance, resource) pair.
    expect((await create(paths.p2(review.catalogId, review.resourceId), currentBody(review.definitionId, review.instanceId))).status).toBe(409);
    await complete(base, id);
    expect((await create(base, currentBody(review.definitionId, review.instanceId))).status).toBe(409);
    // Another resource of the same catalog is a different pair.
    expect((await create(paths.p3(review.catalogId, review.extraResourceIds[0] ?? ''), currentBody(review.definitionId, review.instanceId))).status).toBe(201);
  });

  it('the second-create status is configurable', async () => {
    emu.admin.setBehaviour({ secondCreateStatus: 400 });
    try {
      const review = seedReview(emu);
      const { base } = await activeSession(review);
      const again = await create(base, currentBody(review.definitionId, review.instanceId));
      expect(again.status).toBe(400);
      expect(again.json.error.code).toBe('BadRequest');
    } finally {
      emu.admin.setBehaviour({ secondCreateStatus: 409 });
    }
  });

  it('refuses upload, PATCH and DELETE after complete', async () => {
    const review = seedReview(emu, 1); // a second CDPR keeps the instance Initializing
    const { base, id } = await activeSession(review);
    expect((await complete(base, id)).status).toBe(200);
    expect((await upload(base, id, 'late.csv', 'x')).status).toBe(400);
    expect((await complete(base, id)).status).toBe(400);
    expect((await call(emu, `${base}/${id}`, { method: 'DELETE', token })).status).toBe(400);
    expect(emu.admin.state().instances.find((i) => i.id === review.instanceId)?.status).toBe('Initializing');
  });

  it.each([
    ['{"isUploadDone":false}'],
    ['{"isUploadDone":true,"status":"complete"}'],
    ['{"status":"complete"}'],
    ['{"isUploadDone":"true"}'],
    ['not json'],
  ])('PATCH %s is a 400', async (body) => {
    const review = seedReview(emu);
    const { base, id } = await activeSession(review);
    const answer = await complete(base, id, body);
    expect(answer.status).toBe(400);
    expect(emu.admin.state().sessions.find((s) => s.id === id)?.status).toBe('active');
  });

  it('same-name re-upload: add keeps both, replace swaps, reject refuses', async () => {
    const review = seedReview(emu, 2);
    const { base, id } = await activeSession(review);
    await upload(base, id, 'a.csv', 'one');
    const added = await upload(base, id, 'a.csv', 'two!');
    expect(added.json.files.map((f: { name: string }) => f.name)).toEqual(['a.csv', 'a.csv']);

    emu.admin.setBehaviour({ sameNameUpload: 'replace' });
    try {
      const second = await activeSession(review, paths.p3(review.catalogId, review.extraResourceIds[0] ?? ''));
      await upload(second.base, second.id, 'a.csv', 'one');
      const replaced = await upload(second.base, second.id, 'a.csv', 'three');
      expect(replaced.json.files).toEqual([expect.objectContaining({ name: 'a.csv', size: 5 })]);
      emu.admin.setBehaviour({ sameNameUpload: 'reject' });
      const third = await activeSession(review, paths.p3(review.catalogId, review.extraResourceIds[1] ?? ''));
      await upload(third.base, third.id, 'a.csv', 'one');
      const rejected = await upload(third.base, third.id, 'a.csv', 'again');
      expect(rejected.status).toBe(409);
      expect(emu.admin.state().sessions.find((s) => s.id === third.id)?.files).toHaveLength(1);
    } finally {
      emu.admin.setBehaviour({ sameNameUpload: 'add' });
    }
  });

  it('maxFilesPerSession refuses the file beyond the limit', async () => {
    emu.admin.setBehaviour({ maxFilesPerSession: 2 });
    try {
      const review = seedReview(emu);
      const { base, id } = await activeSession(review);
      expect((await upload(base, id, '1.csv', 'x')).status).toBe(200);
      expect((await upload(base, id, '2.csv', 'x')).status).toBe(200);
      const third = await upload(base, id, '3.csv', 'x');
      expect(third.status).toBe(400);
      expect(third.json.error.code).toBe('BadRequest');
    } finally {
      emu.admin.setBehaviour({ maxFilesPerSession: null });
    }
  });

  it('uploadFile needs exactly one file part named file', async () => {
    const review = seedReview(emu);
    const { base, id } = await activeSession(review);
    const send = (parts: Parameters<typeof multipart>[0]) => {
      const mp = multipart(parts);
      return call(emu, `${base}/${id}/uploadFile`, { method: 'POST', token, body: mp.body, headers: { 'content-type': mp.contentType } });
    };
    expect((await send([{ name: 'upload', filename: 'a.csv', content: 'x' }])).status).toBe(400);
    expect((await send([{ name: 'file', filename: 'a.csv', content: 'x' }, { name: 'file', filename: 'b.csv', content: 'y' }])).status).toBe(400);
    expect((await send([{ name: 'file', content: 'no filename' }])).status).toBe(400);
    const json = await call(emu, `${base}/${id}/uploadFile`, { method: 'POST', token, body: '{}', headers: JSON_HEADERS });
    expect(json.status).toBe(400);
    const truncated = Buffer.from('--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nabc');
    const bad = await call(emu, `${base}/${id}/uploadFile`, { method: 'POST', token, body: truncated, headers: { 'content-type': 'multipart/form-data; boundary=b' } });
    expect(bad.status).toBe(400);
    expect(emu.admin.state().sessions.find((s) => s.id === id)?.files).toEqual([]);
    // The recorded request shows what was sent, part by part.
    const recorded = emu.admin.requests().filter((r) => r.path === `${base}/${id}/uploadFile`);
    expect(recorded[1]?.multipart?.parts.map((p) => p.filename)).toEqual(['a.csv', 'b.csv']);
  });

  it('keeps a UTF-8 filename and records part facts', async () => {
    const review = seedReview(emu);
    const { base, id } = await activeSession(review);
    const answer = await upload(base, id, 'Zutrittsdaten-März.csv', 'ä');
    expect(answer.json.files[0].name).toBe('Zutrittsdaten-März.csv');
    const record = emu.admin.requests().at(-1);
    expect(record?.multipart?.parts).toEqual([
      { name: 'file', filename: 'Zutrittsdaten-März.csv', contentType: 'application/octet-stream', size: 2, sha256: createHash('sha256').update('ä').digest('hex') },
    ]);
    expect(record?.multipart?.boundary).toBe('----emu7f3a9c');
  });

  it('refuses a create for an unknown instance, a non-CDPR resource or a definition not covering the catalog', async () => {
    const review = seedReview(emu);
    const base = paths.p3(review.catalogId, review.resourceId);
    expect((await create(base, currentBody(review.definitionId, 'no-such-instance'))).status).toBe(404);
    emu.admin.seed({ resources: [{ id: 'plain-group', catalogId: review.catalogId, displayName: 'A group', originSystem: 'AadGroup' }] });
    expect((await create(paths.p3(review.catalogId, 'plain-group'), currentBody(review.definitionId, review.instanceId))).status).toBe(400);
    const other = seedReview(emu);
    expect((await create(base, currentBody(other.definitionId, other.instanceId))).status).toBe(400);
    expect((await create(paths.p3('no-such-catalog', review.resourceId), currentBody(review.definitionId, review.instanceId))).status).toBe(404);
  });

  it('refuses a create while the instance is not Initializing', async () => {
    const review = seedReview(emu);
    emu.admin.setInstanceStatus(review.definitionId, review.instanceId, 'NotStarted');
    const answer = await create(paths.p3(review.catalogId, review.resourceId), currentBody(review.definitionId, review.instanceId));
    expect(answer.status).toBe(400);
    expect(answer.json.error.message).toContain('Initializing');
  });
});

describe('queries', () => {
  let review: Review;
  let base: string;
  let id: string;
  beforeAll(async () => {
    review = seedReview(emu);
    base = paths.p3(review.catalogId, review.resourceId);
    id = (await create(base, currentBody(review.definitionId, review.instanceId))).json.id as string;
    await upload(base, id, 'b.csv', '12345');
    emu.admin.advanceClock(1000);
    await upload(base, id, 'a.csv', '1');
    emu.admin.advanceClock(1000);
    await upload(base, id, 'c.csv', '123');
  });
  const names = (answer: { json: { files: { name: string }[] } }) => answer.json.files.map((f) => f.name);

  it('nested $filter on name, size and uploadedDateTime', async () => {
    expect(names(await get(`${base}/${id}?$expand=files($filter=name eq 'a.csv')`))).toEqual(['a.csv']);
    expect(names(await get(`${base}/${id}?$expand=files($filter=name ne 'a.csv')`))).toEqual(['b.csv', 'c.csv']);
    expect(names(await get(`${base}/${id}?$expand=files($filter=size gt 1)`))).toEqual(['b.csv', 'c.csv']);
    expect(names(await get(`${base}/${id}?$expand=files($filter=size le 3)`))).toEqual(['a.csv', 'c.csv']);
    expect(names(await get(`${base}/${id}?$expand=files($filter=size ge 3 and size lt 5)`))).toEqual(['c.csv']);
    const all = (await get(`${base}/${id}?$expand=files`)).json.files as { name: string; uploadedDateTime: string }[];
    const middle = all.find((f) => f.name === 'a.csv')?.uploadedDateTime ?? '';
    expect(names(await get(`${base}/${id}?$expand=files($filter=uploadedDateTime gt ${middle})`))).toEqual(['c.csv']);
    expect(names(await get(`${base}/${id}?$expand=files($filter=uploadedDateTime le ${middle})`))).toEqual(['b.csv', 'a.csv']);
    expect(names(await get(`${base}/${id}?$expand=files($filter=uploadedDateTime eq ${middle})`))).toEqual(['a.csv']);
  });

  it('nested $orderby, combined with $filter, and on the list', async () => {
    expect(names(await get(`${base}/${id}?$expand=files($orderby=name)`))).toEqual(['a.csv', 'b.csv', 'c.csv']);
    expect(names(await get(`${base}/${id}?$expand=files($orderby=size desc)`))).toEqual(['b.csv', 'c.csv', 'a.csv']);
    expect(names(await get(`${base}/${id}?$expand=files($orderby=uploadedDateTime desc)`))).toEqual(['c.csv', 'a.csv', 'b.csv']);
    expect(names(await get(`${base}/${id}?$expand=files($filter=size gt 1;$orderby=name desc)`))).toEqual(['c.csv', 'b.csv']);
    const listed = await get(`${base}?$filter=referenceId eq '${review.instanceId}'&$expand=files($orderby=name asc)`);
    expect(listed.json.value[0].files.map((f: { name: string }) => f.name)).toEqual(['a.csv', 'b.csv', 'c.csv']);
  });

  it.each([
    '$expand=folders',
    '$expand=files($filter=name gt 1)',
    "$expand=files($filter=name gt 'a')",
    '$expand=files($filter=owner eq 1)',
    '$expand=files($orderby=name sideways)',
    "$expand=files($filter=name eq 'a.csv'",
    '$expand=files($unknown=1)',
    '$foo=bar',
    "$filter=displayName eq 'x'",
    "$filter=referenceId ne 'x'",
    "$filter=referenceId eq 'x' or status eq 'active'",
    '$top=-1',
    '$top=1&$top=2',
  ])('rejects the malformed or unsupported query %s', async (query) => {
    const answer = await get(`${base}?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe('BadRequest');
  });

  it('pages the session list with @odata.nextLink, honouring $top as a total', async () => {
    const paged = seedReview(emu);
    const pagedBase = paths.p3(paged.catalogId, paged.resourceId);
    const instances = [paged.instanceId, emu.admin.startInstance(paged.definitionId).id, emu.admin.startInstance(paged.definitionId).id];
    for (const instanceId of instances) expect((await create(pagedBase, currentBody(paged.definitionId, instanceId))).status).toBe(201);
    emu.admin.setBehaviour({ pageSize: 2 });
    try {
      const first = await get(`${pagedBase}?$filter=status eq 'active'`);
      expect(first.json.value).toHaveLength(2);
      const next = first.json['@odata.nextLink'] as string;
      expect(next.startsWith(`${emu.graphUrl}${pagedBase}?`)).toBe(true);
      const second = await call(emu, next, { token });
      expect(second.json.value).toHaveLength(1);
      expect(second.json).not.toHaveProperty('@odata.nextLink');
      const seen = [...first.json.value, ...second.json.value].map((v: { referenceId: string }) => v.referenceId).sort();
      expect(seen).toEqual([...instances].sort());
      const limited = await get(`${pagedBase}?$top=1&$count=true`);
      expect(limited.json.value).toHaveLength(1);
      expect(limited.json['@odata.count']).toBe(3);
      expect(limited.json).not.toHaveProperty('@odata.nextLink');
    } finally {
      emu.admin.setBehaviour({ pageSize: 100 });
    }
  });
});

describe('window and clock', () => {
  it('expires active sessions and moves the instance on at the end of the window', async () => {
    const local = await startGraphEmulator({ startTime: Date.UTC(2026, 8, 1, 8, 0, 0), behaviour: { uploadWindowMs: 60_000 } });
    try {
      const localToken = await getToken(local);
      const review = seedReview(local, 1);
      const start = Date.parse(local.admin.state().instances.find((i) => i.id === review.instanceId)?.startDateTime ?? '');
      expect(Math.abs(start - Date.UTC(2026, 8, 1, 8, 0, 0))).toBeLessThan(60_000);
      const base = paths.p3(review.catalogId, review.resourceId);
      const created = await call(local, base, { method: 'POST', token: localToken, body: currentBody(review.definitionId, review.instanceId), headers: JSON_HEADERS });
      expect(created.status).toBe(201);
      expect(Date.parse(created.json.createdDateTime)).toBeGreaterThanOrEqual(start);

      local.admin.advanceClock(61_000);
      const read = await call(local, `${base}/${created.json.id}`, { token: localToken });
      expect(read.json.status).toBe('expired');
      const mp = multipart([{ name: 'file', filename: 'a.csv', content: 'x' }]);
      const late = await call(local, `${base}/${created.json.id}/uploadFile`, { method: 'POST', token: localToken, body: mp.body, headers: { 'content-type': mp.contentType } });
      expect(late.status).toBe(400);
      const otherResource = await call(local, paths.p3(review.catalogId, review.extraResourceIds[0] ?? ''), {
        method: 'POST',
        token: localToken,
        body: currentBody(review.definitionId, review.instanceId),
        headers: JSON_HEADERS,
      });
      expect(otherResource.status).toBe(400);
      expect(local.admin.state().instances.find((i) => i.id === review.instanceId)?.status).toBe('InProgress');
      // An expired session cannot be deleted to start over either.
      expect((await call(local, `${base}/${created.json.id}`, { method: 'DELETE', token: localToken })).status).toBe(400);
    } finally {
      await local.close();
    }
  });

  it('an instance started later has its own window; now() follows advanceClock', async () => {
    const local = await startGraphEmulator({ seedSample: false });
    try {
      const before = local.admin.now();
      const after = local.admin.advanceClock(3_600_000);
      expect(after - before).toBeGreaterThanOrEqual(3_600_000);
      local.admin.seed({ catalogs: [{ id: 'c', displayName: 'c' }], resources: [{ id: 'r', catalogId: 'c', displayName: 'S' }], definitions: [{ id: 'd', displayName: 'd', catalogIds: ['c'] }] });
      const instance = local.admin.startInstance('d', { id: 'i' });
      expect(Date.parse(instance.startDateTime)).toBeGreaterThanOrEqual(after);
      const old = local.admin.startInstance('d', { id: 'old', startDateTime: new Date(after - 3 * 3_600_000).toISOString() });
      expect(old.status).toBe('Initializing');
      const states = local.admin.state().instances;
      expect(states.find((i) => i.id === 'old')?.status).toBe('InProgress');
      expect(states.find((i) => i.id === 'i')?.status).toBe('Initializing');
    } finally {
      await local.close();
    }
  });
});

describe('correlation and errors', () => {
  it('echoes client-request-id and adds request-id on success and error', async () => {
    const ok = await call(emu, `/v1.0/identityGovernance/accessReviews/definitions`, { token, headers: { 'client-request-id': 'abc-123' } });
    expect(ok.headers['client-request-id']).toBe('abc-123');
    expect(ok.headers['request-id']).toMatch(GUID);
    const bad = await call(emu, `/v1.0/identityGovernance/nothingHere`, { token });
    expect(bad.status).toBe(400);
    expect(bad.headers['client-request-id']).toMatch(GUID);
    expect(bad.json.error).toMatchObject({
      code: 'BadRequest',
      message: expect.any(String),
      innerError: { date: expect.any(String), 'request-id': bad.headers['request-id'], 'client-request-id': bad.headers['client-request-id'] },
    });
  });
});
