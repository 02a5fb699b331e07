import { describe, expect, it } from 'vitest';
import { bearerAppId, parseCallout } from '../../src/core/callout';

const ids = {
  reviewDefinitionId: '5a9c0e21-7d3b-4f58-8e16-c2b4a7d90f33',
  reviewInstanceId: 'D7E4B9A0-13C6-4A2F-9B85-6F0E1C3A2D57',
  catalogId: '3f6d2a8e-51b4-4c1d-9a77-0c2b5e9d4a10',
  resourceId: '8b1e7c4d-2f90-4e6a-b3c5-71d0a9e2f6b4',
};
const expected = { kind: 'uploadData', ...ids, reviewInstanceId: ids.reviewInstanceId.toLowerCase() };

describe('parseCallout', () => {
  it('reads the flat payload of template version A', () => {
    const r = parseCallout({
      reviewDefinitionId: ids.reviewDefinitionId,
      reviewInstanceId: ids.reviewInstanceId,
      catalogId: ids.catalogId,
      customDataProvidedResourceId: ids.resourceId,
      callbackDataType: 'x',
      triggerType: 'y',
    });
    expect(r).toEqual({ ok: true, callout: { ...expected, format: 'flat' } });
  });

  it.each([
    '#microsoft.graph.customDataProvidedResourceRequestAccessReviewDataCalloutData',
    '#microsoft.graph.customDataProvidedResourcePayloads.accessReviewContextData',
  ])('reads the envelope of template version B with data type %s, bare or wrapped in calloutRequest', (type) => {
    const envelope = {
      source: '/identityGovernance/accessReviews',
      catalogId: ids.catalogId,
      resourceId: ids.resourceId,
      data: { '@odata.type': type, reviewDefinitionId: ids.reviewDefinitionId, reviewInstanceId: ids.reviewInstanceId },
    };
    expect(parseCallout(envelope)).toEqual({ ok: true, callout: { ...expected, format: 'envelope' } });
    expect(parseCallout({ calloutRequest: envelope })).toEqual({ ok: true, callout: { ...expected, format: 'envelope' } });
  });

  it('recognises the apply-decisions callout, and refuses unknown data types as the template does', () => {
    const base = { catalogId: ids.catalogId, resourceId: ids.resourceId };
    const apply = parseCallout({ ...base, data: { '@odata.type': '#microsoft.graph.customDataProvidedResourceApplyDecisionContextData', reviewDefinitionId: ids.reviewDefinitionId, reviewInstanceId: ids.reviewInstanceId } });
    expect(apply.ok && apply.callout.kind).toBe('applyDecisions');
    expect(parseCallout({ ...base, data: { '@odata.type': '#microsoft.graph.somethingElse', reviewDefinitionId: ids.reviewDefinitionId, reviewInstanceId: ids.reviewInstanceId } })).toMatchObject({
      ok: false,
      status: 400,
      code: 'UnsupportedCallbackType',
    });
  });

  it('names every missing or malformed id', () => {
    expect(parseCallout({ reviewInstanceId: 'nope', catalogId: ids.catalogId })).toEqual({
      ok: false,
      status: 400,
      code: 'callout.missingIds',
      message: 'The callout lacks valid GUIDs for: reviewDefinitionId, reviewInstanceId, resourceId',
    });
    expect(parseCallout('text')).toMatchObject({ ok: false, code: 'callout.notJson' });
  });
});

describe('bearerAppId', () => {
  const token = (claims: object) => `Bearer e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
  it('reads appid, then azp, lower-cased', () => {
    expect(bearerAppId(token({ appid: 'D8C767EF-3E9A-48C4-AEF9-562696539B39' }))).toBe('d8c767ef-3e9a-48c4-aef9-562696539b39');
    expect(bearerAppId(token({ azp: 'abc' }))).toBe('abc');
  });
  it('gives nothing for a missing, malformed or claim-less token', () => {
    expect(bearerAppId(undefined)).toBeUndefined();
    expect(bearerAppId('Basic abc')).toBeUndefined();
    expect(bearerAppId('Bearer a.%%%.c')).toBeUndefined();
    expect(bearerAppId(token({ sub: 'x' }))).toBeUndefined();
  });
});
