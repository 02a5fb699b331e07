/**
 * The access review data callout (graph-contract.md §9): Entra calls when a catalog review instance enters
 * Initializing, and again when its decisions are to be applied. Two payload versions exist and both are accepted:
 *
 * - flat (template version A): `{reviewDefinitionId, reviewInstanceId, catalogId, customDataProvidedResourceId,
 *   callbackDataType?, triggerType?}`;
 * - envelope (template version B, the Graph `calloutRequest` type): `{source, catalogId, resourceId,
 *   data: {"@odata.type", reviewDefinitionId, reviewInstanceId}}`, optionally wrapped as `{calloutRequest: …}`.
 *
 * The `data.@odata.type` names differ between the template and the Graph namespace; both are recognised.
 */
import { isGuid } from './guid';

export type CalloutKind = 'uploadData' | 'applyDecisions';

export interface ParsedCallout {
  kind: CalloutKind;
  reviewDefinitionId: string;
  reviewInstanceId: string;
  catalogId: string;
  resourceId: string;
  /** Which payload version it came in, for the log. */
  format: 'flat' | 'envelope';
}

export type CalloutParseResult = { ok: true; callout: ParsedCallout } | { ok: false; status: 400; code: string; message: string };


const UPLOAD_TYPES = new Set([
  '#microsoft.graph.customdataprovidedresourcerequestaccessreviewdatacalloutdata',
  '#microsoft.graph.customdataprovidedresourcepayloads.accessreviewcontextdata',
  '#microsoft.graph.accessreviewdatauploadrequestcalloutdata',
]);
const APPLY_TYPES = new Set([
  '#microsoft.graph.customdataprovidedresourceapplydecisioncontextdata',
  '#microsoft.graph.customdataprovidedresourcepayloads.applydecisioncontextdata',
]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const field = (o: Record<string, unknown>, name: string): string | undefined => (typeof o[name] === 'string' ? (o[name] as string).trim() : undefined);

function bad(code: string, message: string): CalloutParseResult {
  return { ok: false, status: 400, code, message };
}

export function parseCallout(body: unknown): CalloutParseResult {
  if (!isObject(body)) return bad('callout.notJson', 'The callout body must be a JSON object');
  const root = isObject(body.calloutRequest) ? body.calloutRequest : body;
  let kind: CalloutKind = 'uploadData';
  let ids: { reviewDefinitionId?: string; reviewInstanceId?: string; catalogId?: string; resourceId?: string };
  let format: ParsedCallout['format'];
  if (isObject(root.data)) {
    format = 'envelope';
    const type = (field(root.data, '@odata.type') ?? '').toLowerCase();
    if (APPLY_TYPES.has(type)) kind = 'applyDecisions';
    else if (type !== '' && !UPLOAD_TYPES.has(type)) return bad('UnsupportedCallbackType', 'The callout data type is not one this job handles');
    ids = {
      reviewDefinitionId: field(root.data, 'reviewDefinitionId'),
      reviewInstanceId: field(root.data, 'reviewInstanceId'),
      catalogId: field(root, 'catalogId'),
      resourceId: field(root, 'resourceId') ?? field(root, 'customDataProvidedResourceId'),
    };
  } else {
    format = 'flat';
    ids = {
      reviewDefinitionId: field(root, 'reviewDefinitionId'),
      reviewInstanceId: field(root, 'reviewInstanceId'),
      catalogId: field(root, 'catalogId'),
      resourceId: field(root, 'customDataProvidedResourceId') ?? field(root, 'resourceId'),
    };
    if (/apply/i.test(field(root, 'callbackDataType') ?? '')) kind = 'applyDecisions';
  }
  const missing = (['reviewDefinitionId', 'reviewInstanceId', 'catalogId', 'resourceId'] as const).filter((k) => !ids[k] || !isGuid(ids[k]!));
  if (missing.length > 0) return bad('callout.missingIds', `The callout lacks valid GUIDs for: ${missing.join(', ')}`);
  return {
    ok: true,
    callout: {
      kind,
      format,
      reviewDefinitionId: ids.reviewDefinitionId!.toLowerCase(),
      reviewInstanceId: ids.reviewInstanceId!.toLowerCase(),
      catalogId: ids.catalogId!.toLowerCase(),
      resourceId: ids.resourceId!.toLowerCase(),
    },
  };
}

/**
 * The app id (`appid` or `azp`) of a bearer token, read without verifying its signature. This is a second check
 * behind the function key and the platform's authentication, never the only one: see the README.
 */
export function bearerAppId(authorization: string | null | undefined): string | undefined {
  const match = /^Bearer\s+([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]*$/.exec(authorization?.trim() ?? '');
  if (!match) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(match[2]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const id = claims.appid ?? claims.azp;
    return typeof id === 'string' ? id.toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}
