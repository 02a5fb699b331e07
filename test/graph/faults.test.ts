/**
 * Every emulator rule and fault kind, through the adapter: throttling in all three Retry-After forms (schedules on a
 * manual clock; one real-clock run the emulator checks for early retries), commit-then-fail on create, resets
 * mid-upload, 5xx on complete, 413, 401 and 403, the window, and complete sessions.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCredential } from '../../src/adapters/credential';
import { GraphRequestError } from '../../src/core/errors';
import { DEFAULT_RETRY_POLICY } from '../../src/core/retry';
import type { ReviewRef } from '../../src/core/reviewGraph';
import { ManualClock } from '../support/manualClock';
import { MemoryLogger } from '../support/memoryLogger';
import { bufferSource, graphRequests, SAMPLE_CSV, startGraphFixture, type GraphFixture } from '../support/graphFixture';

let fx: GraphFixture;
beforeAll(async () => {
  fx = await startGraphFixture();
});
afterAll(async () => {
  await fx.close();
});
beforeEach(() => {
  fx.emulator.admin.clearFaults();
});

const SESSIONS = /\/uploadSessions$/.source;
const UPLOAD = /\/uploadFile$/.source;
const SESSION = /\/uploadSessions\/[^/]+$/.source;

async function newReview(): Promise<ReviewRef> {
  const instance = await fx.emulator.admin.startInstance(fx.review.reviewDefinitionId);
  return { reviewDefinitionId: fx.review.reviewDefinitionId, reviewInstanceId: instance.id };
}

function manual(): { clock: ManualClock; retry: typeof DEFAULT_RETRY_POLICY } {
  // A whole second, so that an HTTP-date (1 s resolution) converts to an exact wait.
  return { clock: new ManualClock(Math.floor(Date.now() / 1000) * 1000), retry: { ...DEFAULT_RETRY_POLICY, random: () => 0.5 } };
}

function sessionsFor(review: ReviewRef) {
  return fx.emulator.admin.state().sessions.filter((s) => s.referenceId === review.reviewInstanceId);
}

describe('429 Retry-After, planned on a manual clock', () => {
  it.each([
    ['an integer', () => '2', 2000],
    ['a fraction', () => '2.128', 2128],
    ['an HTTP-date', (now: number) => new Date(now + 7000).toUTCString(), 7000],
  ])('waits exactly %s asks (plus the 50 ms margin), then succeeds', async (_form, header, expectedMs) => {
    const { clock, retry } = manual();
    const logger = new MemoryLogger();
    const graph = fx.client('v1.0', { clock, retry, logger });
    const review = await newReview();
    fx.emulator.admin.addFault({ method: 'POST', path: SESSIONS, kind: 'throttle', retryAfter: header(clock.now()), times: 1 });
    const session = await graph.createUploadSession(fx.resource, review);
    expect(session.status).toBe('active');
    expect(clock.sleeps).toEqual([expectedMs + 50]);
    expect(logger.records.filter((r) => r.event === 'graph.throttled')).toEqual([
      expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ status: 429, waitMs: expectedMs + 50, operation: 'uploadSession.create' }) }),
    ]);
    expect(sessionsFor(review)).toHaveLength(1);
  });

  it('gives up with a typed error, rather than retry early, when Retry-After is beyond the per-wait cap', async () => {
    const { clock, retry } = manual();
    const graph = fx.client('v1.0', { clock, retry: { ...retry, maxDelayMs: 10_000 } });
    const review = await newReview();
    fx.emulator.admin.addFault({ method: 'POST', path: SESSIONS, kind: 'throttle', retryAfter: '60', times: 1 });
    const error = await graph.createUploadSession(fx.resource, review).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphRequestError);
    expect(error).toMatchObject({ code: 'graph.throttled', status: 429, disposition: 'retry', context: { retryAfterSeconds: 60, attempts: 1 } });
    expect((error as GraphRequestError).requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(clock.sleeps).toEqual([]);
  });
});

describe('429 with the real clock', () => {
  it('never sends a retry before the instant Retry-After names (the emulator checks every arrival)', async () => {
    const graph = fx.client('v1.0');
    // A resource of its own: the emulator remembers every Retry-After it gave per path, including other tests'.
    const resource = { ...fx.resource, resourceId: '6d3e0a4b-9c21-4f7e-8b5a-2c1d0e9f8a77', source: 'RealClockSource' };
    fx.emulator.admin.seed({ resources: [{ id: resource.resourceId, catalogId: resource.catalogId, displayName: resource.source }] });
    const review = await newReview();
    fx.emulator.admin.addFault({ method: 'POST', path: SESSIONS, kind: 'throttle', retryAfter: '0.3', times: 1 });
    fx.emulator.admin.addFault({ method: 'POST', path: UPLOAD, kind: 'throttle', retryAfter: '0.512', times: 2 });
    fx.emulator.admin.addFault({ method: 'PATCH', path: SESSION, kind: 'throttle', retryAfter: 'http-date:1000', times: 1 });
    fx.emulator.admin.clearRequests();
    const session = await graph.createUploadSession(resource, review);
    await graph.uploadFile(resource, session.id, bufferSource('a.csv', SAMPLE_CSV));
    const done = await graph.completeUploadSession(resource, session.id);
    expect(done.status).toBe('complete');
    const throttled = graphRequests(fx.emulator).filter((r) => r.status === 429);
    expect(throttled).toHaveLength(4);
    expect(fx.emulator.admin.earlyRequests()).toEqual([]);
    expect(fx.emulator.admin.state().sessions.find((s) => s.id === session.id)!.files).toHaveLength(1);
  });
});

describe('recovery without duplicates', () => {
  it('adopts the session when create fails after the server committed it (exactly one session)', async () => {
    const { clock, retry } = manual();
    const graph = fx.client('v1.0', { clock, retry });
    const review = await newReview();
    fx.emulator.admin.addFault({ method: 'POST', path: SESSIONS, kind: 'commitThenFail', status: 503, times: 1 });
    fx.emulator.admin.clearRequests();
    const session = await graph.createUploadSession(fx.resource, review);
    expect(sessionsFor(review).map((s) => s.id)).toEqual([session.id]);
    expect(graphRequests(fx.emulator).map((r) => [r.method, r.status])).toEqual([
      ['POST', 503],
      ['GET', 200],
    ]);
  });

  it.each([
    ['reset mid-body (nothing committed)', 'reset' as const],
    ['reset after the server committed the file', 'resetAfterCommit' as const],
  ])('uploads exactly one file after a %s', async (_name, kind) => {
    const { clock, retry } = manual();
    const graph = fx.client('v1.0', { clock, retry });
    const review = await newReview();
    const session = await graph.createUploadSession(fx.resource, review);
    const file = bufferSource('big.csv', SAMPLE_CSV.repeat(200));
    fx.emulator.admin.addFault({ method: 'POST', path: UPLOAD, kind, afterBytes: 4096, times: 1 });
    const after = await graph.uploadFile(fx.resource, session.id, file);
    expect(after.files?.filter((f) => f.name === 'big.csv')).toHaveLength(1);
    const held = sessionsFor(review)[0]!.files;
    expect(held.map((f) => [f.name, f.size, f.sha256])).toEqual([['big.csv', file.size, file.sha256]]);
    expect(file.opens).toBe(kind === 'reset' ? 2 : 1);
  });

  it('completes once when the PATCH is applied but answered with a 5xx', async () => {
    const { clock, retry } = manual();
    const graph = fx.client('v1.0', { clock, retry });
    const review = await newReview();
    const session = await graph.createUploadSession(fx.resource, review);
    await graph.uploadFile(fx.resource, session.id, bufferSource('a.csv', SAMPLE_CSV));
    fx.emulator.admin.addFault({ method: 'PATCH', path: SESSION, kind: 'commitThenFail', status: 502, times: 1 });
    fx.emulator.admin.clearRequests();
    const done = await graph.completeUploadSession(fx.resource, session.id);
    expect(done.status).toBe('complete');
    expect(graphRequests(fx.emulator).map((r) => [r.method, r.status])).toEqual([
      ['PATCH', 502],
      ['GET', 200],
    ]);
  });

  it('retries 500, 502, 503 and 504 and reports latency-delayed answers normally', async () => {
    const { clock, retry } = manual();
    const graph = fx.client('v1.0', { clock, retry });
    const review = await newReview();
    for (const status of [500, 502, 503, 504]) fx.emulator.admin.addFault({ method: 'POST', path: SESSIONS, kind: 'status', status, times: 1 });
    fx.emulator.admin.addFault({ method: 'GET', path: SESSIONS, kind: 'latency', latencyMs: 50, times: 1 });
    const session = await graph.createUploadSession(fx.resource, review);
    expect(sessionsFor(review).map((s) => s.id)).toEqual([session.id]);
    expect(clock.sleeps).toHaveLength(4);
  });
});

describe('refusals become typed errors without bodies', () => {
  it('413: a file over the server limit is refused once, never resent', async () => {
    const graph = fx.client('v1.0', manual());
    const review = await newReview();
    const session = await graph.createUploadSession(fx.resource, review);
    fx.emulator.admin.setBehaviour({ maxUploadBytes: 1000 });
    try {
      fx.emulator.admin.clearRequests();
      const error = await graph.uploadFile(fx.resource, session.id, bufferSource('big.csv', SAMPLE_CSV.repeat(50))).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'graph.payloadTooLarge', status: 413, disposition: 'reject' });
      expect(graphRequests(fx.emulator).filter((r) => r.path.endsWith('/uploadFile'))).toHaveLength(1);
    } finally {
      fx.emulator.admin.setBehaviour({ maxUploadBytes: null });
    }
  });

  it('401: a bad token is retried once, then a typed error with the request ids', async () => {
    const graph = fx.client('v1.0', { ...manual(), credential: { getToken: async () => ({ token: 'not-a-token', expiresOnTimestamp: Date.now() + 3_600_000 }) } });
    fx.emulator.admin.clearRequests();
    const error = await graph.getUploadSession(fx.resource, '00000000-0000-0000-0000-000000000001').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphRequestError);
    const e = error as GraphRequestError;
    expect([e.code, e.status, e.graphCode, e.disposition]).toEqual(['graph.unauthorized', 401, 'InvalidAuthenticationToken', 'fatal']);
    expect(e.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(e.clientRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(graphRequests(fx.emulator)).toHaveLength(2);
  });

  it('403: missing role is a fatal typed error, not retried', async () => {
    fx.emulator.admin.seed({ apps: [{ clientId: 'a7c8e1f0-0000-4000-8000-000000000403', clientSecret: 'no-roles-secret', roles: [] }] });
    const credential = createCredential({
      tenantId: fx.emulator.tenantId,
      clientId: 'a7c8e1f0-0000-4000-8000-000000000403',
      clientSecret: 'no-roles-secret',
      authorityHost: fx.emulator.authorityHost,
      extraCaPem: [fx.emulator.caCertificatePem],
    });
    const graph = fx.client('v1.0', { ...manual(), credential });
    const review = await newReview();
    fx.emulator.admin.clearRequests();
    const error = await graph.createUploadSession(fx.resource, review).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'graph.forbidden', status: 403, graphCode: 'Authorization_RequestDenied', disposition: 'fatal' });
    expect(graphRequests(fx.emulator)).toHaveLength(1);
    expect(sessionsFor(review)).toHaveLength(0);
    // The operator message says what to fix; it never quotes the response body.
    expect((error as Error).message).toMatch(/Catalog owner/);
    expect((error as Error).message).not.toMatch(/"error"|innerError/);
  });
});

describe('Graph rules', () => {
  it('refuses uploads after the window (with a fresh token, since two hours also outlived the old one)', async () => {
    const graph = fx.client('v1.0', manual());
    const review = await newReview();
    const session = await graph.createUploadSession(fx.resource, review);
    fx.emulator.admin.advanceClock(2 * 60 * 60 * 1000 + 1000);
    fx.emulator.admin.clearRequests();
    const error = await graph.uploadFile(fx.resource, session.id, bufferSource('late.csv', SAMPLE_CSV)).catch((e: unknown) => e);
    // The cached token expired with the emulator's clock: one 401, a fresh token, then the read-back shows the
    // session expired, so nothing is sent again.
    expect(error).toMatchObject({ code: 'upload.sessionNotActive', disposition: 'fatal' });
    expect(graphRequests(fx.emulator).map((r) => [r.method, r.status])).toEqual([
      ['POST', 401],
      ['GET', 200],
    ]);
    expect((await graph.getUploadSession(fx.resource, session.id)).status).toBe('expired');
    expect(sessionsFor(review)[0]!.files).toEqual([]);
  });

  it('refuses uploads to a complete session; create returns the complete session instead of a second one', async () => {
    const graph = fx.client('v1.0', manual());
    const review = await newReview();
    const session = await graph.createUploadSession(fx.resource, review);
    await graph.uploadFile(fx.resource, session.id, bufferSource('a.csv', SAMPLE_CSV));
    await graph.completeUploadSession(fx.resource, session.id);
    const error = await graph.uploadFile(fx.resource, session.id, bufferSource('b.csv', SAMPLE_CSV)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'graph.badRequest', status: 400 });
    const again = await graph.createUploadSession(fx.resource, review);
    expect(again).toMatchObject({ id: session.id, status: 'complete' });
    expect(sessionsFor(review)).toHaveLength(1);
  });
});
