/**
 * Fulfil: deliver a source's snapshot to a review request's upload session, exactly once, never partially.
 *
 * 1. A request already `done` needs no call at all.
 * 2. Take the request's lease (a conditional ledger write); whoever loses the race leaves it alone.
 * 3. Freeze the plan (the snapshot's files) the first time, so a session never mixes two snapshots.
 * 4. Adopt the instance's session or create it (the adapter never makes a second one).
 * 5. Upload each planned file the session does not hold yet (content-addressed names, so name + size is proof).
 * 6. Read back: every planned file with its planned size, and nothing else. Only then set `isUploadDone`, and
 *    read back `complete`.
 * 7. Archive what the review received (copies plus a manifest), then mark the request done.
 *
 * A transient failure leaves the request pending for the next trigger or sweep (the work done so far is in Graph
 * and found again by name). A passed deadline or a permanent failure marks it failed with a reason.
 * An active session holding files that are not in the plan is deleted and started over only while the
 * deadline leaves room for it; otherwise the request fails rather than complete a session with wrong data.
 */
import type { BlobStore } from './blobStore';
import { GraphRequestError, SyncError, isSyncError } from './errors';
import { KIND_BLOB, KIND_REQUEST, KIND_SNAPSHOT, type ReviewRequest, type Snapshot, type SnapshotFile } from './requests';
import { reviewArchiveFolder } from './layout';
import type { Ledger, LedgerRecord } from './ledger';
import { errorLogFields } from './log';
import type { Clock, LogFields, Logger, ReopenableSource } from './ports';
import type { GraphCallOptions, ResourceRef, ReviewGraph, UploadProgress, UploadSession } from './reviewGraph';
import { routeForSource, type Route } from './routes';

export interface FulfilDeps {
  store: BlobStore;
  ledger: Ledger;
  graph: ReviewGraph;
  clock: Clock;
  logger: Logger;
  routes: readonly Route[];
  /** Identifies this worker in leases (an invocation id, a host name). */
  owner: string;
  /** How long a lease holds before another worker may take over (longer than one function run). */
  leaseMs?: number;
  /** Starting over (delete + create) is tried only with at least this much time before the deadline. */
  restartMarginMs?: number;
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
}

export type FulfilOutcome =
  | 'done'
  | 'alreadyDone'
  | 'waitingForData'
  | 'busy'
  | 'retryLater'
  | 'failed';

const DEFAULT_LEASE_MS = 15 * 60_000;
const DEFAULT_RESTART_MARGIN_MS = 20 * 60_000;

class LostLease extends Error {}

