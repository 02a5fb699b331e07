/**
 * The sweep (timer; also `accessreview-sync sync`): what the triggers missed, and what time alone changes.
 *
 * 1. Inbox: every blob still in `inbox/` is ingested (a missed trigger, a crash mid-way, a file that predates the
 *    subscription). Versions the ledger already settled are tidied, not processed again.
 * 2. Discovery: `Initializing` instances of catalog reviews covering a routed catalog become review requests, so
 *    the job needs no callout at all.
 * 3. Requests: every pending request (and every one whose worker's lease ran out) is fulfilled.
 * 4. Deadlines: a request with nothing staged and less than the warning time left is warned about once; one past its
 *    deadline fails with a reason.
 * 5. Status: `status/latest.json` and `status/latest.md` say where everything stands.
 *
 * Each step is isolated: a failing step is logged and the others still run.
 */
import type { BlobStore } from './blobStore';
import { errorLogFields } from './log';
import { fulfilRequest, type FulfilDeps, type FulfilOutcome } from './fulfil';
import { ingestBlob, type IngestDeps } from './ingest';
import { INBOX, STAGED, STATUS_JSON, STATUS_MD, pendingName } from './layout';
import type { Ledger } from './ledger';
import { KIND_BLOB, KIND_REQUEST, KIND_SNAPSHOT, recordReviewRequest, type BlobVersion, type ReviewRequest, type Snapshot } from './requests';
import type { Route } from './routes';

export interface SweepDeps extends FulfilDeps, IngestDeps {
  store: BlobStore;
  ledger: Ledger;
  routes: readonly Route[];
  deadlineWarningMinutes: number;
  /** Look for Initializing review instances through Graph (on by default). */
  discover?: boolean;
  /** Report only: no ingest, no request recorded, nothing uploaded. */
  dryRun?: boolean;
}

export interface SweepReport {
  startedAt: string;
  finishedAt: string;
  dryRun: boolean;
  inbox: Record<string, number>;
  discovered: { found: number; recorded: number; error?: string };
  requests: Record<string, number>;
  warnings: string[];
  failedSteps: string[];
  /** Staged blobs deleted because no snapshot or unfinished request needs them any more. */
  tidied?: number;
}

export async function sweep(deps: SweepDeps): Promise<SweepReport> {
  const log = deps.logger;
  const started = deps.clock.now();
  const report: SweepReport = {
    startedAt: new Date(started).toISOString(),
    finishedAt: '',
    dryRun: deps.dryRun === true,
    inbox: {},
    discovered: { found: 0, recorded: 0 },
    requests: {},
    warnings: [],
    failedSteps: [],
  };
  log.log('info', 'sweep.started', { dryRun: deps.dryRun === true });
  const step = async (name: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      report.failedSteps.push(name);
      log.log('error', 'sweep.step.failed', { operation: name, ...errorLogFields(error) });
    }
  };

  await step('inbox', async () => {
    for await (const blob of deps.store.list(INBOX)) {
      if (deps.dryRun) {
        report.inbox.waiting = (report.inbox.waiting ?? 0) + 1;
        continue;
      }
      const result = await ingestBlob(blob.name, deps);
      report.inbox[result.outcome] = (report.inbox[result.outcome] ?? 0) + 1;
    }
  });

  if (deps.discover !== false) {
    await step('discovery', async () => {
      const catalogIds = [...new Set(deps.routes.map((r) => r.catalogId))];
      const instances = await deps.graph.findInitializingInstances(catalogIds);
      report.discovered.found = instances.length;
      for (const instance of instances) {
        for (const route of deps.routes.filter((r) => instance.catalogIds.some((c) => c.toLowerCase() === r.catalogId))) {
          if (deps.dryRun) continue;
          const startedAt = instance.startDateTime ? Date.parse(instance.startDateTime) : undefined;
          const { created } = await recordReviewRequest(
            deps.ledger,
            route,
            { reviewDefinitionId: instance.reviewDefinitionId, reviewInstanceId: instance.reviewInstanceId, origin: 'discovery', startedAt: Number.isNaN(startedAt) ? undefined : startedAt },
            deps.clock.now(),
            log,
          );
          if (created) report.discovered.recorded++;
        }
      }
    });
  }

  await step('requests', async () => {
    const open: { key: string; value: ReviewRequest }[] = [];
    for await (const r of deps.ledger.list<ReviewRequest>(KIND_REQUEST, { states: ['pending', 'uploading'] })) open.push({ key: r.key, value: r.value });
    for (const { key, value } of open) {
      let outcome: FulfilOutcome | 'planned';
      if (deps.dryRun) outcome = 'planned';
      else {
        try {
          outcome = await fulfilRequest(key, deps);
        } catch (error) {
          log.log('error', 'fulfil.crashed', { source: value.source, reviewInstanceId: value.reviewInstanceId, ...errorLogFields(error) });
          outcome = 'retryLater';
        }
      }
      report.requests[outcome] = (report.requests[outcome] ?? 0) + 1;
      if (outcome === 'waitingForData') await warnIfNear(key, deps, report);
    }
  });

  await step('staged', async () => {
    if (deps.dryRun) return;
    report.tidied = await tidyStaged(deps);
  });

  await step('status', async () => {
    report.finishedAt = new Date(deps.clock.now()).toISOString();
    if (!deps.dryRun) await writeStatus(deps, report);
  });
  report.finishedAt = new Date(deps.clock.now()).toISOString();
  log.log(report.failedSteps.length ? 'warn' : 'info', 'sweep.finished', {
    durationMs: deps.clock.now() - started,
    count: Object.values(report.requests).reduce((a, b) => a + b, 0),
    state: report.failedSteps.join(',') || 'ok',
  });
  return report;
}

