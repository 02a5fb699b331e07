/**
 * The job's CLI commands over the same composition as the functions: `sync`, `status`, `upload`, `routes discover`.
 * Each returns an exit code: 0 success, 1 the work did not succeed (a failed request, a failed step), 2 usage,
 * configuration or I/O error.
 */
import { parseArgs } from 'node:util';
import type { Runtime } from '../compose';
import { isSyncError } from '../core/errors';
import { fulfilRequest } from '../core/fulfil';
import { createJsonLineLogger } from '../core/log';
import type { Logger } from '../core/ports';
import { KIND_REQUEST, KIND_SNAPSHOT, recordReviewRequest, type ReviewRequest, type Snapshot } from '../core/requests';
import { collectStatus, sweep } from '../core/sweep';

export interface CommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Builds the runtime lazily, so that `--help` works without configuration. */
  runtime: () => Promise<Runtime>;
}

function logger(io: CommandIo, verbose: boolean): Logger {
  return createJsonLineLogger({ sink: (line) => io.err(`${line}\n`), minLevel: verbose ? 'debug' : 'warn' });
}

export const JOB_USAGE = `  sync [--dry-run] [--no-discover] [--verbose]
                       one sweep: ingest what waits in inbox/, discover Initializing reviews, fulfil pending requests
  status [--json] [--all] [--no-graph]
                       review requests, snapshots, and each request's upload session as Graph reports it
  upload --instance <id> [--definition <id>] [--source <name>] [--retry] [--dry-run]
                       record a review request by hand and fulfil it now, with progress; --retry starts a failed
                       request again (after its cause is fixed, while its window is open)
  routes discover --catalog <id>
                       list the catalog's custom data provided resources and print a route skeleton to paste
`;

export async function syncCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({ args, options: { 'dry-run': { type: 'boolean' }, 'no-discover': { type: 'boolean' }, verbose: { type: 'boolean' } } });
  const runtime = await io.runtime();
  const report = await sweep({ ...runtime.deps(logger(io, values.verbose === true), 'cli'), discover: values['no-discover'] !== true, dryRun: values['dry-run'] === true });
  io.out(`${JSON.stringify(report, null, 2)}\n`);
  return report.failedSteps.length > 0 || (report.requests.failed ?? 0) > 0 ? 1 : 0;
}

export async function statusCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' }, 'no-graph': { type: 'boolean' }, all: { type: 'boolean' } } });
  const runtime = await io.runtime();
  const status = await collectStatus({ ledger: runtime.ledger, routes: runtime.config.routes, clock: runtime.clock }, { all: values.all === true });
  const sessions: Record<string, unknown> = {};
  if (values['no-graph'] !== true) {
    for (const r of status.requests.filter((x) => x.sessionId)) {
      try {
        const s = await runtime.graph.getUploadSession({ catalogId: r.catalogId, resourceId: r.resourceId, source: r.source }, r.sessionId!);
        sessions[r.reviewInstanceId] = { id: s.id, status: s.status, isUploadDone: s.isUploadDone, files: s.files };
      } catch (error) {
        sessions[r.reviewInstanceId] = { error: isSyncError(error) ? error.message : 'unreadable' };
      }
    }
  }
  if (values.json) {
    io.out(`${JSON.stringify({ ...status, sessions }, null, 2)}\n`);
    return 0;
  }
  io.out(`Routes: ${status.routes.map((r) => r.source).join(', ') || 'none'}\n\nReview requests:\n`);
  if (status.requests.length === 0) io.out('  none yet\n');
  if (status.finishedNotListed > 0) io.out(`  (${status.finishedNotListed} older finished requests not listed; --all lists them)\n`);
  for (const r of status.requests) {
    io.out(`  ${r.reviewInstanceId}  ${r.source}  ${r.state.padEnd(9)} deadline ${new Date(r.deadline).toISOString()}${r.reason ? `  (${r.reason})` : ''}\n`);
    const s = sessions[r.reviewInstanceId] as { status?: string; files?: { name: string; size: number }[]; error?: string } | undefined;
    if (s?.error) io.out(`      session: ${s.error}\n`);
    else if (s) io.out(`      session ${r.sessionId}: ${s.status}, files: ${(s.files ?? []).map((f) => `${f.name} (${f.size} B)`).join(', ') || 'none'}\n`);
  }
  io.out('\nSnapshots:\n');
  if (status.snapshots.length === 0) io.out('  none yet\n');
  for (const s of status.snapshots) {
    io.out(`  ${s.source}: ${s.files.length} file(s), ${s.files.reduce((n, f) => n + f.rows, 0)} rows\n`);
    for (const f of s.files) io.out(`      ${f.uploadName}  ${f.size} B  ${f.rows} rows  staged ${new Date(f.stagedAt).toISOString()}\n`);
  }
  return 0;
}

