import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGraphEmulator, type GraphEmulator } from '../../emulator/index';
import { JSON_HEADERS, call, currentBody, getToken, multipart, paths, seedReview } from '../support/emulatorClient';

let emu: GraphEmulator;
let token: string;

beforeAll(async () => {
  emu = await startGraphEmulator();
  token = await getToken(emu);
});
afterAll(async () => {
  await emu.close();
});
afterEach(() => {
  emu.admin.clearFaults();
  emu.admin.setBehaviour({ maxUploadBytes: null, rejectEarlyRetries: false, keepContentBytes: 16 * 1024 * 1024 });
});

const DEFINITIONS = '/v1.0/identityGovernance/accessReviews/definitions';

function lastRecord(path: string) {
  return emu.admin.requests().filter((r) => r.path === path).at(-1);
}

async function newSession() {
  const review = seedReview(emu);
  const base = paths.p3(review.catalogId, review.resourceId);
  const created = await call(emu, base, { method: 'POST', token, body: currentBody(review.definitionId, review.instanceId), headers: JSON_HEADERS });
  expect(created.status).toBe(201);
  return { review, base, id: created.json.id as string };
}

function uploadTo(base: string, id: string, content: Buffer | string, filename = 'a.csv') {
  const mp = multipart([{ name: 'file', filename, content }]);
  return call(emu, `${base}/${id}/uploadFile`, { method: 'POST', token, body: mp.body, headers: { 'content-type': mp.contentType } });
}

describe('throttling and early retries', () => {
  it.each([
    ['integer', '2', (h: string) => expect(h).toBe('2')],
    ['fractional', '2.128', (h: string) => expect(h).toBe('2.128')],
    ['HTTP-date', 'http-date:5000', (h: string) => expect(h).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/)],
  ])('429 with a %s Retry-After flags a retry sent at once as early', async (label, retryAfter, checkHeader) => {
    // One path per case: the Retry-After memory is per method and path.
    const target = `${DEFINITIONS}/throttled-${label}`;
    const path = `${target}?$select=id`;
    emu.admin.addFault({ method: 'GET', path: `definitions/throttled-${label}$`, kind: 'throttle', retryAfter });
    const throttled = await call(emu, path, { token });
    expect(throttled.status).toBe(429);
    expect(throttled.json.error.code).toBe('TooManyRequests');
    checkHeader(String(throttled.headers['retry-after']));
    const retry = await call(emu, path, { token });
    expect(retry.status).toBe(404);
    const records = emu.admin.requests().filter((r) => r.path === target);
    expect(records.map((r) => [r.status, r.fault, r.early])).toEqual([
      [429, 'throttle', undefined],
      [404, undefined, true],
    ]);
    expect(emu.admin.earlyRequests().at(-1)?.seq).toBe(records[1]?.seq);
  });

  it('does not flag a retry after a Retry-After of 0 or a past HTTP-date, nor another path or method', async () => {
    const path = '/v1.0/identityGovernance/accessReviews/definitions/none';
    emu.admin.clearRequests();
    emu.admin.addFault({ path: 'definitions/none$', kind: 'throttle', retryAfter: '0' });
    expect((await call(emu, path, { token })).status).toBe(429);
    expect((await call(emu, path, { token })).status).toBe(404);
    emu.admin.addFault({ path: 'definitions/none$', kind: 'throttle', retryAfter: new Date(Date.now() - 60_000).toUTCString() });
    expect((await call(emu, path, { token })).status).toBe(429);
    await call(emu, path, { token });
    emu.admin.addFault({ path: 'definitions/none$', kind: 'throttle', retryAfter: '30' });
    expect((await call(emu, path, { token })).status).toBe(429);
    await call(emu, `${path}-other`, { token });
    await call(emu, path, { method: 'DELETE', token });
    expect(emu.admin.earlyRequests()).toEqual([]);
    expect(emu.admin.requests().map((r) => r.status)).toEqual([429, 404, 429, 404, 429, 404, 405]);
  });

  it('rejectEarlyRetries answers an early retry with 429 again', async () => {
    emu.admin.setBehaviour({ rejectEarlyRetries: true });
    const path = '/v1.0/identityGovernance/accessReviews/definitions/early';
    emu.admin.addFault({ path: 'definitions/early$', kind: 'throttle', retryAfter: '30' });
    expect((await call(emu, path, { token })).status).toBe(429);
    const again = await call(emu, path, { token });
    expect(again.status).toBe(429);
    expect(Number(again.headers['retry-after'])).toBeGreaterThan(0);
    expect(lastRecord(path)?.early).toBe(true);
  });
});