async function warnIfNear(key: string, deps: SweepDeps, report: SweepReport): Promise<void> {
  const record = await deps.ledger.get<ReviewRequest>(KIND_REQUEST, key);
  if (!record || record.state !== 'pending' || record.value.warnedAt) return;
  const minutesLeft = Math.floor((record.value.deadline - deps.clock.now()) / 60_000);
  if (minutesLeft > deps.deadlineWarningMinutes) return;
  const text = `Review instance ${record.value.reviewInstanceId} needs data from ${record.value.source} within ${minutesLeft} minutes, and none is staged`;
  report.warnings.push(text);
  deps.logger.log('warn', 'review.request.deadlineNear', {
    source: record.value.source,
    reviewInstanceId: record.value.reviewInstanceId,
    minutesLeft,
    deadline: new Date(record.value.deadline).toISOString(),
  });
  await deps.ledger.update(record, record.state, { ...record.value, warnedAt: deps.clock.now() }).catch(() => undefined);
}

/** Finished requests (done or failed) received longer ago than this drop out of the status document. */
export const STATUS_RECENT_MS = 30 * 24 * 60 * 60_000;
/** At most this many finished requests are listed, newest first; open ones are always listed. */
export const STATUS_MAX_FINISHED = 200;

export interface StatusDocument {
  generatedAt: string;
  /** Every request in the ledger, counted by state (also those not listed). */
  counts: Record<string, number>;
  /** Open requests, then finished ones from the last {@link STATUS_RECENT_MS}, newest first. */
  requests: (ReviewRequest & { state: string })[];
  /** Finished requests left out of `requests` (older, or past {@link STATUS_MAX_FINISHED}); the ledger keeps them. */
  finishedNotListed: number;
  snapshots: Snapshot[];
  routes: { source: string; catalogId: string; resourceId: string }[];
}

/**
 * Builds the status document from the ledger: requests by state, snapshots per source. A status read every sweep
 * must not grow with years of history, so finished requests are listed for a recent window only (`all` lists every
 * one, for the CLI).
 */
export async function collectStatus(deps: Pick<SweepDeps, 'ledger' | 'routes' | 'clock'>, options: { all?: boolean } = {}): Promise<StatusDocument> {
  const now = deps.clock.now();
  const open: (ReviewRequest & { state: string })[] = [];
  const finished: (ReviewRequest & { state: string })[] = [];
  const counts: Record<string, number> = {};
  for await (const r of deps.ledger.list<ReviewRequest>(KIND_REQUEST)) {
    counts[r.state] = (counts[r.state] ?? 0) + 1;
    const { lease: _lease, ...value } = r.value;
    const entry = { ...value, state: r.state };
    if (r.state === 'done' || r.state === 'failed') finished.push(entry);
    else open.push(entry);
  }
  const newestFirst = (a: ReviewRequest, b: ReviewRequest): number => b.receivedAt - a.receivedAt;
  finished.sort(newestFirst);
  const listed = options.all ? finished : finished.filter((r) => now - r.receivedAt <= STATUS_RECENT_MS).slice(0, STATUS_MAX_FINISHED);
  const snapshots: Snapshot[] = [];
  for await (const s of deps.ledger.list<Snapshot>(KIND_SNAPSHOT)) snapshots.push(s.value);
  return {
    generatedAt: new Date(now).toISOString(),
    counts,
    requests: [...open.sort(newestFirst), ...listed],
    finishedNotListed: finished.length - listed.length,
    snapshots,
    routes: deps.routes.map((r) => ({ source: r.source, catalogId: r.catalogId, resourceId: r.resourceId })),
  };
}

