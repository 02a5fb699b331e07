/**
 * The Graph surface: upload sessions on the three path families, catalog resources, and access review definitions
 * and instances. Routes return a {@link Reply}; the server decides whether to send it (faults may replace it).
 */
import type { BodyResult } from './body';
import type { TokenService } from './auth';
import { requireRole } from './auth';
import { GraphHttpError } from './http';
import { applyFilter, applyOrderBy, applySelect, parseQuery, type ParsedQuery, type PropertySpec, type QuerySpec } from './odata';
import { CONTEXT_DATA_TYPE, ORIGINAL_DATA_TYPE, ORIGINAL_TYPE, SESSION_TYPE, renderDefinition, renderFile, renderInstance, renderResource, renderSession, selectFiles, type Era } from './render';
import { emptyReply, jsonReply, type Reply } from './reply';
import type { CreateRequest, EmulatorStore, Session } from './state';

type Version = 'v1.0' | 'beta';
type Family = 'P1' | 'P2' | 'P3';

const READ_WRITE = 'EntitlementManagement.ReadWrite.All';
const READ = 'EntitlementManagement.Read.All';
const REVIEW_ROLES = ['AccessReview.Read.All', 'AccessReview.ReadWrite.All'];

/** One Graph call, already read. */
export interface GraphCall {
  method: string;
  url: URL;
  body: BodyResult;
  authorization: string | undefined;
}

export interface GraphDeps {
  store: EmulatorStore;
  tokens: TokenService;
  /** `https://127.0.0.1:PORT`, for `@odata.nextLink`. */
  origin: string;
}

/** The three upload-session families: their segments and the only version each exists on. */
const FAMILIES: { family: Family; version: Version; segments: string[]; wrongSegment: string }[] = [
  { family: 'P3', version: 'v1.0', segments: ['identityGovernance', 'entitlementManagement', 'catalogs', '{c}', 'resources', '{r}'], wrongSegment: 'catalogs' },
  { family: 'P2', version: 'beta', segments: ['identityGovernance', 'catalogs', '{c}', 'accessPackageResources', '{r}'], wrongSegment: 'accessPackageResources' },
  { family: 'P1', version: 'beta', segments: ['identityGovernance', 'entitlementManagement', 'accessPackageCatalogs', '{c}', 'accessPackageResources', '{r}'], wrongSegment: 'accessPackageCatalogs' },
];

/** Matches `segments` against a template prefix; returns the `{x}` captures and the rest, or undefined. */
function matchPrefix(segments: string[], template: string[]): { params: Record<string, string>; rest: string[] } | undefined {
  if (segments.length < template.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const t = template[i] ?? '';
    const s = segments[i] ?? '';
    if (t.startsWith('{')) {
      if (s === '') return undefined;
      params[t.slice(1, -1)] = s;
    } else if (t.toLowerCase() !== s.toLowerCase()) return undefined; // Graph matches segment names case-insensitively
  }
  return { params, rest: segments.slice(template.length) };
}

function badSegment(segment: string): GraphHttpError {
  return new GraphHttpError(400, 'BadRequest', `Resource not found for the segment '${segment}'.`);
}

function methodNotAllowed(): GraphHttpError {
  return new GraphHttpError(405, 'MethodNotAllowed', 'The HTTP method is not allowed on this resource.');
}

const SESSION_PROPERTIES: Record<string, PropertySpec> = {
  referenceId: { type: 'string', operators: ['eq'] },
  status: { type: 'string', operators: ['eq'] },
  createdDateTime: { type: 'date', operators: [], orderable: true },
};
const SESSION_LIST_SPEC: QuerySpec = {
  options: ['$filter', '$expand', '$orderby', '$top', '$skip', '$count', '$select'],
  properties: SESSION_PROPERTIES,
  expand: { files: {} },
};
const SESSION_GET_SPEC: QuerySpec = { options: ['$expand', '$select'], expand: { files: {} } };
const NO_QUERY: QuerySpec = { options: [] };