describe('status faults', () => {
  it('answers the status N times, then serves normally; matches method and path', async () => {
    emu.admin.addFault({ method: 'GET', path: '/accessReviews/definitions$', kind: 'status', status: 503, times: 2 });
    expect((await call(emu, DEFINITIONS, { method: 'POST', token })).status).toBe(405); // another method
    const first = await call(emu, DEFINITIONS, { token });
    expect(first.status).toBe(503);
    expect(first.json.error.code).toBe('ServiceUnavailable');
    expect(first.headers['request-id']).toBeDefined();
    expect((await call(emu, DEFINITIONS, { token })).status).toBe(503);
    expect((await call(emu, DEFINITIONS, { token })).status).toBe(200);
    expect(lastRecord(DEFINITIONS)?.fault).toBeUndefined();
  });

  it('a seeded probability gives the same sequence every time', async () => {
    const run = async () => {
      emu.admin.clearFaults();
      emu.admin.addFault({ path: '/accessReviews/definitions$', kind: 'status', status: 500, probability: 0.5, seed: 42 });
      const statuses: number[] = [];
      for (let i = 0; i < 16; i++) statuses.push((await call(emu, DEFINITIONS, { token })).status);
      return statuses;
    };
    const first = await run();
    const second = await run();
    expect(second).toEqual(first);
    expect(first).toContain(500);
    expect(first).toContain(200);
  });

  it('commitThenFail on create: the session exists although the answer was 503', async () => {
    const review = seedReview(emu);
    const base = paths.p3(review.catalogId, review.resourceId);
    emu.admin.addFault({ method: 'POST', path: '/uploadSessions$', kind: 'commitThenFail', status: 503 });
    const failed = await call(emu, base, { method: 'POST', token, body: currentBody(review.definitionId, review.instanceId), headers: JSON_HEADERS });
    expect(failed.status).toBe(503);
    const sessions = emu.admin.state().sessions.filter((s) => s.referenceId === review.instanceId);
    expect(sessions).toHaveLength(1);
    expect(lastRecord(base)?.fault).toBe('commitThenFail');
    // A blind retry is refused; a lookup finds the committed session.
    expect((await call(emu, base, { method: 'POST', token, body: currentBody(review.definitionId, review.instanceId), headers: JSON_HEADERS })).status).toBe(409);
    const found = await call(emu, `${base}?$filter=referenceId%20eq%20'${review.instanceId}'`, { token });
    expect(found.json.value[0].id).toBe(sessions[0]?.id);
  });

  it('commitThenFail on PATCH: the session is complete although the answer was 504', async () => {
    const { base, id } = await newSession();
    emu.admin.addFault({ method: 'PATCH', path: '/uploadSessions/[^/]+$', kind: 'commitThenFail', status: 504 });
    expect((await call(emu, `${base}/${id}`, { method: 'PATCH', token, body: '{"isUploadDone":true}', headers: JSON_HEADERS })).status).toBe(504);
    expect((await call(emu, `${base}/${id}`, { token })).json.status).toBe('complete');
  });

  it('refuses a commitThenFail status other than 500/502/503/504', () => {
    expect(() => emu.admin.addFault({ path: 'x', kind: 'commitThenFail', status: 429 })).toThrow();
    expect(() => emu.admin.addFault({ path: '(', kind: 'status' })).toThrow();
  });
});

