/**
 * Ingest: one inbox blob version from drop to snapshot (or quarantine), exactly once under at-least-once delivery.
 *
 * 1. Claim the version `(name, ETag)` in the ledger (insert-if-absent; a lease lets a crashed claim be taken over).
 *    A second delivery of the same version is a no-op.
 * 2. A file over the route's size cap is refused from its properties alone, before a byte is read.
 * 3. Stream it (pinned to its ETag) through validation; the canonical CSV streams into `staged/…/_pending/`.
 * 4. Refused: the original is copied to `rejected/…` beside report.json and report.csv. Accepted: the canonical file
 *    gets its content-addressed name in `staged/`, joins the source's snapshot (a conditional ledger write), and the
 *    original is copied to `archive/{source}/_received/…`.
 * 5. Only after the copy is verified does the original leave `inbox/`; then the ledger records the terminal state.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { BlobInfo, BlobStore } from './blobStore';
import { SyncError, isSyncError } from './errors';
import {
  blobRef,
  blobVersionKey,
  fitBlobName,
  parseInboxName,
  pendingName,
  receivedArchiveName,
  rejectedFolder,
  stagedName,
  uploadNameFor,
} from './layout';
import type { Ledger, LedgerRecord } from './ledger';
import { errorLogFields } from './log';
import type { Clock, Logger } from './ports';
import { KIND_BLOB, KIND_SNAPSHOT, MAX_SNAPSHOT_FILES, TERMINAL_BLOB_STATES, type BlobVersion, type Snapshot, type SnapshotFile } from './requests';
import { routeForSource, type Route } from './routes';
import { validateCsv, writeReports, type ValidationSummary } from './csv';

export interface IngestDeps {
  store: BlobStore;
  ledger: Ledger;
  clock: Clock;
  logger: Logger;
  routes: readonly Route[];
  owner: string;
  leaseMs?: number;
  /** Tries before a version that keeps failing is quarantined as failed (the poison threshold). */
  maxAttempts?: number;
  signal?: AbortSignal;
}

export type IngestOutcome =
  | { outcome: 'staged'; source: string; file: SnapshotFile }
  | { outcome: 'rejected'; source: string | undefined; reason: string }
  | { outcome: 'duplicate' | 'busy' | 'gone' | 'ignored' }
  | { outcome: 'failed'; reason: string }
  | { outcome: 'retryLater'; reason: string };

const DEFAULT_LEASE_MS = 10 * 60_000;
const DEFAULT_MAX_ATTEMPTS = 5;