export async function fulfilRequest(key: string, deps: FulfilDeps): Promise<FulfilOutcome> {
  let record = await deps.ledger.get<ReviewRequest>(KIND_REQUEST, key);
  if (!record) throw new SyncError('request.unknown', 'No review request is recorded under that key', 'fatal');
  if (record.state === 'done') return 'alreadyDone';
  if (record.state === 'failed') return 'failed';
  const request = record.value;
  const log = (level: 'info' | 'warn' | 'error', event: string, fields: LogFields = {}) =>
    deps.logger.log(level, event, { source: request.source, reviewInstanceId: request.reviewInstanceId, ...fields });
  const now = deps.clock.now();
  if (record.state === 'uploading' && request.lease && request.lease.owner !== deps.owner && request.lease.until > now) return 'busy';

  const route = routeForSource(deps.routes, request.source);
  if (!route) return fail(record, deps, 'route.missing', `No route is configured for source ${request.source} any more`);
  const resource: ResourceRef = { catalogId: request.catalogId, resourceId: request.resourceId, source: route.source };
  const review = { reviewDefinitionId: request.reviewDefinitionId, reviewInstanceId: request.reviewInstanceId };

  if (now >= request.deadline) {
    // A crash after the PATCH but before the ledger said so: Graph's word settles it.
    if (request.sessionId) {
      const session = await deps.graph.findUploadSession(resource, request.reviewInstanceId).catch(() => undefined);
      if (session?.status === 'complete' && request.plan && planMatches(session, request.plan)) return finish(record, session, deps);
    }
    return fail(record, deps, 'request.deadlinePassed', `The two-hour upload window of review instance ${request.reviewInstanceId} has passed`);
  }

  let plan = request.plan;
  if (!plan) {
    const snapshot = await deps.ledger.get<Snapshot>(KIND_SNAPSHOT, request.source);
    if (!snapshot || snapshot.value.files.length === 0) return 'waitingForData';
    plan = [...snapshot.value.files].sort((a, b) => a.uploadName.localeCompare(b.uploadName));
  }

  const lease = async (patch: Partial<ReviewRequest> = {}): Promise<void> => {
    try {
      record = await deps.ledger.update<ReviewRequest>(record!, 'uploading', {
        ...record!.value,
        plan,
        ...patch,
        lease: { owner: deps.owner, until: deps.clock.now() + (deps.leaseMs ?? DEFAULT_LEASE_MS) },
      });
    } catch (error) {
      if (isSyncError(error) && error.code === 'ledger.conflict') throw new LostLease();
      throw error;
    }
  };

  try {
    await lease();
    log('info', 'fulfil.started', { files: plan.length, bytes: plan.reduce((n, f) => n + f.size, 0) });
    const options = { deadline: request.deadline, signal: deps.signal, logger: deps.logger };
    let session = await openSession(deps.graph, resource, review, record.value.sessionId, options);
    if (session.id !== record.value.sessionId) await lease({ sessionId: session.id });

    if (session.status === 'complete') {
      if (planMatches(session, plan)) return await finish(record, session, deps);
      return await fail(record, deps, 'session.completedElsewhere', 'The upload session was completed with files that are not this snapshot');
    }
    if (session.status !== 'active') {
      return await fail(record, deps, 'session.notActive', `The upload session is ${session.status}; Graph takes no more data for this instance`);
    }

    let files = session.files ?? (await deps.graph.getUploadSession(resource, session.id, options)).files ?? [];
    if (strangers(files, plan).length > 0) {
      if (request.deadline - deps.clock.now() < (deps.restartMarginMs ?? DEFAULT_RESTART_MARGIN_MS)) {
        return await fail(record, deps, 'session.holdsOtherFiles', 'The upload session holds files that are not in the snapshot, and too little time is left to start it over');
      }
      log('warn', 'upload.session.restarted', { uploadSessionId: session.id, reason: 'files not in the snapshot' });
      await deps.graph.deleteUploadSession(resource, session.id, options);
      session = await deps.graph.createUploadSession(resource, review, options);
      await lease({ sessionId: session.id });
      files = session.files ?? [];
    }

    for (const file of plan) {
      if (files.some((f) => f.name === file.uploadName && f.size === file.size)) continue;
      const source: ReopenableSource = {
        name: file.uploadName,
        size: file.size,
        open: (signal) => deps.store.openRead(file.stagedName, { ifMatch: file.stagedEtag, signal }),
      };
      session = await deps.graph.uploadFile(resource, session.id, source, { ...options, onProgress: deps.onProgress });
      files = session.files ?? files;
      await lease(); // a checkpoint, and the lease stays alive across long uploads
    }

    const readBack = await deps.graph.getUploadSession(resource, session.id, options);
    if (!planMatches(readBack, plan)) {
      throw new SyncError('fulfil.readBackMismatch', 'The upload session does not hold exactly the planned files; not completing it', 'retry', {
        operation: 'fulfil.readBack',
      });
    }
    const completed = await deps.graph.completeUploadSession(resource, session.id, options);
    return await finish(record, completed, deps);
  } catch (error) {
    if (error instanceof LostLease) return 'busy';
    const fields = errorLogFields(error);
    // Transient, cancelled, or not understood: the request stays pending for the next trigger or sweep, and the
    // deadline bounds how long. Only a failure we know to be permanent ends it now.
    if (!isSyncError(error) || error.disposition === 'retry' || error.disposition === 'skip') {
      log(isSyncError(error) ? 'warn' : 'error', isSyncError(error) ? 'fulfil.deferred' : 'fulfil.unexpected', fields);
      await release(record, deps).catch(() => undefined);
      return 'retryLater';
    }
    return fail(record, deps, error.code, error.message, error.context.requestId, error);
  }
}

/**
 * The request's session: read directly when the ledger already knows it (a resumed request), so that no create is sent
 * only to be refused; otherwise adopt-or-create. A known session that has since gone (deleted) falls back to the latter.
 */
async function openSession(
  graph: ReviewGraph,
  resource: ResourceRef,
  review: { reviewDefinitionId: string; reviewInstanceId: string },
  knownSessionId: string | undefined,
  options: GraphCallOptions,
): Promise<UploadSession> {
  if (knownSessionId) {
    try {
      return await graph.getUploadSession(resource, knownSessionId, options);
    } catch (error) {
      if (!(error instanceof GraphRequestError && error.status === 404)) throw error;
    }
  }
  return graph.createUploadSession(resource, review, options);
}

/** Files in the session that the plan does not account for: unknown names, wrong sizes, or a name twice. */
function strangers(files: readonly { name: string; size: number }[], plan: readonly SnapshotFile[]) {
  const planned = new Map(plan.map((f) => [f.uploadName, f.size]));
  const seen = new Set<string>();
  return files.filter((f) => {
    const twice = seen.has(f.name);
    seen.add(f.name);
    return twice || planned.get(f.name) !== f.size;
  });
}

