/**
 * Review requests and snapshots in the ledger: the records fulfil and ingest share.
 *
 * A review request says "review instance X of definition Y needs the data of source S before D". It comes from the
 * callout, from discovery by the sweep, or from the CLI; all three land on the same ledger key (instance, source),
 * so a second request for the same instance is a no-op.
 */
import { SyncError } from './errors';
import { requestKey } from './layout';
import type { Ledger, LedgerRecord } from './ledger';
import type { Logger } from './ports';
import type { Route } from './routes';

/** Graph takes data for two hours after the instance enters Initializing. */
export const UPLOAD_WINDOW_MS = 2 * 60 * 60 * 1000;

/** One file of a source's snapshot: a validated canonical CSV in `staged/`. */
export interface SnapshotFile {
  /** The name in Graph and in `staged/` (content-addressed). */
  uploadName: string;
  stagedName: string;
  stagedEtag: string;
  size: number;
  sha256: string;
  rows: number;
  distinctPrincipals: number;
  /** The export's own file name (kept in storage and the ledger only, never logged). */
  fileName: string;
  /** Ledger key of the inbox blob version it came from. */
  fromBlobKey: string;
  stagedAt: number;
}

/** The current snapshot of a source: latest version per export file name, at most {@link MAX_SNAPSHOT_FILES}. */
export interface Snapshot {
  source: string;
  files: SnapshotFile[];
  updatedAt: number;
}
export const MAX_SNAPSHOT_FILES = 10;

export type RequestOrigin = 'callout' | 'discovery' | 'cli';
export type RequestState = 'pending' | 'uploading' | 'done' | 'failed';

export interface ReviewRequest {
  reviewDefinitionId: string;
  reviewInstanceId: string;
  source: string;
  catalogId: string;
  resourceId: string;
  origin: RequestOrigin;
  receivedAt: number;
  /** Epoch ms after which Graph takes no more data for this instance. */
  deadline: number;
  /** The snapshot files frozen when the first upload started, so one session never mixes two snapshots. */
  plan?: SnapshotFile[];
  sessionId?: string;
  /** Who is working on it, until when; a crashed worker's lease simply runs out. */
  lease?: { owner: string; until: number };
  warnedAt?: number;
  reason?: string;
  errorCode?: string;
  /** Graph request-ids of failures, for support cases. */
  requestIds?: string[];
  completedAt?: number;
  archiveFolder?: string;
}

/** A blob version's ledger entry. States: claimed → staged | rejected | failed; staged → uploaded | superseded. */
export interface BlobVersion {
  name: string;
  etag: string;
  size: number;
  source: string | undefined;
  claimedAt: number;
  lease?: { owner: string; until: number };
  attempts: number;
  sha256?: string;
  uploadName?: string;
  stagedName?: string;
  archivedAs?: string;
  rejectedAs?: string;
  reportName?: string;
  rows?: number;
  accepted?: number;
  rejectedRows?: number;
  reason?: string;
  errorCode?: string;
  uploadedTo?: string[];
}

export const TERMINAL_BLOB_STATES = ['staged', 'rejected', 'failed', 'uploaded', 'superseded'] as const;

export const KIND_REQUEST = 'request';
export const KIND_SNAPSHOT = 'snapshot';
export const KIND_BLOB = 'blob';

export interface RecordRequestInput {
  reviewDefinitionId: string;
  reviewInstanceId: string;
  origin: RequestOrigin;
  /** When the instance started (from discovery); the deadline is two hours later. */
  startedAt?: number;
}

/**
 * Records a review request for a route; returns the stored record and whether it was new. Idempotent: a repeated
 * callout, a discovery of the same instance, or both at once end in one record.
 */
export async function recordReviewRequest(
  ledger: Ledger,
  route: Route,
  input: RecordRequestInput,
  now: number,
  logger: Logger,
): Promise<{ record: LedgerRecord<ReviewRequest>; created: boolean }> {
  const key = requestKey(input.reviewInstanceId, route.source);
  const existing = await ledger.get<ReviewRequest>(KIND_REQUEST, key);
  if (existing) return { record: existing, created: false };
  // The callout arrives as the instance enters Initializing, so "now" is a safe (early) start when none is known.
  const startedAt = input.startedAt !== undefined && input.startedAt <= now ? input.startedAt : now;
  const value: ReviewRequest = {
    reviewDefinitionId: input.reviewDefinitionId,
    reviewInstanceId: input.reviewInstanceId.toLowerCase(),
    source: route.source,
    catalogId: route.catalogId,
    resourceId: route.resourceId,
    origin: input.origin,
    receivedAt: now,
    deadline: startedAt + UPLOAD_WINDOW_MS,
  };
  const created = await ledger.create<ReviewRequest>(KIND_REQUEST, key, 'pending', value);
  if (created) {
    logger.log('info', 'review.request.recorded', {
      source: route.source,
      reviewInstanceId: value.reviewInstanceId,
      reviewDefinitionId: value.reviewDefinitionId,
      trigger: input.origin,
      deadline: new Date(value.deadline).toISOString(),
    });
    return { record: created, created: true };
  }
  const winner = await ledger.get<ReviewRequest>(KIND_REQUEST, key);
  if (!winner) throw new SyncError('ledger.vanished', 'A review request disappeared while it was being recorded', 'retry');
  return { record: winner, created: false };
}
