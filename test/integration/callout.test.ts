/** The review callout's answers for everything that is not a clean data request. */
import { afterEach, describe, expect, it } from 'vitest';
import { envelopeCallout, reconcileAndClose, startSyncHarness, type SyncHarness } from './harness';

let h: SyncHarness | undefined;
afterEach(async () => {
  const done = h;
  h = undefined;
  await reconcileAndClose(done);
});

const ACCESS_REVIEWS_APP = 'd8c767ef-3e9a-48c4-aef9-562696539b39';
const token = (appid: string) => `Bearer e30.${Buffer.from(JSON.stringify({ appid })).toString('base64url')}.sig`;

describe('reviewCallout', () => {
  it('checks the caller app id when CALLOUT_ALLOWED_APP_IDS is set, and records nothing for a refused caller', async () => {
    h = await startSyncHarness({ env: { CALLOUT_ALLOWED_APP_IDS: ACCESS_REVIEWS_APP } });
    const review = h.startInstance();
    expect(await h.callout(envelopeCallout(h, review))).toMatchObject({ status: 403, jsonBody: { error: { code: 'callerNotAllowed' } } });
    expect(await h.callout(envelopeCallout(h, review), { authorization: token('11111111-1111-4111-8111-111111111111') })).toMatchObject({ status: 403 });
    expect(await h.request(review.reviewInstanceId)).toBeUndefined();
    expect(await h.callout(envelopeCallout(h, review), { authorization: token(ACCESS_REVIEWS_APP.toUpperCase()) })).toMatchObject({ status: 202 });
    expect(await h.request(review.reviewInstanceId)).toMatchObject({ origin: 'callout' });
  });

  it('answers 400 for a body that is not JSON or lacks the ids, 404 for an unrouted resource, 202 and nothing done for apply-decisions', async () => {
    h = await startSyncHarness();
    const review = h.startInstance();
    expect(await h.callout('not json')).toMatchObject({ status: 400, jsonBody: { error: { code: 'callout.notJson' } } });
    expect(await h.callout({ catalogId: 'x' })).toMatchObject({ status: 400, jsonBody: { error: { code: 'callout.missingIds' } } });
    const unrouted = { ...(envelopeCallout(h, review) as object), resourceId: '00000000-0000-4000-8000-000000000000' };
    expect(await h.callout(unrouted)).toMatchObject({ status: 404, jsonBody: { error: { code: 'noRoute' } } });
    const apply = envelopeCallout(h, review) as { data: Record<string, string> };
    apply.data['@odata.type'] = '#microsoft.graph.customDataProvidedResourceApplyDecisionContextData';
    expect(await h.callout(apply)).toMatchObject({ status: 202, jsonBody: { status: 'ignored' } });
    expect(await h.request(review.reviewInstanceId)).toBeUndefined();
    expect(h.logs.some((l) => l.level === 'error' && l.text.startsWith('callout.unrouted'))).toBe(true);
  });
});