const RESOURCE_PROPERTIES: Record<string, PropertySpec> = {
  originSystem: { type: 'string-ci', operators: ['eq'] },
  displayName: { type: 'string', operators: ['eq'], orderable: true },
};
const INSTANCE_PROPERTIES: Record<string, PropertySpec> = {
  // Case-insensitive: the docs do not say how the value is cased (contract §13 #11); clients should not care.
  status: { type: 'string-ci', operators: ['eq', 'ne'] },
  startDateTime: { type: 'date', operators: ['eq', 'ne', 'gt', 'ge', 'lt', 'le'], orderable: true },
  endDateTime: { type: 'date', operators: ['eq', 'ne', 'gt', 'ge', 'lt', 'le'], orderable: true },
};

/** Wraps nested file options so that `$expand=files(...)` is validated against the file properties. */
function withFileSpec(spec: QuerySpec): QuerySpec {
  return spec.expand ? { ...spec, expand: { files: FILE_SPEC } } : spec;
}
const FILE_SPEC: Record<string, PropertySpec> = {
  name: { type: 'string', operators: ['eq', 'ne'], orderable: true },
  size: { type: 'number', operators: ['eq', 'ne', 'gt', 'ge', 'lt', 'le'], orderable: true },
  uploadedDateTime: { type: 'date', operators: ['eq', 'ne', 'gt', 'ge', 'lt', 'le'], orderable: true },
};

/** Splits the path after the version into decoded segments. */
function segmentsOf(pathname: string): { version: string; segments: string[] } {
  const raw = pathname.split('/').filter((s, i) => i > 0 || s !== '');
  const [version = '', ...rest] = raw;
  const segments = rest.filter((s) => s !== '').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new GraphHttpError(400, 'BadRequest', 'The request URI is malformed.');
    }
  });
  return { version, segments };
}

/** One page of a collection, with `@odata.nextLink` when more remain. */
function page<T>(items: T[], query: ParsedQuery, url: URL, deps: GraphDeps, context: string, render: (item: T) => Record<string, unknown>): Reply {
  const pageSize = Math.max(1, deps.store.behaviour.pageSize);
  const skip = query.skip ?? 0;
  const remainingTop = query.top ?? Infinity;
  const size = Math.min(remainingTop, pageSize);
  const slice = items.slice(skip, skip + size);
  const body: Record<string, unknown> = { '@odata.context': context };
  if (query.count) body['@odata.count'] = items.length;
  const consumed = skip + slice.length;
  if (consumed < items.length && remainingTop - slice.length > 0 && slice.length > 0) {
    const next = new URLSearchParams();
    for (const [key, value] of url.searchParams) if (key !== '$skip' && key !== '$top' && key !== 'skip' && key !== 'top') next.append(key, value);
    next.set('$skip', String(consumed));
    if (query.top !== undefined) next.set('$top', String(remainingTop - slice.length));
    const encoded = [...next].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
    body['@odata.nextLink'] = `${deps.origin}${url.pathname}?${encoded}`;
  }
  body.value = slice.map((item) => applySelect(render(item), query.select));
  return jsonReply(200, body);
}

