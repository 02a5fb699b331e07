/**
 * The sync job end to end, through the exported handlers, on in-process Azurite and the Graph emulator. After every
 * test, reconciliation: storage inventory = ledger, Graph files = uploaded entries, no duplicates.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { blobVersionKey, requestKey } from '../../src/core/layout';
import { KIND_BLOB, KIND_REQUEST, UPLOAD_WINDOW_MS, type ReviewRequest, type Snapshot } from '../../src/core/requests';
import { GRAPH_API_SHAPES } from '../../src/core/reviewGraph';
import { csv, envelopeCallout, flatCallout, legacyCsv, row, reconcileAndClose, startSyncHarness, type SyncHarness } from './harness';

let h: SyncHarness | undefined;
afterEach(async () => {
  const done = h;
  h = undefined;
  await reconcileAndClose(done);
});

function sessionsOf(harness: SyncHarness, reviewInstanceId: string) {
  return harness.emulator.admin.state().sessions.filter((s) => s.referenceId === reviewInstanceId);
}

describe('drop, then callout', () => {
  it.each(GRAPH_API_SHAPES)('feeds the review through the %s shape with exactly its requests', async (shape) => {
    h = await startSyncHarness({ shape });
    const content = shape === 'beta-2025' ? legacyCsv(1, 2, 3) : csv(row(1), row(2, 'door-b'), row(3));
    const blob = await h.drop('badge-export.csv', content);
    await h.deliver(blob.name);
    expect(await h.list('inbox/')).toEqual([]);
    const staged = await h.list(`staged/${h.source}/`);
    expect(staged).toHaveLength(1);

    const review = h.startInstance();
    h.emulator.admin.clearRequests();
    const response = await h.callout(envelopeCallout(h, review));
    expect(response.status).toBe(202);

    const request = await h.request(review.reviewInstanceId);
    expect(request).toMatchObject({ state: 'done', origin: 'callout' });
    const [session] = sessionsOf(h, review.reviewInstanceId);
    expect(session).toMatchObject({ status: 'complete', isUploadDone: true });
    expect(session!.files.map((f) => f.name)).toEqual([request!.plan![0]!.uploadName]);
    // What reached Graph is the canonical CSV, byte for byte what is staged and archived.
    const uploaded = h.emulator.admin.fileContent(session!.id, session!.files[0]!.id)!.toString('utf8');
    expect(uploaded).toBe(content);
    expect(await h.readText(`archive/${h.source}/${review.reviewInstanceId}/${session!.files[0]!.name}`)).toBe(content);
    const manifest = JSON.parse((await h.readText(`archive/${h.source}/${review.reviewInstanceId}/manifest.json`))!) as { uploadSessionId: string; files: { rows: number }[] };
    expect(manifest.uploadSessionId).toBe(session!.id);
    expect(manifest.files[0]!.rows).toBe(3);

    const s = h.emulator.sample!;
    const base =
      shape === 'v1.0'
        ? `/v1.0/identityGovernance/entitlementManagement/catalogs/${s.catalogId}/resources/${s.resourceId}/uploadSessions`
        : shape === 'beta'
          ? `/beta/identityGovernance/catalogs/${s.catalogId}/accessPackageResources/${s.resourceId}/uploadSessions`
          : `/beta/identityGovernance/entitlementManagement/accessPackageCatalogs/${s.catalogId}/accessPackageResources/${s.resourceId}/uploadSessions`;
    const sent = h.emulator.admin.requests().filter((r) => r.path.startsWith('/v1.0/') || r.path.startsWith('/beta/'));
    expect(sent.map((r) => `${r.method} ${r.path}${r.query ? `?${r.query}` : ''}`)).toEqual([
      `POST ${base}`,
      `POST ${base}/${session!.id}/uploadFile`,
      `GET ${base}/${session!.id}?$expand=files`,
      `PATCH ${base}/${session!.id}`,
      `GET ${base}/${session!.id}?$expand=files`,
    ]);
    expect(sent[0]!.json).toMatchObject(
      shape === 'beta-2025'
        ? { source: h.source, data: { accessReviewId: review.reviewDefinitionId, accessReviewInstanceId: review.reviewInstanceId } }
        : { data: { reviewDefinitionId: review.reviewDefinitionId, reviewInstanceId: review.reviewInstanceId } },
    );
    expect(sent[1]!.multipart!.parts).toEqual([
      expect.objectContaining({ name: 'file', filename: session!.files[0]!.name, contentType: 'application/octet-stream', size: Buffer.byteLength(content) }),
    ]);
    expect(sent[3]!.json).toEqual({ isUploadDone: true });
  });
});

describe('the other orders and triggers', () => {
  it('callout first (flat payload), then the drop fulfils the waiting request', async () => {
    h = await startSyncHarness();
    const review = h.startInstance();
    expect((await h.callout(flatCallout(h, review))).status).toBe(202);
    expect(await h.request(review.reviewInstanceId)).toMatchObject({ state: 'pending' });
    expect(sessionsOf(h, review.reviewInstanceId)).toEqual([]);
    const blob = await h.drop('export.csv', csv(row(1)));
    await h.deliver(blob.name);
    expect(await h.request(review.reviewInstanceId)).toMatchObject({ state: 'done' });
    expect(sessionsOf(h, review.reviewInstanceId)[0]!.files).toHaveLength(1);
  });

  it('no callout at all: the sweep ingests the missed drop, discovers the Initializing instance and fulfils it', async () => {
    h = await startSyncHarness();
    await h.drop('export.csv', csv(row(1), row(2)));
    const review = h.startInstance();
    const report = await h.runSweep();
    expect(report.inbox).toEqual({ staged: 1 });
    expect(report.failedSteps).toEqual([]);
    expect(await h.request(review.reviewInstanceId)).toMatchObject({ state: 'done', origin: 'discovery' });
    expect(sessionsOf(h, review.reviewInstanceId)[0]).toMatchObject({ status: 'complete' });
    const status = JSON.parse((await h.readText('status/latest.json'))!) as { requests: { reviewInstanceId: string; state: string }[] };
    expect(status.requests).toContainEqual(expect.objectContaining({ reviewInstanceId: review.reviewInstanceId, state: 'done' }));
    expect(await h.readText('status/latest.md')).toContain(review.reviewInstanceId);
  });

  it('a repeated callout and a discovery of the same instance are one request and one session', async () => {
    h = await startSyncHarness();
    await h.deliver((await h.drop('export.csv', csv(row(1)))).name);
    const review = h.startInstance();
    const first = await h.callout(envelopeCallout(h, review));
    const second = await h.callout(flatCallout(h, review));
    await h.runSweep();
    expect(first.jsonBody).toMatchObject({ created: true });
    expect(second.jsonBody).toMatchObject({ created: false, status: 'done' });
    expect(sessionsOf(h, review.reviewInstanceId)).toHaveLength(1);
  });
});

describe('snapshots', () => {
  it('two reviews fed by one source both receive the snapshot', async () => {
    h = await startSyncHarness();
    await h.deliver((await h.drop('export.csv', csv(row(1)))).name);
    const first = h.startInstance();
    const second = h.startInstance();
    await h.callout(envelopeCallout(h, first));
    await h.callout(envelopeCallout(h, second));
    const a = sessionsOf(h, first.reviewInstanceId);
    const b = sessionsOf(h, second.reviewInstanceId);
    expect(a).toHaveLength(1);
    expect(b).toHaveLength(1);
    expect(a[0]!.id).not.toBe(b[0]!.id);
    expect(a[0]!.files.map((f) => f.sha256)).toEqual(b[0]!.files.map((f) => f.sha256));
    const blobs = await h.runtime.ledger.list(KIND_BLOB)[Symbol.asyncIterator]().next();
    expect((blobs.value as { value: { uploadedTo: string[] } }).value.uploadedTo.sort()).toEqual([first.reviewInstanceId, second.reviewInstanceId].sort());
  });

  it('a new version of a file replaces the old one in the snapshot; other files stay', async () => {
    h = await startSyncHarness();
    await h.deliver((await h.drop('doors.csv', csv(row(1), row(2)))).name);
    await h.deliver((await h.drop('labs.csv', csv(row(5, 'lab-1')))).name);
    const newer = csv(row(1), row(2), row(3));
    await h.deliver((await h.drop('doors.csv', newer)).name);
    const review = h.startInstance();
    await h.callout(envelopeCallout(h, review));
    const [session] = sessionsOf(h, review.reviewInstanceId);
    expect(session!.files).toHaveLength(2);
    const contents = session!.files.map((f) => h!.emulator.admin.fileContent(session!.id, f.id)!.toString('utf8')).sort();
    expect(contents).toEqual([csv(row(5, 'lab-1')), newer].sort());
    // The replaced version is superseded (its original is still archived), not lost.
    const states: string[] = [];
    for await (const r of h.runtime.ledger.list(KIND_BLOB)) states.push(r.state);
    expect(states.sort()).toEqual(['superseded', 'uploaded', 'uploaded']);
    // The sweep keeps staged/ to the current snapshot: the superseded canonical file goes, its original stays archived.
    expect(await h.list(`staged/${h.source}/`)).toHaveLength(3);
    expect((await h.runSweep()).tidied).toBe(1);
    expect((await h.list(`staged/${h.source}/`)).sort()).toEqual(session!.files.map((f) => `staged/${h!.source}/${f.name}`).sort());
    expect(await h.list(`archive/${h.source}/_received/`)).toHaveLength(3);
  });
});

describe('refusals and duplicates', () => {
  it('a rejected file is quarantined with both reports and never uploaded', async () => {
    h = await startSyncHarness();
    const bad = `Employee Object ID,principalType,permissionId,permissionName,permissionDescription,permissionType\r\nnot-a-guid,user,door-a,Door A,Badge,Physical\r\n`;
    const blob = await h.drop('contractors.csv', bad);
    await h.deliver(blob.name);
    expect(await h.list('inbox/')).toEqual([]);
    const rejected = await h.list(`rejected/${h.source}/`);
    expect(rejected.map((n) => n.split('/').pop()).sort()).toEqual(['contractors.csv', 'report.csv', 'report.json']);
    const original = rejected.find((n) => n.endsWith('contractors.csv'))!;
    expect(await h.readText(original)).toBe(bad);
    const report = JSON.parse((await h.readText(rejected.find((n) => n.endsWith('report.json'))!))!) as { issues: { line: number; column: string; rule: string }[] };
    expect(report.issues).toContainEqual(expect.objectContaining({ line: 2, column: 'principalId' }));
    expect(JSON.stringify(report)).not.toContain('not-a-guid');
    const review = h.startInstance();
    await h.callout(envelopeCallout(h, review));
    expect(await h.request(review.reviewInstanceId)).toMatchObject({ state: 'pending' });
    expect(sessionsOf(h, review.reviewInstanceId)).toEqual([]);
    expect(h.logs.map((l) => l.text).join('\n')).not.toContain('not-a-guid');
  });

  it('the same blob version delivered 5 times concurrently: one staged file, one session, one file', async () => {
    h = await startSyncHarness();
    const review = h.startInstance();
    await h.callout(envelopeCallout(h, review));
    const blob = await h.drop('export.csv', csv(row(1), row(2)));
    await Promise.all(Array.from({ length: 5 }, () => h!.deliver(blob.name)));
    await h.runSweep();
    expect(await h.list(`staged/${h.source}/`)).toHaveLength(1);
    const sessions = sessionsOf(h, review.reviewInstanceId);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.files).toHaveLength(1);
    expect(sessions[0]!.status).toBe('complete');
    expect(await h.runtime.ledger.get(KIND_BLOB, blobVersionKey(blob.name, blob.etag))).toMatchObject({ state: 'uploaded' });
  });
});

describe('crashes and deadlines', () => {
  it.each([
    ['between create and upload', false],
    ['between upload and PATCH', true],
  ])('a worker that died %s is taken over by the sweep: no second session, each file once', async (_when, uploaded) => {
    h = await startSyncHarness();
    await h.deliver((await h.drop('export.csv', csv(row(1)))).name);
    const review = h.startInstance();
    // Record the request, then leave exactly the durable state a crashed worker leaves: a session in Graph, maybe
    // the file too, and the request held under the dead worker's lease.
    const source = { catalogId: h.emulator.sample!.catalogId, resourceId: h.emulator.sample!.resourceId, source: h.source };
    await h.runtime.graph.createUploadSession(source, review);
    const key = requestKey(review.reviewInstanceId, h.source);
    const snapshot = (await h.runtime.ledger.get<Snapshot>('snapshot', h.source))!.value;
    const session = (await h.runtime.graph.findUploadSession(source, review.reviewInstanceId))!;
    if (uploaded) {
      const file = snapshot.files[0]!;
      await h.runtime.graph.uploadFile(source, session.id, { name: file.uploadName, size: file.size, open: () => h!.runtime.store.openRead(file.stagedName) });
    }
    await h.runtime.ledger.create<ReviewRequest>(KIND_REQUEST, key, 'uploading', {
      ...review,
      reviewInstanceId: review.reviewInstanceId.toLowerCase(),
      source: h.source,
      catalogId: source.catalogId,
      resourceId: source.resourceId,
      origin: 'callout',
      receivedAt: h.clock.now(),
      deadline: h.clock.now() + UPLOAD_WINDOW_MS,
      plan: snapshot.files,
      sessionId: session.id,
      lease: { owner: 'dead-worker', until: h.clock.now() + 15 * 60_000 },
    });
    await h.runSweep();
    expect(await h.request(review.reviewInstanceId)).toMatchObject({ state: 'uploading' });
    h.clock.advance(16 * 60_000);
    await h.runSweep();
    expect(await h.request(review.reviewInstanceId)).toMatchObject({ state: 'done', sessionId: session.id });
    const sessions = sessionsOf(h, review.reviewInstanceId);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.files).toHaveLength(1);
    expect(sessions[0]!.status).toBe('complete');
  });

  it('a passed deadline fails the request with a reason, reported in the status and the log', async () => {
    h = await startSyncHarness();
    const review = h.startInstance();
    await h.callout(envelopeCallout(h, review));
    h.clock.advance(UPLOAD_WINDOW_MS - 20 * 60_000);
    await h.runSweep();
    expect(h.logs.some((l) => l.level === 'warning' && l.text.startsWith('review.request.deadlineNear'))).toBe(true);
    h.clock.advance(21 * 60_000);
    h.emulator.admin.advanceClock(UPLOAD_WINDOW_MS + 60_000);
    await h.deliver((await h.drop('late.csv', csv(row(1)))).name);
    await h.runSweep();
    expect(await h.request(review.reviewInstanceId)).toMatchObject({ state: 'failed', errorCode: 'request.deadlinePassed' });
    expect(sessionsOf(h, review.reviewInstanceId)).toEqual([]);
    expect(await h.readText('status/latest.md')).toMatch(/failed .*two-hour upload window/);
    expect(h.logs.some((l) => l.level === 'error' && l.text.startsWith('review.request.failed'))).toBe(true);
  });
});
