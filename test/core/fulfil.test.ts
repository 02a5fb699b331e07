/**
 * Fulfil on fakes (no sockets): every path of delivering a snapshot to a review request exactly once.
 */
import { text } from 'node:stream/consumers';
import { beforeEach, describe, expect, it } from 'vitest';
import { fulfilRequest, type FulfilDeps } from '../../src/core/fulfil';
import { requestKey, uploadNameFor } from '../../src/core/layout';
import { KIND_BLOB, KIND_REQUEST, KIND_SNAPSHOT, UPLOAD_WINDOW_MS, recordReviewRequest, type ReviewRequest, type Snapshot, type SnapshotFile } from '../../src/core/requests';
import type { Route } from '../../src/core/routes';
import { FakeBlobStore } from '../support/fakeBlobStore';
import { FakeLedger } from '../support/fakeLedger';
import { FakeReviewGraph } from '../support/fakeReviewGraph';
import { ManualClock } from '../support/manualClock';
import { MemoryLogger } from '../support/memoryLogger';
import { testRoute } from '../support/route';

const route: Route = testRoute();
const DEF = '5a9c0e21-7d3b-4f58-8e16-c2b4a7d90f33';
const INST = 'd7e4b9a0-13c6-4a2f-9b85-6f0e1c3a2d57';

let store: FakeBlobStore;
let ledger: FakeLedger;
let graph: FakeReviewGraph;
let clock: ManualClock;
let logger: MemoryLogger;
let deps: FulfilDeps;
let key: string;

async function stage(fileName: string, content: string): Promise<SnapshotFile> {
  const sha = fileName.padEnd(64, '0').replace(/[^0-9a-f]/g, 'a').slice(0, 64);
  const uploadName = uploadNameFor(route.source, fileName, sha);
  const info = await store.write(`staged/${route.source}/${uploadName}`, Buffer.from(content));
  const blobKey = `inbox/${route.source}/${fileName}\n"etag-${fileName}"`;
  await ledger.create(KIND_BLOB, blobKey, 'staged', { name: `inbox/${route.source}/${fileName}` });
  return { uploadName, stagedName: info.name, stagedEtag: info.etag, size: info.size, sha256: sha, rows: 2, distinctPrincipals: 2, fileName, fromBlobKey: blobKey, stagedAt: clock.now() };
}

async function snapshot(...files: SnapshotFile[]): Promise<void> {
  const current = await ledger.get<Snapshot>(KIND_SNAPSHOT, route.source);
  const value = { source: route.source, files, updatedAt: clock.now() };
  if (current) await ledger.update(current, 'current', value);
  else await ledger.create(KIND_SNAPSHOT, route.source, 'current', value);
}

async function readText(name: string): Promise<string | undefined> {
  if (!(await store.stat(name))) return undefined;
  return text(await store.openRead(name));
}

async function request(): Promise<ReviewRequest & { state: string }> {
  const r = await ledger.get<ReviewRequest>(KIND_REQUEST, key);
  return { ...r!.value, state: r!.state };
}

beforeEach(async () => {
  store = new FakeBlobStore();
  ledger = new FakeLedger();
  graph = new FakeReviewGraph();
  clock = new ManualClock();
  logger = new MemoryLogger();
  deps = { store, ledger, graph, clock, logger, routes: [route], owner: 'test' };
  await recordReviewRequest(ledger, route, { reviewDefinitionId: DEF, reviewInstanceId: INST, origin: 'callout' }, clock.now(), logger);
  key = requestKey(INST, route.source);
});