/** Handles a Graph call (anything under `/v1.0/` or `/beta/`). */
export async function handleGraph(call: GraphCall, deps: GraphDeps): Promise<Reply> {
  const { version, segments } = segmentsOf(call.url.pathname);
  if (version !== 'v1.0' && version !== 'beta') throw new GraphHttpError(400, 'BadRequest', `Invalid version: ${version}`);
  const caller = await deps.tokens.authenticate(call.authorization);
  const roles = deps.tokens.effectiveRoles(caller);

  for (const family of FAMILIES) {
    const base = matchPrefix(segments, family.segments);
    if (!base) continue;
    const { c, r } = base.params as { c: string; r: string };
    if (base.rest[0]?.toLowerCase() !== 'uploadsessions') continue;
    if (family.version !== version) throw badSegment(family.wrongSegment);
    return sessionRoute(call, deps, roles, version, family.family, c, r, base.rest.slice(1));
  }

  const v1Resources = matchPrefix(segments, ['identityGovernance', 'entitlementManagement', 'catalogs', '{c}', 'resources']);
  const betaResources = matchPrefix(segments, ['identityGovernance', 'entitlementManagement', 'accessPackageCatalogs', '{c}', 'accessPackageResources']);
  const resources = v1Resources ?? betaResources;
  if (resources && resources.rest.length === 0) {
    if ((v1Resources && version !== 'v1.0') || (betaResources && version !== 'beta')) throw badSegment(v1Resources ? 'catalogs' : 'accessPackageCatalogs');
    if (call.method !== 'GET') throw methodNotAllowed();
    requireRole(roles, [READ, READ_WRITE]);
    const query = parseQuery(call.url.searchParams, { options: ['$filter', '$orderby', '$top', '$skip', '$select', '$count'], properties: RESOURCE_PROPERTIES });
    const catalogId = resources.params.c ?? '';
    const catalog = deps.store.catalog(catalogId);
    const get = (item: { originSystem: string; displayName: string }, property: string) => (property === 'originSystem' ? item.originSystem : item.displayName);
    let items = [...deps.store.resources.values()].filter((res) => res.catalogId === catalog.id);
    items = applyOrderBy(applyFilter(items, query.filter, RESOURCE_PROPERTIES, get), query.orderBy, RESOURCE_PROPERTIES, get);
    const context = version === 'v1.0'
      ? `https://graph.microsoft.com/v1.0/$metadata#identityGovernance/entitlementManagement/catalogs('${catalogId}')/resources`
      : `https://graph.microsoft.com/beta/$metadata#identityGovernance/entitlementManagement/accessPackageCatalogs('${catalogId}')/accessPackageResources`;
    return page(items, query, call.url, deps, context, (res) => renderResource(res, version));
  }

  const reviews = matchPrefix(segments, ['identityGovernance', 'accessReviews', 'definitions']);
  if (reviews) return reviewRoute(call, deps, roles, version, reviews.rest);

  throw badSegment(segments[segments.length - 1] ?? version);
}

function reviewRoute(call: GraphCall, deps: GraphDeps, roles: string[], version: Version, rest: string[]): Reply {
  if (call.method !== 'GET') throw methodNotAllowed();
  requireRole(roles, REVIEW_ROLES);
  const { store } = deps;
  const contextBase = `https://graph.microsoft.com/${version}/$metadata#identityGovernance/accessReviews/definitions`;
  const [definitionId, instancesSegment, instanceId, ...extra] = rest;
  if (definitionId === undefined) {
    const query = parseQuery(call.url.searchParams, { options: ['$top', '$skip', '$select', '$count'] });
    return page([...store.definitions.values()], query, call.url, deps, contextBase, renderDefinition);
  }
  const definition = store.definitions.get(definitionId);
  if (!definition) throw new GraphHttpError(404, 'ResourceNotFound', `The access review definition with id '${definitionId}' was not found.`);
  if (instancesSegment === undefined) {
    const query = parseQuery(call.url.searchParams, { options: ['$select'] });
    return jsonReply(200, { '@odata.context': `${contextBase}/$entity`, ...applySelect(renderDefinition(definition), query.select) });
  }
  if (instancesSegment.toLowerCase() !== 'instances' || extra.length > 0) throw badSegment(extra[extra.length - 1] ?? instancesSegment);
  const instances = [...store.instances.values()].filter((i) => i.definitionId === definitionId);
  const context = `${contextBase}('${definitionId}')/instances`;
  if (instanceId === undefined) {
    const query = parseQuery(call.url.searchParams, { options: ['$filter', '$orderby', '$top', '$skip', '$select', '$count'], properties: INSTANCE_PROPERTIES });
    const get = (i: { status: string; startDateTime: string }, property: string) =>
      property === 'status' ? i.status : property === 'startDateTime' ? i.startDateTime : new Date(Date.parse(i.startDateTime) + 14 * 86_400_000).toISOString();
    const items = applyOrderBy(applyFilter(instances, query.filter, INSTANCE_PROPERTIES, get), query.orderBy, INSTANCE_PROPERTIES, get);
    return page(items, query, call.url, deps, context, (i) => renderInstance(i, definition));
  }
  const instance = instances.find((i) => i.id === instanceId);
  if (!instance) throw new GraphHttpError(404, 'ResourceNotFound', `The access review instance with id '${instanceId}' was not found.`);
  const query = parseQuery(call.url.searchParams, { options: ['$select'] });
  return jsonReply(200, { '@odata.context': `${context}/$entity`, ...applySelect(renderInstance(instance, definition), query.select) });
}