/** Every planned file with its planned size, and nothing else. */
function planMatches(session: UploadSession, plan: readonly SnapshotFile[]): boolean {
  const files = session.files ?? [];
  return files.length === plan.length && strangers(files, plan).length === 0 && plan.every((p) => files.some((f) => f.name === p.uploadName));
}

async function release(record: LedgerRecord<ReviewRequest>, deps: FulfilDeps): Promise<void> {
  const { lease: _lease, ...rest } = record.value;
  await deps.ledger.update<ReviewRequest>(record, 'pending', rest);
}

async function fail(
  record: LedgerRecord<ReviewRequest>,
  deps: FulfilDeps,
  code: string,
  reason: string,
  requestId?: string,
  error?: unknown,
): Promise<FulfilOutcome> {
  const { lease: _lease, ...rest } = record.value;
  const requestIds = requestId ? [...(rest.requestIds ?? []), requestId] : rest.requestIds;
  await deps.ledger.update<ReviewRequest>(record, 'failed', { ...rest, reason, errorCode: code, requestIds }).catch(() => undefined);
  deps.logger.log('error', 'review.request.failed', {
    source: record.value.source,
    reviewInstanceId: record.value.reviewInstanceId,
    reason,
    code,
    requestId,
    ...(error ? errorLogFields(error) : {}),
  });
  return 'failed';
}

/** Archives what the review received, then marks the request done and its blob versions uploaded. */
async function finish(record: LedgerRecord<ReviewRequest>, session: UploadSession, deps: FulfilDeps): Promise<FulfilOutcome> {
  const request = record.value;
  const plan = request.plan ?? [];
  const folder = reviewArchiveFolder(request.source, request.reviewInstanceId);
  const archived: { uploadName: string; archiveName: string; etag: string }[] = [];
  for (const file of plan) {
    const copy = await deps.store.copy(file.stagedName, `${folder}${file.uploadName}`, { ifMatch: file.stagedEtag });
    archived.push({ uploadName: file.uploadName, archiveName: copy.name, etag: copy.etag });
  }
  const completedAt = deps.clock.now();
  const manifest = {
    source: request.source,
    catalogId: request.catalogId,
    resourceId: request.resourceId,
    reviewDefinitionId: request.reviewDefinitionId,
    reviewInstanceId: request.reviewInstanceId,
    uploadSessionId: session.id,
    sessionStatus: session.status,
    requestOrigin: request.origin,
    requestReceivedAt: new Date(request.receivedAt).toISOString(),
    deadline: new Date(request.deadline).toISOString(),
    completedAt: new Date(completedAt).toISOString(),
    files: plan.map((f) => ({
      uploadName: f.uploadName,
      size: f.size,
      sha256: f.sha256,
      rows: f.rows,
      stagedName: f.stagedName,
      stagedEtag: f.stagedEtag,
      archive: archived.find((a) => a.uploadName === f.uploadName),
      inGraph: session.files?.find((g) => g.name === f.uploadName),
    })),
    requestIds: request.requestIds ?? [],
  };
  await deps.store.write(`${folder}manifest.json`, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), { contentType: 'application/json' });
  const { lease: _lease, ...rest } = request;
  await deps.ledger.update<ReviewRequest>(record, 'done', { ...rest, sessionId: session.id, completedAt, archiveFolder: folder });
  for (const file of plan) await markBlobUploaded(deps.ledger, file.fromBlobKey, request.reviewInstanceId);
  deps.logger.log('info', 'review.request.fulfilled', {
    source: request.source,
    reviewInstanceId: request.reviewInstanceId,
    uploadSessionId: session.id,
    files: plan.length,
  });
  return 'done';
}

interface BlobUploads {
  uploadedTo?: string[];
}

/** The blob version's terminal state becomes `uploaded` once a review received it (reliability §7). */
async function markBlobUploaded(ledger: Ledger, blobKey: string, reviewInstanceId: string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const blob = await ledger.get<BlobUploads>(KIND_BLOB, blobKey);
    if (!blob) return;
    const uploadedTo = blob.value.uploadedTo ?? [];
    if (uploadedTo.includes(reviewInstanceId) && blob.state === 'uploaded') return;
    try {
      await ledger.update(blob, 'uploaded', { ...blob.value, uploadedTo: [...new Set([...uploadedTo, reviewInstanceId])] });
      return;
    } catch (error) {
      if (!(isSyncError(error) && error.code === 'ledger.conflict')) throw error;
    }
  }
}