export async function ingestBlob(name: string, deps: IngestDeps): Promise<IngestOutcome> {
  if (!name.startsWith('inbox/')) return { outcome: 'ignored' };
  let info: BlobInfo | undefined;
  try {
    info = await deps.store.stat(name);
  } catch (error) {
    // A name the storage SDK cannot address faithfully (a `..` segment, a control character) cannot be copied or
    // quarantined by name either: say so once per delivery and leave it for an operator to rename.
    if (isSyncError(error) && error.code === 'storage.invalidName') {
      deps.logger.log('error', 'file.unaddressable', { blobRef: blobRef(name), ...errorLogFields(error) });
      return { outcome: 'failed', reason: error.message };
    }
    throw error;
  }
  if (!info) return { outcome: 'gone' };
  const key = blobVersionKey(name, info.etag);
  const ref = blobRef(name);
  const now = deps.clock.now();
  const parsed = parseInboxName(name);
  const route = parsed ? routeForSource(deps.routes, parsed.source) : undefined;

  let record = await deps.ledger.get<BlobVersion>(KIND_BLOB, key);
  if (record && (TERMINAL_BLOB_STATES as readonly string[]).includes(record.state)) {
    // Terminal but still in the inbox: a crash between the ledger write and the delete. Finish the tidy-up.
    await tidyInbox(record, deps);
    return { outcome: 'duplicate' };
  }
  const lease = { owner: deps.owner, until: now + (deps.leaseMs ?? DEFAULT_LEASE_MS) };
  if (!record) {
    const value: BlobVersion = { name, etag: info.etag, size: info.size, source: route?.source ?? parsed?.source, claimedAt: now, lease, attempts: 1 };
    record = await deps.ledger.create<BlobVersion>(KIND_BLOB, key, 'claimed', value);
    if (!record) return { outcome: 'duplicate' };
  } else {
    if (record.value.lease && record.value.lease.until > now && record.value.lease.owner !== deps.owner) return { outcome: 'busy' };
    try {
      record = await deps.ledger.update<BlobVersion>(record, 'claimed', { ...record.value, lease, attempts: record.value.attempts + 1 });
    } catch (error) {
      if (isSyncError(error) && error.code === 'ledger.conflict') return { outcome: 'busy' };
      throw error;
    }
  }
  deps.logger.log('info', 'file.claimed', { blobRef: ref, etag: info.etag, bytes: info.size, source: record.value.source, attempt: record.value.attempts });

  try {
    if (!parsed || !route) {
      const why = parsed ? `No route is configured for the source folder "${parsed.source}"` : 'Files must be dropped into inbox/{source}/';
      return await quarantine(record, info, deps, undefined, why, 'route.unknown');
    }
    if (info.size > route.maxFileBytes) {
      return await quarantine(record, info, deps, route, `The file is ${info.size} bytes; the route accepts at most ${route.maxFileBytes}`, 'file.tooLarge');
    }
    return await validateAndStage(record, info, parsed, route, deps);
  } catch (error) {
    const fields = { blobRef: ref, ...errorLogFields(error) };
    if (isSyncError(error) && error.code === 'storage.conditionFailed') {
      // Overwritten while we read it: this version is abandoned; the new version is its own ledger entry.
      await settle(record, deps, 'superseded', { reason: 'The blob was overwritten while it was being processed' });
      deps.logger.log('warn', 'file.superseded', fields);
      return { outcome: 'failed', reason: 'overwritten during processing' };
    }
    if (isSyncError(error) && error.code === 'storage.notFound') {
      await settle(record, deps, 'failed', { reason: 'The blob was deleted while it was being processed', errorCode: error.code });
      deps.logger.log('error', 'file.vanished', fields);
      return { outcome: 'failed', reason: 'deleted during processing' };
    }
    const attempts = record.value.attempts;
    if (attempts >= (deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS) || (isSyncError(error) && error.disposition === 'fatal')) {
      const reason = isSyncError(error) ? error.message : 'An unexpected error kept stopping this file';
      await settle(record, deps, 'failed', { reason, errorCode: isSyncError(error) ? error.code : 'unexpected' });
      deps.logger.log('error', 'file.failed', { ...fields, attempts });
      return { outcome: 'failed', reason };
    }
    // Leave the claim to run out; the next delivery or sweep tries again.
    await deps.ledger.update<BlobVersion>(record, 'claimed', { ...record.value, lease: undefined }).catch(() => undefined);
    deps.logger.log('warn', 'file.retryLater', { ...fields, attempts });
    return { outcome: 'retryLater', reason: isSyncError(error) ? error.message : 'unexpected error' };
  }
}

async function validateAndStage(
  record: LedgerRecord<BlobVersion>,
  info: BlobInfo,
  parsed: { source: string; relativePath: string; fileName: string },
  route: Route,
  deps: IngestDeps,
): Promise<IngestOutcome> {
  const snapshot = await deps.ledger.get<Snapshot>(KIND_SNAPSHOT, route.source);
  const previous = snapshot?.value.files.find((f) => f.fileName === parsed.fileName);
  // The operator's release of a file the shrink guard would refuse (see src/core/csv/README.md).
  const released = info.metadata['arsync_release_shrink'] === 'true';
  const temp = pendingName(route.source, record.key);
  const canonical = new PassThrough();
  const writing = deps.store.write(temp, canonical, { contentType: 'text/csv; charset=utf-8' });
  let summary: ValidationSummary;
  let input: Readable | undefined;
  try {
    input = await deps.store.openRead(info.name, { ifMatch: info.etag, signal: deps.signal });
    summary = await validateCsv(
      input,
      {
        fileName: parsed.fileName,
        schema: route.schema,
        headerAliases: route.headerAliases,
        delimiter: route.delimiter,
        policy: route.policy,
        shrinkGuard: {
          maxDropRatio: route.shrinkGuardRatio,
          ...(previous ? { previous: { rows: previous.rows, distinctPrincipals: previous.distinctPrincipals } } : {}),
          released,
        },
        declaredSize: info.size,
        maxFileBytes: route.maxFileBytes,
        contentType: info.contentType,
        signal: deps.signal,
      },
      canonical,
    );
    if (!canonical.writableEnded) canonical.end();
    await writing;
  } catch (error) {
    canonical.destroy();
    await writing.catch(() => undefined);
    await deps.store.delete(temp).catch(() => undefined);
    throw error;
  }

  try {
    return await settleValidated(record, info, parsed, route, deps, summary, temp);
  } finally {
    // Whatever happened after validation, the pending canonical file has served its purpose.
    await deps.store.delete(temp).catch(() => undefined);
  }
}