function eraOf(family: Family): Era {
  return family === 'P3' ? 'v1' : family === 'P2' ? 'beta' : 'original';
}

function sessionsContext(version: Version, family: Family, c: string, r: string): string | undefined {
  if (family === 'P1') return undefined; // the 2025 examples carry no @odata.context
  const path = family === 'P3' ? `identityGovernance/entitlementManagement/catalogs('${c}')/resources('${r}')` : `identityGovernance/catalogs('${c}')/accessPackageResources('${r}')`;
  return `https://graph.microsoft.com/${version}/$metadata#${path}/uploadSessions`;
}

function withContext(context: string | undefined, body: Record<string, unknown>): Record<string, unknown> {
  return context === undefined ? body : { '@odata.context': context, ...body };
}

function sessionRoute(call: GraphCall, deps: GraphDeps, roles: string[], version: Version, family: Family, c: string, r: string, rest: string[]): Reply {
  const { store } = deps;
  const era = eraOf(family);
  const collection = sessionsContext(version, family, c, r);
  const [sessionId, action, fileId, valueSegment, ...extra] = rest;
  const readRoles = version === 'v1.0' ? [READ, READ_WRITE] : [READ_WRITE];
  // Files: v1.0 only with $expand (or in write answers); beta P2 and P1 always inline.
  const inlineFiles = era !== 'v1';

  if (sessionId === undefined) {
    if (call.method === 'GET') {
      requireRole(roles, readRoles);
      const query = parseQuery(call.url.searchParams, withFileSpec(SESSION_LIST_SPEC));
      const resource = store.resource(c, r);
      const get = (s: Session, property: string) => (property === 'referenceId' ? s.referenceId : property === 'status' ? s.status : s.createdDateTime);
      const items = applyOrderBy(applyFilter(store.sessionsOf(c, r), query.filter, SESSION_PROPERTIES, get), query.orderBy, SESSION_PROPERTIES, get);
      const files = query.expand.get('files') ?? (inlineFiles ? {} : null);
      return page(items, query, call.url, deps, collection ?? '', (s) => renderSession(s, resource, era, files));
    }
    if (call.method === 'POST') {
      requireRole(roles, [READ_WRITE]);
      parseQuery(call.url.searchParams, NO_QUERY);
      const resource = store.resource(c, r);
      const request = parseCreateBody(call.body, version);
      const session = store.createSession(c, r, request);
      return jsonReply(201, withContext(collection && `${collection}/$entity`, renderSession(session, resource, era, {})));
    }
    throw methodNotAllowed();
  }

  if (action === undefined) {
    if (call.method === 'GET') {
      requireRole(roles, readRoles);
      const query = parseQuery(call.url.searchParams, withFileSpec(SESSION_GET_SPEC));
      const resource = store.resource(c, r);
      const session = store.session(c, r, sessionId);
      const files = query.expand.get('files') ?? (inlineFiles ? {} : null);
      return jsonReply(200, withContext(collection && `${collection}/$entity`, applySelect(renderSession(session, resource, era, files), query.select)));
    }
    if (call.method === 'PATCH') {
      requireRole(roles, [READ_WRITE]);
      parseQuery(call.url.searchParams, NO_QUERY);
      const resource = store.resource(c, r);
      const session = store.session(c, r, sessionId);
      const body = call.body;
      const value = body.kind === 'json' ? body.value : undefined;
      const isExactlyDone =
        typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && (value as Record<string, unknown>).isUploadDone === true;
      if (!isExactlyDone) throw new GraphHttpError(400, 'BadRequest', 'Only {"isUploadDone": true} may be patched on an upload session.');
      store.complete(session);
      return jsonReply(200, withContext(collection && `${collection}/$entity`, renderSession(session, resource, era, {})));
    }
    if (call.method === 'DELETE') {
      requireRole(roles, [READ_WRITE]);
      parseQuery(call.url.searchParams, NO_QUERY);
      store.deleteSession(store.session(c, r, sessionId));
      return emptyReply(204);
    }
    throw methodNotAllowed();
  }

  if (action.toLowerCase() === 'uploadfile' && fileId === undefined) {
    if (call.method !== 'POST') throw methodNotAllowed();
    requireRole(roles, [READ_WRITE]);
    parseQuery(call.url.searchParams, NO_QUERY);
    const resource = store.resource(c, r);
    const session = store.session(c, r, sessionId);
    const body = call.body;
    if (body.kind !== 'multipart') throw new GraphHttpError(400, 'BadRequest', 'uploadFile expects a multipart/form-data body.');
    if (body.error !== undefined) throw new GraphHttpError(400, 'BadRequest', 'The multipart body is malformed.');
    const fileParts = body.parts.filter((p) => p.filename !== null);
    const [part] = fileParts;
    if (fileParts.length !== 1 || !part || part.name !== 'file' || part.filename === '') {
      throw new GraphHttpError(400, 'BadRequest', "uploadFile expects exactly one file part named 'file' with a filename.");
    }
    store.addFile(session, part);
    const context = era === 'original' ? undefined : `https://graph.microsoft.com/${version}/$metadata#microsoft.graph.customDataProvidedResourceAccessReviewUploadSession`;
    return jsonReply(200, withContext(context, renderSession(session, resource, era, {})));
  }

  if (action.toLowerCase() === 'files' && extra.length === 0) {
    // Undocumented but implied by the schema (file entity with HasStream): list files, and read one's bytes.
    if (call.method !== 'GET') throw methodNotAllowed();
    requireRole(roles, readRoles);
    store.resource(c, r);
    const session = store.session(c, r, sessionId);
    if (fileId === undefined) {
      parseQuery(call.url.searchParams, NO_QUERY);
      return jsonReply(200, withContext(collection && `${collection}('${sessionId}')/files`, { value: selectFiles(session.files, {}).map((f) => renderFile(f, era)) }));
    }
    const file = session.files.find((f) => f.id === fileId);
    if (!file) throw new GraphHttpError(404, 'ResourceNotFound', `The file with id '${fileId}' was not found.`);
    if (valueSegment === undefined) return jsonReply(200, renderFile(file, era));
    if (valueSegment !== '$value') throw badSegment(valueSegment);
    if (!file.content) throw new GraphHttpError(404, 'ResourceNotFound', 'The emulator did not keep this file’s content (larger than keepContentBytes).');
    return { status: 200, body: { kind: 'bytes', value: file.content, contentType: 'application/octet-stream' } };
  }
  throw badSegment(extra[extra.length - 1] ?? valueSegment ?? fileId ?? action);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unknownProperty(name: string, type: string): GraphHttpError {
  return new GraphHttpError(400, 'BadRequest', `The property '${name}' does not exist on type '${type}'. Make sure to only use property names that are defined by the type.`);
}

/**
 * Reads a create body in either shape. The original `{source, type, data{accessReviewId, …}}` body is accepted on
 * beta only: the v1.0 schema never had `source`/`type` (an assumption; see README).
 */
export function parseCreateBody(body: BodyResult, version: Version): CreateRequest {
  if (body.kind === 'invalidJson') throw new GraphHttpError(400, 'BadRequest', 'The request body is not valid JSON.');
  if (body.kind !== 'json' || !isObject(body.value)) throw new GraphHttpError(400, 'BadRequest', 'A JSON object body is required.');
  const value = body.value;
  const data = value.data;
  if (!isObject(data)) throw new GraphHttpError(400, 'BadRequest', "The property 'data' is required.");

  if ('source' in value || 'type' in value) {
    if (version === 'v1.0') throw unknownProperty('source' in value ? 'source' : 'type', 'microsoft.graph.customDataProvidedResourceUploadSession');
    for (const key of Object.keys(value)) if (!['source', 'type', 'data'].includes(key)) throw unknownProperty(key, 'microsoft.graph.customDataProvidedResourceUploadSessionRequest');
    const { source, type } = value;
    if (typeof source !== 'string' || source === '') throw new GraphHttpError(400, 'BadRequest', "The property 'source' is required.");
    // The docs write `type` with and without the '#microsoft.graph.' prefix (contract §7 #4): accept both.
    if (type !== ORIGINAL_TYPE && type !== ORIGINAL_TYPE.slice('#microsoft.graph.'.length)) throw new GraphHttpError(400, 'BadRequest', `Unsupported type '${String(type)}'.`);
    const dataType = data['@odata.type'];
    // None (the create example), the response's context-data type, or the Logic App's `accessReviewInstance`.
    if (dataType !== undefined && dataType !== ORIGINAL_DATA_TYPE && dataType !== '#microsoft.graph.accessReviewInstance') {
      throw new GraphHttpError(400, 'BadRequest', `Unsupported data type '${String(dataType)}'.`);
    }
    for (const key of Object.keys(data)) if (!['@odata.type', 'accessReviewId', 'accessReviewInstanceId'].includes(key)) throw unknownProperty(key, 'microsoft.graph.accessReviewResourceDataUploadSessionContextData');
    const { accessReviewId, accessReviewInstanceId } = data;
    if (typeof accessReviewId !== 'string' || typeof accessReviewInstanceId !== 'string') {
      throw new GraphHttpError(400, 'BadRequest', "The properties 'data.accessReviewId' and 'data.accessReviewInstanceId' are required.");
    }
    const request: CreateRequest = { bodyShape: 'original', reviewDefinitionId: accessReviewId, reviewInstanceId: accessReviewInstanceId, source, type };
    if (typeof dataType === 'string') request.dataOdataType = dataType;
    return request;
  }

  if (value['@odata.type'] !== SESSION_TYPE) throw new GraphHttpError(400, 'BadRequest', `The '@odata.type' must be '${SESSION_TYPE}' (the session type is abstract).`);
  for (const key of Object.keys(value)) if (!['@odata.type', 'data'].includes(key)) throw unknownProperty(key, SESSION_TYPE.slice(1));
  if (data['@odata.type'] !== CONTEXT_DATA_TYPE) throw new GraphHttpError(400, 'BadRequest', `The 'data.@odata.type' must be '${CONTEXT_DATA_TYPE}'.`);
  for (const key of Object.keys(data)) if (!['@odata.type', 'reviewDefinitionId', 'reviewInstanceId'].includes(key)) throw unknownProperty(key, CONTEXT_DATA_TYPE.slice(1));
  const { reviewDefinitionId, reviewInstanceId } = data;
  if (typeof reviewDefinitionId !== 'string' || typeof reviewInstanceId !== 'string') {
    throw new GraphHttpError(400, 'BadRequest', "The properties 'data.reviewDefinitionId' and 'data.reviewInstanceId' are required.");
  }
  return { bodyShape: 'current', reviewDefinitionId, reviewInstanceId };
}