describe('fulfil', () => {
  it('waits, without a Graph call, while the source has no snapshot', async () => {
    expect(await fulfilRequest(key, deps)).toBe('waitingForData');
    expect(graph.calls).toEqual([]);
    expect((await request()).state).toBe('pending');
  });

  it('uploads every snapshot file, reads back, completes, archives with a manifest and marks everything done', async () => {
    const a = await stage('a.csv', 'principalId\r\n1\r\n');
    const b = await stage('b.csv', 'principalId\r\n2\r\n3\r\n');
    await snapshot(a, b);
    expect(await fulfilRequest(key, deps)).toBe('done');
    expect(graph.calls).toEqual(['create', 'upload', 'upload', 'get', 'complete']);
    const [session] = graph.sessions;
    expect(session!.status).toBe('complete');
    expect(session!.files!.map((f) => f.name).sort()).toEqual([a.uploadName, b.uploadName].sort());
    expect(session!.contents.get(b.uploadName)).toBe('principalId\r\n2\r\n3\r\n');
    const done = await request();
    expect(done).toMatchObject({ state: 'done', sessionId: session!.id, archiveFolder: `archive/${route.source}/${INST}/` });
    const manifest = JSON.parse((await readText(`archive/${route.source}/${INST}/manifest.json`))!) as { files: { uploadName: string; sha256: string }[]; uploadSessionId: string };
    expect(manifest.uploadSessionId).toBe(session!.id);
    expect(manifest.files.map((f) => f.uploadName)).toEqual([a.uploadName, b.uploadName].sort());
    expect(await readText(`archive/${route.source}/${INST}/${a.uploadName}`)).toBe('principalId\r\n1\r\n');
    expect((await ledger.get(KIND_BLOB, a.fromBlobKey))!.state).toBe('uploaded');
    expect(logger.events()).toContain('review.request.fulfilled');
  });

  it('makes no call at all for a request already done', async () => {
    await snapshot(await stage('a.csv', 'x'));
    await fulfilRequest(key, deps);
    graph.calls.length = 0;
    expect(await fulfilRequest(key, deps)).toBe('alreadyDone');
    expect(graph.calls).toEqual([]);
  });

  it('fails with a reason, and creates nothing, once the two-hour window has passed', async () => {
    await snapshot(await stage('a.csv', 'x'));
    clock.advance(UPLOAD_WINDOW_MS + 1);
    expect(await fulfilRequest(key, deps)).toBe('failed');
    expect(graph.sessions).toEqual([]);
    expect(await request()).toMatchObject({ state: 'failed', errorCode: 'request.deadlinePassed' });
    expect(logger.records.find((r) => r.event === 'review.request.failed')?.level).toBe('error');
  });

  it.each([
    ['between create and upload', 'upload', false],
    ['after an upload the server committed', 'upload', true],
    ['between upload and complete', 'complete', false],
    ['after a complete the server applied', 'complete', true],
  ])('converges after a failure %s: one session, each file once, completed once', async (_when, op, commit) => {
    const a = await stage('a.csv', 'x1');
    await snapshot(a);
    graph.failNext(op, { commit });
    expect(await fulfilRequest(key, deps)).toBe('retryLater');
    expect((await request()).state).toBe('pending');
    expect(await fulfilRequest(key, deps)).toBe('done');
    expect(graph.sessions).toHaveLength(1);
    expect(graph.sessions[0]!.files!.map((f) => f.name)).toEqual([a.uploadName]);
    expect(graph.sessions[0]!.status).toBe('complete');
  });

  it('resumes through the session the ledger knows: no create is sent only to be refused', async () => {
    await snapshot(await stage('a.csv', 'x1'));
    graph.failNext('upload');
    expect(await fulfilRequest(key, deps)).toBe('retryLater');
    graph.calls.length = 0;
    expect(await fulfilRequest(key, deps)).toBe('done');
    expect(graph.calls).toEqual(['get', 'upload', 'get', 'complete']);
  });

  it('falls back to adopt-or-create when the session the ledger knows has gone', async () => {
    await snapshot(await stage('a.csv', 'x1'));
    graph.failNext('upload');
    await fulfilRequest(key, deps);
    const gone = graph.sessions[0]!.id;
    graph.sessions.length = 0;
    expect(await fulfilRequest(key, deps)).toBe('done');
    expect(graph.sessions).toHaveLength(1);
    expect(graph.sessions[0]!.id).not.toBe(gone);
    expect(await request()).toMatchObject({ state: 'done', sessionId: graph.sessions[0]!.id });
  });

  it('keeps the plan frozen: a snapshot change after the first upload does not mix into the session', async () => {
    const a = await stage('a.csv', 'v1');
    await snapshot(a);
    graph.failNext('complete');
    await fulfilRequest(key, deps);
    await snapshot(await stage('b.csv', 'v2'));
    expect(await fulfilRequest(key, deps)).toBe('done');
    expect(graph.sessions[0]!.files!.map((f) => f.name)).toEqual([a.uploadName]);
  });

  it('starts a session over when it holds files that are not the plan, while time allows', async () => {
    const a = await stage('a.csv', 'x');
    await snapshot(a);
    const stray = await graph.createUploadSession({ ...route }, { reviewDefinitionId: DEF, reviewInstanceId: INST });
    graph.sessions[0]!.files!.push({ id: 'f', name: 'someone-else.csv', size: 3 });
    expect(await fulfilRequest(key, deps)).toBe('done');
    expect(graph.sessions).toHaveLength(1);
    expect(graph.sessions[0]!.id).not.toBe(stray.id);
    expect(graph.sessions[0]!.files!.map((f) => f.name)).toEqual([a.uploadName]);
    expect(logger.events()).toContain('upload.session.restarted');
  });

  it('fails rather than complete a session with wrong data when too little time is left to start over', async () => {
    await snapshot(await stage('a.csv', 'x'));
    await graph.createUploadSession({ ...route }, { reviewDefinitionId: DEF, reviewInstanceId: INST });
    graph.sessions[0]!.files!.push({ id: 'f', name: 'someone-else.csv', size: 3 });
    clock.advance(UPLOAD_WINDOW_MS - 5 * 60_000);
    expect(await fulfilRequest(key, deps)).toBe('failed');
    expect(graph.sessions[0]!.status).toBe('active');
    expect(await request()).toMatchObject({ state: 'failed', errorCode: 'session.holdsOtherFiles' });
  });

  it('leaves a request alone while another worker holds its lease', async () => {
    await snapshot(await stage('a.csv', 'x'));
    const r = (await ledger.get<ReviewRequest>(KIND_REQUEST, key))!;
    await ledger.update(r, 'uploading', { ...r.value, lease: { owner: 'other', until: clock.now() + 60_000 } });
    expect(await fulfilRequest(key, deps)).toBe('busy');
    expect(graph.calls).toEqual([]);
    clock.advance(61_000);
    expect(await fulfilRequest(key, deps)).toBe('done');
  });

  it('records a permanent Graph refusal with its request-id', async () => {
    await snapshot(await stage('a.csv', 'x'));
    graph.failNext('create', { status: 403 });
    expect(await fulfilRequest(key, deps)).toBe('failed');
    const failed = await request();
    expect(failed.state).toBe('failed');
    expect(failed.requestIds).toHaveLength(1);
    expect(failed.requestIds![0]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('finishes a request whose session Graph already shows complete with the plan, even after the deadline', async () => {
    const a = await stage('a.csv', 'x');
    await snapshot(a);
    graph.failNext('complete', { commit: true });
    await fulfilRequest(key, deps);
    clock.advance(UPLOAD_WINDOW_MS + 1);
    expect(await fulfilRequest(key, deps)).toBe('done');
  });
});