async function settleValidated(
  record: LedgerRecord<BlobVersion>,
  info: BlobInfo,
  parsed: { source: string; relativePath: string; fileName: string },
  route: Route,
  deps: IngestDeps,
  summary: ValidationSummary,
  temp: string,
): Promise<IngestOutcome> {
  if (summary.outcome === 'rejected') {
    const reason = summary.rejection?.message ?? 'The file was refused';
    return quarantine(record, info, deps, route, reason, summary.rejection?.code ?? 'file.rejected', summary);
  }

  // The original is archived before anything joins the snapshot: if the producer overwrites it now, this version is
  // abandoned (superseded) with nothing staged, instead of being staged with no original kept.
  const archived = await deps.store.copy(info.name, receivedArchiveName(route.source, parsed.relativePath, record.value.claimedAt, info.etag), {
    ifMatch: info.etag,
  });
  const uploadName = uploadNameFor(route.source, parsed.fileName, summary.sha256);
  const staged = await deps.store.copy(temp, stagedName(route.source, uploadName), {
    metadata: { arsync_sha256: summary.sha256, arsync_rows: String(summary.accepted) },
  });
  const file: SnapshotFile = {
    uploadName,
    stagedName: staged.name,
    stagedEtag: staged.etag,
    size: staged.size,
    sha256: summary.sha256,
    rows: summary.accepted,
    distinctPrincipals: summary.distinctPrincipals,
    fileName: parsed.fileName,
    fromBlobKey: record.key,
    stagedAt: deps.clock.now(),
  };
  const joined = await joinSnapshot(route.source, file, deps);
  if (!joined.ok) {
    return quarantine(record, info, deps, route, joined.reason, 'snapshot.full', summary);
  }
  for (const replaced of joined.replaced) await markSuperseded(deps.ledger, replaced.fromBlobKey);

  record = await settle(record, deps, 'staged', {
    sha256: summary.sha256,
    uploadName,
    stagedName: staged.name,
    archivedAs: archived.name,
    rows: summary.rows,
    accepted: summary.accepted,
    rejectedRows: summary.rejected,
  });
  await tidyInboxOrDefer(record, deps);
  deps.logger.log('info', 'file.staged', {
    source: route.source,
    blobRef: blobRef(info.name),
    uploadName,
    rows: summary.accepted,
    rejected: summary.rejected,
    bytes: staged.size,
    sha256: summary.sha256,
  });
  return { outcome: 'staged', source: route.source, file };
}

