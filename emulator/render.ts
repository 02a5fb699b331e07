/**
 * How sessions, files, resources, definitions and instances look on the wire in each era of the API.
 *
 * - `v1` (P3 on /v1.0) and `beta` (P2 on /beta): lowercase status, `referenceId`, `@odata.type`, files with `id`.
 *   v1.0 shows `files` only with `$expand=files` (or in create/uploadFile/PATCH answers); beta P2 always inlines them,
 *   as the April 2026 beta examples do.
 * - `original` (P1 on /beta): the Oct 2025 examples: `Active`/`Complete`, `expirationDateTime` = created + 24 h,
 *   files without `id`, and `source`/`type`/`data{accessReviewId, accessReviewInstanceId}` echoed.
 */
import { applyFilter, applyOrderBy, type ExpandOptions, type PropertySpec } from './odata';
import type { Definition, Resource, Session, StoredFile } from './state';
import type { InstanceState } from './types';

export type Era = 'v1' | 'beta' | 'original';

export const SESSION_TYPE = '#microsoft.graph.customDataProvidedResourceAccessReviewUploadSession';
export const CONTEXT_DATA_TYPE = '#microsoft.graph.customDataProvidedResourcePayloads.accessReviewContextData';
export const ORIGINAL_TYPE = '#microsoft.graph.accessReviewDataUploadTriggerCallbackData';
export const ORIGINAL_DATA_TYPE = '#microsoft.graph.accessReviewResourceDataUploadSessionContextData';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Graph writes DateTimeOffset with seven fractional digits (`…04.5120000Z`); clients must parse that. */
export function graphDate(iso: string): string {
  return iso.replace(/\.(\d{3})Z$/, '.$10000Z');
}

export const FILE_PROPERTIES: Record<string, PropertySpec> = {
  name: { type: 'string', operators: ['eq', 'ne'], orderable: true },
  size: { type: 'number', operators: ['eq', 'ne', 'gt', 'ge', 'lt', 'le'], orderable: true },
  uploadedDateTime: { type: 'date', operators: ['eq', 'ne', 'gt', 'ge', 'lt', 'le'], orderable: true },
};

function fileValue(file: StoredFile, property: string): string | number | undefined {
  switch (property) {
    case 'name':
      return file.name;
    case 'size':
      return file.size;
    case 'uploadedDateTime':
      return Date.parse(file.uploadedDateTime);
    default:
      return undefined;
  }
}

/** Applies nested `$expand=files(...)` options. */
export function selectFiles(files: StoredFile[], options: ExpandOptions): StoredFile[] {
  let selected = applyFilter(files, options.filter, FILE_PROPERTIES, fileValue);
  selected = applyOrderBy(selected, options.orderBy, FILE_PROPERTIES, fileValue);
  return options.top === undefined ? selected : selected.slice(0, options.top);
}

export function renderFile(file: StoredFile, era: Era): Record<string, unknown> {
  const base = { name: file.name, size: file.size, uploadedDateTime: graphDate(file.uploadedDateTime) };
  return era === 'original' ? base : { id: file.id, ...base };
}

function stats(session: Session): { filesUploaded: number; totalBytesUploaded: number } {
  return { filesUploaded: session.files.length, totalBytesUploaded: session.files.reduce((sum, f) => sum + f.size, 0) };
}

function pascal(status: string): string {
  return status.charAt(0).toUpperCase() + status.slice(1);
}

/**
 * Renders a session. `files` null omits the `files` property; otherwise the options are applied to it.
 */
export function renderSession(session: Session, resource: Resource, era: Era, files: ExpandOptions | null): Record<string, unknown> {
  const fileList = files ? selectFiles(session.files, files).map((f) => renderFile(f, era)) : undefined;
  const originalData = {
    '@odata.type': session.dataOdataType ?? ORIGINAL_DATA_TYPE,
    accessReviewId: session.reviewDefinitionId,
    accessReviewInstanceId: session.referenceId,
  };
  if (era === 'original') {
    const body: Record<string, unknown> = {
      id: session.id,
      status: pascal(session.status),
      isUploadDone: session.isUploadDone,
      source: session.source ?? resource.displayName,
      type: session.type ?? ORIGINAL_TYPE,
      data: originalData,
      stats: stats(session),
      createdDateTime: graphDate(session.createdDateTime),
      expirationDateTime: graphDate(new Date(Date.parse(session.createdDateTime) + DAY_MS).toISOString()),
    };
    if (fileList) body.files = fileList;
    return body;
  }
  const echoOriginal = era === 'beta' && session.bodyShape === 'original';
  const body: Record<string, unknown> = echoOriginal
    ? // The intermediate beta shape (April 2026): lowercase, referenceId, and the original fields echoed.
      { id: session.id, referenceId: session.referenceId, source: session.source, type: session.type, data: originalData }
    : {
        '@odata.type': SESSION_TYPE,
        id: session.id,
        referenceId: session.referenceId,
        data: { '@odata.type': CONTEXT_DATA_TYPE, reviewDefinitionId: session.reviewDefinitionId, reviewInstanceId: session.referenceId },
      };
  Object.assign(body, { status: session.status, isUploadDone: session.isUploadDone, createdDateTime: graphDate(session.createdDateTime), stats: stats(session) });
  if (fileList) body.files = fileList;
  return body;
}

/** An accessPackageResource as the v1.0 or beta catalog-resources list shows it. */
export function renderResource(resource: Resource, version: 'v1.0' | 'beta'): Record<string, unknown> {
  const body: Record<string, unknown> = {
    id: resource.id,
    displayName: resource.displayName,
    description: null,
    originId: resource.id,
    originSystem: resource.originSystem,
  };
  if (resource.originSystem === 'CustomDataProvidedResource') body['@odata.type'] = '#microsoft.graph.customDataProvidedResource';
  if (version === 'v1.0') body.createdDateTime = graphDate(resource.createdDateTime);
  else Object.assign(body, { addedOn: graphDate(resource.createdDateTime), resourceType: null, isPendingOnboarding: false });
  return body;
}

/** The scope of a definition: the catalog-review shape of contract §10 unless a raw scope was seeded. */
export function definitionScope(definition: Definition): Record<string, unknown> {
  return (
    definition.scope ?? {
      '@odata.type': '#microsoft.graph.principalResourceMembershipsScope',
      principalScopes: [{ '@odata.type': '#microsoft.graph.accessReviewPrincipalScope', scopeType: 'allUsers' }],
      resourceScopes: definition.catalogIds.map((catalogId) => ({ '@odata.type': '#microsoft.graph.accessReviewResourceScope', resourceId: catalogId, scopeType: 'catalog' })),
    }
  );
}

export function renderDefinition(definition: Definition): Record<string, unknown> {
  return {
    id: definition.id,
    displayName: definition.displayName,
    status: 'InProgress',
    createdDateTime: graphDate(definition.createdDateTime),
    lastModifiedDateTime: graphDate(definition.createdDateTime),
    descriptionForAdmins: '',
    scope: definitionScope(definition),
  };
}

export function renderInstance(instance: InstanceState, definition: Definition | undefined): Record<string, unknown> {
  return {
    id: instance.id,
    startDateTime: graphDate(instance.startDateTime),
    endDateTime: graphDate(new Date(Date.parse(instance.startDateTime) + 14 * DAY_MS).toISOString()),
    status: instance.status,
    scope: definition ? definitionScope(definition) : null,
  };
}