async function writeStatus(deps: SweepDeps, report: SweepReport): Promise<void> {
  const status = { ...(await collectStatus(deps)), lastSweep: report };
  await deps.store.write(STATUS_JSON, Buffer.from(`${JSON.stringify(status, null, 2)}\n`), { contentType: 'application/json' });
  const lines = [
    `# accessreview-upload-sync status`,
    '',
    `Generated ${status.generatedAt}. Last sweep: ${report.failedSteps.length ? `steps failed: ${report.failedSteps.join(', ')}` : 'all steps ran'}.`,
    '',
    '## Review requests',
    '',
    `By state: ${Object.entries(status.counts).map(([state, n]) => `${state} ${n}`).join(', ') || 'none yet'}.${
      status.finishedNotListed > 0 ? ` ${status.finishedNotListed} finished requests older than ${STATUS_RECENT_MS / 86_400_000} days (or past the newest ${STATUS_MAX_FINISHED}) are not listed; \`accessreview-sync status --all\` lists them.` : ''
    }`,
    '',
    '| source | review instance | state | deadline | session | reason |',
    '|---|---|---|---|---|---|',
    ...status.requests.map(
      (r) => `| ${r.source} | ${r.reviewInstanceId} | ${r.state} | ${new Date(r.deadline).toISOString()} | ${r.sessionId ?? ''} | ${(r.reason ?? '').replace(/\|/g, '/')} |`,
    ),
    '',
    '## Snapshots',
    '',
    '| source | files | rows | last staged |',
    '|---|---|---|---|',
    ...status.snapshots.map(
      (s) => `| ${s.source} | ${s.files.length} | ${s.files.reduce((n, f) => n + f.rows, 0)} | ${new Date(Math.max(0, ...s.files.map((f) => f.stagedAt))).toISOString()} |`,
    ),
    '',
    ...(report.warnings.length ? ['## Warnings', '', ...report.warnings.map((w) => `- ${w}`), ''] : []),
  ];
  await deps.store.write(STATUS_MD, Buffer.from(`${lines.join('\n')}\n`), { contentType: 'text/markdown; charset=utf-8' });
}

/**
 * A `_pending` canonical file this young is left alone even when no claim accounts for it: a worker may have claimed
 * its blob version after the ledger was read (the ingest lease is as long).
 */
const PENDING_GRACE_MS = 10 * 60_000;

/**
 * Keeps `staged/` to what is still needed: the files of every source's snapshot and of every unfinished request's
 * frozen plan, and the pending canonical file of every blob version still being ingested. Superseded versions go
 * (their originals stay in `archive/{source}/_received/`, and what each review received stays in its archive folder),
 * and so do pending files whose version has settled or whose worker died (a retry writes its own again).
 */
async function tidyStaged(deps: SweepDeps): Promise<number> {
  const keep = new Set<string>();
  for await (const s of deps.ledger.list<Snapshot>(KIND_SNAPSHOT)) for (const f of s.value.files) keep.add(f.stagedName);
  for await (const r of deps.ledger.list<ReviewRequest>(KIND_REQUEST, { states: ['pending', 'uploading'] })) for (const f of r.value.plan ?? []) keep.add(f.stagedName);
  const now = deps.clock.now();
  for await (const b of deps.ledger.list<BlobVersion>(KIND_BLOB, { states: ['claimed'] })) {
    if (b.value.source && b.value.lease && b.value.lease.until > now) keep.add(pendingName(b.value.source, b.key));
  }
  let deleted = 0;
  for await (const blob of deps.store.list(STAGED)) {
    if (keep.has(blob.name)) continue;
    const pending = blob.name.includes('/_pending/');
    if (pending && now - blob.lastModified < PENDING_GRACE_MS) continue;
    // Only the version we looked at: a file staged a moment ago under the same name is not ours to delete.
    if (await deps.store.delete(blob.name, { ifMatch: blob.etag }).catch(() => false)) deleted++;
  }
  if (deleted > 0) deps.logger.log('info', 'staged.tidied', { count: deleted });
  return deleted;
}