describe('latency', () => {
  it('holds a request back so that a later one overtakes it', async () => {
    emu.admin.addFault({ method: 'GET', path: '/definitions$', kind: 'latency', latencyMs: 400 });
    const finished: string[] = [];
    const slow = call(emu, DEFINITIONS, { token }).then((a) => {
      finished.push('slow');
      return a;
    });
    // Wait until the slow request has been received, so that the fault is bound to it.
    await expect.poll(() => emu.admin.requests().some((r) => r.path === DEFINITIONS && r.fault === 'latency')).toBe(true);
    const fast = await call(emu, `${DEFINITIONS}/none`, { token });
    finished.push('fast');
    expect(fast.status).toBe(404);
    expect((await slow).status).toBe(200);
    expect(finished).toEqual(['fast', 'slow']);
    expect(lastRecord(DEFINITIONS)).toMatchObject({ fault: 'latency', status: 200 });
  });
});

describe('connection resets', () => {
  it('reset mid-body: the client sees a transport error and nothing is committed', async () => {
    const { base, id } = await newSession();
    emu.admin.addFault({ method: 'POST', path: '/uploadFile$', kind: 'reset', afterBytes: 1024 });
    await expect(uploadTo(base, id, Buffer.alloc(512 * 1024, 'x'))).rejects.toThrow();
    await expect.poll(() => lastRecord(`${base}/${id}/uploadFile`)?.fault).toBe('reset');
    expect(lastRecord(`${base}/${id}/uploadFile`)?.status).toBe(0);
    expect(emu.admin.state().sessions.find((s) => s.id === id)?.files).toEqual([]);
    // The fault fired once: the next upload goes through.
    expect((await uploadTo(base, id, 'ok')).status).toBe(200);
  });

  it('reset with a threshold beyond the body still drops the connection uncommitted', async () => {
    const { base, id } = await newSession();
    emu.admin.addFault({ path: '/uploadFile$', kind: 'reset', afterBytes: 10_000_000 });
    await expect(uploadTo(base, id, 'small')).rejects.toThrow();
    expect(emu.admin.state().sessions.find((s) => s.id === id)?.files).toEqual([]);
  });

  it('resetAfterCommit: the file is stored, the client sees a transport error', async () => {
    const { base, id } = await newSession();
    emu.admin.addFault({ method: 'POST', path: '/uploadFile$', kind: 'resetAfterCommit' });
    await expect(uploadTo(base, id, 'committed', 'b.csv')).rejects.toThrow();
    await expect.poll(() => emu.admin.state().sessions.find((s) => s.id === id)?.files.map((f) => f.name)).toEqual(['b.csv']);
    expect(lastRecord(`${base}/${id}/uploadFile`)).toMatchObject({ fault: 'resetAfterCommit', status: 0 });
  });
});

describe('upload size', () => {
  it('413 RequestEntityTooLarge above maxUploadBytes, with nothing stored', async () => {
    const { base, id } = await newSession();
    emu.admin.setBehaviour({ maxUploadBytes: 4096 });
    const tooBig = await uploadTo(base, id, Buffer.alloc(8192, 'y'));
    expect(tooBig.status).toBe(413);
    expect(tooBig.json.error.code).toBe('RequestEntityTooLarge');
    expect(emu.admin.state().sessions.find((s) => s.id === id)?.files).toEqual([]);
    expect((await uploadTo(base, id, Buffer.alloc(1024, 'y'))).status).toBe(200);
  });

  it('streams a large file: size and SHA-256 exact, content not kept above keepContentBytes', async () => {
    const { base, id } = await newSession();
    emu.admin.setBehaviour({ keepContentBytes: 1024 * 1024 });
    const big = Buffer.alloc(24 * 1024 * 1024, 'principalId,user\n');
    const answer = await uploadTo(base, id, big, 'big.csv');
    expect(answer.status).toBe(200);
    const file = emu.admin.state().sessions.find((s) => s.id === id)?.files[0];
    expect(file?.size).toBe(big.length);
    expect(file?.sha256).toBe(createHash('sha256').update(big).digest('hex'));
    expect(emu.admin.fileContent(id, file?.id ?? '')).toBeUndefined();
  });
});
