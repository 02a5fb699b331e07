/**
 * The three shapes of the upload-session API (graph-contract.md "Decisions" 1, §3.1, §5.1), as data: which version,
 * which path family for each operation, and the exact create body. Everything shape-specific lives here.
 */
import type { GraphApiShape, ResourceRef, ReviewRef } from '../../core/reviewGraph';

export interface ShapePaths {
  /** The Graph version segment (`v1.0` or `beta`). */
  version: 'v1.0' | 'beta';
  /** Collection path for create, get, uploadFile, update. */
  sessions(resource: ResourceRef): string;
  /** Collection path for list-by-referenceId and delete (they were documented later, on another path in beta). */
  sessionsForListAndDelete(resource: ResourceRef): string;
  /** The catalog's resources, filterable by `originSystem`. */
  catalogResources(catalogId: string): string;
  createBody(resource: ResourceRef, review: ReviewRef): Record<string, unknown>;
}

const seg = encodeURIComponent;

/** P3: `/identityGovernance/entitlementManagement/catalogs/{c}/resources/{r}` (v1.0, canonical). */
const p3 = (r: ResourceRef) => `/identityGovernance/entitlementManagement/catalogs/${seg(r.catalogId)}/resources/${seg(r.resourceId)}/uploadSessions`;
/** P2: `/identityGovernance/catalogs/{c}/accessPackageResources/{r}` (current beta docs). */
const p2 = (r: ResourceRef) => `/identityGovernance/catalogs/${seg(r.catalogId)}/accessPackageResources/${seg(r.resourceId)}/uploadSessions`;
/** P1: `/identityGovernance/entitlementManagement/accessPackageCatalogs/{c}/accessPackageResources/{r}` (Oct 2025 beta). */
const p1 = (r: ResourceRef) =>
  `/identityGovernance/entitlementManagement/accessPackageCatalogs/${seg(r.catalogId)}/accessPackageResources/${seg(r.resourceId)}/uploadSessions`;

/** The current body (beta since mid 2026, v1.0): entity type plus access review context data. */
function currentBody(_resource: ResourceRef, review: ReviewRef): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.customDataProvidedResourceAccessReviewUploadSession',
    data: {
      '@odata.type': '#microsoft.graph.customDataProvidedResourcePayloads.accessReviewContextData',
      reviewDefinitionId: review.reviewDefinitionId,
      reviewInstanceId: review.reviewInstanceId,
    },
  };
}

/** The original beta body, exactly as the corrected October 2025 example (contract §5.1 "Original beta"). */
function originalBetaBody(resource: ResourceRef, review: ReviewRef): Record<string, unknown> {
  return {
    source: resource.source,
    type: '#microsoft.graph.accessReviewDataUploadTriggerCallbackData',
    data: {
      '@odata.type': '#microsoft.graph.accessReviewResourceDataUploadSessionContextData',
      accessReviewId: review.reviewDefinitionId,
      accessReviewInstanceId: review.reviewInstanceId,
    },
  };
}

export const SHAPES: Readonly<Record<GraphApiShape, ShapePaths>> = {
  'v1.0': {
    version: 'v1.0',
    sessions: p3,
    sessionsForListAndDelete: p3,
    catalogResources: (c) => `/identityGovernance/entitlementManagement/catalogs/${seg(c)}/resources`,
    createBody: currentBody,
  },
  beta: {
    version: 'beta',
    sessions: p2,
    sessionsForListAndDelete: p2,
    catalogResources: (c) => `/identityGovernance/entitlementManagement/accessPackageCatalogs/${seg(c)}/accessPackageResources`,
    createBody: currentBody,
  },
  'beta-2025': {
    version: 'beta',
    sessions: p1,
    // List and delete were first documented in April 2026, on P2 (contract "Decisions" 1).
    sessionsForListAndDelete: p2,
    catalogResources: (c) => `/identityGovernance/entitlementManagement/accessPackageCatalogs/${seg(c)}/accessPackageResources`,
    createBody: originalBetaBody,
  },
};

/** Access review definitions; the same path on both versions (contract §10). */
export const REVIEW_DEFINITIONS_PATH = '/identityGovernance/accessReviews/definitions';