export async function uploadCommand(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      instance: { type: 'string' },
      definition: { type: 'string' },
      source: { type: 'string' },
      retry: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      verbose: { type: 'boolean' },
    },
  });
  if (!values.instance) {
    io.err('upload needs --instance <review instance id>\n');
    return 2;
  }
  const runtime = await io.runtime();
  const routes = values.source ? runtime.config.routes.filter((r) => r.source === values.source) : runtime.config.routes;
  if (routes.length === 0) {
    io.err(`No route has the source ${values.source}\n`);
    return 2;
  }
  let definitionId = values.definition;
  let startedAt: number | undefined;
  if (!definitionId) {
    const found = (await runtime.graph.findInitializingInstances([...new Set(routes.map((r) => r.catalogId))])).find(
      (i) => i.reviewInstanceId.toLowerCase() === values.instance!.toLowerCase(),
    );
    if (!found) {
      io.err('That instance is not an Initializing instance of a review covering a routed catalog; pass --definition to record it anyway\n');
      return 1;
    }
    definitionId = found.reviewDefinitionId;
    startedAt = found.startDateTime ? Date.parse(found.startDateTime) : undefined;
  }
  const log = logger(io, values.verbose === true);
  let failed = 0;
  for (const route of routes) {
    if (values['dry-run']) {
      const snapshot = await runtime.ledger.get<Snapshot>(KIND_SNAPSHOT, route.source);
      io.out(`dry run: ${route.source} would upload ${snapshot?.value.files.length ?? 0} file(s) to review instance ${values.instance}\n`);
      continue;
    }
    let { record } = await recordReviewRequest(runtime.ledger, route, { reviewDefinitionId: definitionId, reviewInstanceId: values.instance, origin: 'cli', startedAt }, runtime.clock.now(), log);
    if (record.state === 'failed') {
      if (!values.retry) {
        io.out(`${route.source}: failed earlier (${record.value.reason ?? 'no reason recorded'}); pass --retry to start it again\n`);
        failed++;
        continue;
      }
      // Back to pending with its session and plan: fulfil adopts the session and sends only what is missing.
      const { reason: _reason, errorCode: _code, lease: _lease, ...rest } = record.value;
      record = await runtime.ledger.update<ReviewRequest>(record, 'pending', rest);
      log.log('warn', 'review.request.retried', { source: route.source, reviewInstanceId: rest.reviewInstanceId });
    }
    let lastPercent = -1;
    const outcome = await fulfilRequest(record.key, {
      ...runtime.deps(log, 'cli'),
      onProgress: (p) => {
        const percent = p.size === 0 ? 100 : Math.floor((p.bytesSent / p.size) * 100);
        if (percent >= lastPercent + 5 || percent === 100) {
          lastPercent = percent;
          io.err(`  ${p.name}: ${percent}% (${p.bytesSent} of ${p.size} bytes)\n`);
        }
      },
    });
    const after = await runtime.ledger.get<ReviewRequest>(KIND_REQUEST, record.key);
    io.out(`${route.source}: ${outcome}${after?.value.reason ? ` (${after.value.reason})` : ''}${after?.value.sessionId ? ` session ${after.value.sessionId}` : ''}\n`);
    if (outcome === 'failed' || outcome === 'retryLater') failed++;
  }
  return failed > 0 ? 1 : 0;
}

export async function routesCommand(args: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'discover') {
    io.err('Usage: accessreview-sync routes discover --catalog <id>\n');
    return 2;
  }
  const { values } = parseArgs({ args: rest, options: { catalog: { type: 'string' } } });
  if (!values.catalog) {
    io.err('routes discover needs --catalog <catalog id>\n');
    return 2;
  }
  const runtime = await io.runtime();
  const resources = await runtime.graph.listCustomDataResources(values.catalog);
  if (resources.length === 0) {
    io.err('The catalog has no custom data provided resources\n');
    return 1;
  }
  const skeleton = resources.map((r) => ({
    source: r.displayName,
    catalogId: r.catalogId,
    resourceId: r.id,
    schema: runtime.config.graph.shape === 'beta-2025' ? 'legacy-2025' : 'graph-v1',
    headerAliases: {},
    policy: { mode: 'strict' },
  }));
  io.out(`${JSON.stringify(skeleton, null, 2)}\n`);
  return 0;
}