/** Puts a file into the source's snapshot: replaces the same export file name, refuses an 11th name. */
async function joinSnapshot(
  source: string,
  file: SnapshotFile,
  deps: IngestDeps,
): Promise<{ ok: true; replaced: SnapshotFile[] } | { ok: false; reason: string }> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const current = await deps.ledger.get<Snapshot>(KIND_SNAPSHOT, source);
    const files = current?.value.files ?? [];
    const replaced = files.filter((f) => f.fileName === file.fileName);
    const kept = files.filter((f) => f.fileName !== file.fileName);
    if (kept.length >= MAX_SNAPSHOT_FILES) {
      return { ok: false, reason: `The snapshot of ${source} already holds ${MAX_SNAPSHOT_FILES} files; Graph takes at most ${MAX_SNAPSHOT_FILES} per review` };
    }
    const value: Snapshot = { source, files: [...kept, file], updatedAt: deps.clock.now() };
    try {
      if (current) await deps.ledger.update<Snapshot>(current, 'current', value);
      else if (!(await deps.ledger.create<Snapshot>(KIND_SNAPSHOT, source, 'current', value))) continue;
      return { ok: true, replaced };
    } catch (error) {
      if (!(isSyncError(error) && error.code === 'ledger.conflict')) throw error;
    }
  }
  throw new SyncError('snapshot.contended', 'The snapshot kept changing while this file joined it', 'retry');
}

async function markSuperseded(ledger: Ledger, blobKey: string): Promise<void> {
  const blob = await ledger.get<BlobVersion>(KIND_BLOB, blobKey);
  // An uploaded version stays uploaded: that is its terminal state, whatever replaced it later.
  if (!blob || blob.state !== 'staged') return;
  await ledger.update(blob, 'superseded', blob.value).catch(() => undefined);
}

async function quarantine(
  record: LedgerRecord<BlobVersion>,
  info: BlobInfo,
  deps: IngestDeps,
  route: Route | undefined,
  reason: string,
  code: string,
  summary?: ValidationSummary,
): Promise<IngestOutcome> {
  const parsed = parseInboxName(info.name);
  const source = route?.source ?? parsed?.source ?? '_unrouted';
  const folder = rejectedFolder(source, record.value.claimedAt, info.etag);
  const original = await deps.store.copy(info.name, fitBlobName(folder, parsed?.relativePath ?? info.name.slice('inbox/'.length)), { ifMatch: info.etag });
  const reports = writeReports(summary, { fileName: parsed?.fileName ?? info.name, reason, code });
  await deps.store.write(`${folder}report.json`, Buffer.from(reports.json, 'utf8'), { contentType: 'application/json' });
  await deps.store.write(`${folder}report.csv`, Buffer.from(reports.csv, 'utf8'), { contentType: 'text/csv; charset=utf-8' });
  const settled = await settle(record, deps, 'rejected', {
    rejectedAs: original.name,
    reportName: `${folder}report.json`,
    reason,
    errorCode: code,
    rows: summary?.rows,
    rejectedRows: summary?.rejected,
  });
  await tidyInboxOrDefer(settled, deps);
  deps.logger.log('warn', 'file.rejected', { source, blobRef: blobRef(info.name), code, rows: summary?.rows, issues: summary?.issues.length });
  return { outcome: 'rejected', source: route?.source, reason };
}

async function settle(record: LedgerRecord<BlobVersion>, deps: IngestDeps, state: string, patch: Partial<BlobVersion>): Promise<LedgerRecord<BlobVersion>> {
  const { lease: _lease, ...rest } = record.value;
  return deps.ledger.update<BlobVersion>(record, state, { ...rest, ...patch });
}

/** The version is settled either way; an inbox that could not be emptied now is emptied by the next delivery or sweep. */
async function tidyInboxOrDefer(record: LedgerRecord<BlobVersion>, deps: IngestDeps): Promise<void> {
  try {
    await tidyInbox(record, deps);
  } catch (error) {
    deps.logger.log('warn', 'file.tidyDeferred', { blobRef: blobRef(record.value.name), ...errorLogFields(error) });
  }
}

/** Deletes the inbox original once its copy is known to exist (and only that version). */
async function tidyInbox(record: LedgerRecord<BlobVersion>, deps: IngestDeps): Promise<void> {
  // Superseded: the inbox holds another version now. Failed: the original stays where it is for an operator.
  if (record.state === 'superseded' || record.state === 'failed') return;
  const copy = record.value.archivedAs ?? record.value.rejectedAs;
  if (!copy) return;
  const kept = await deps.store.stat(copy);
  if (!kept || kept.size !== record.value.size) return;
  await deps.store.delete(record.value.name, { ifMatch: record.value.etag });
}
