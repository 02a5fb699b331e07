/**
 * reviewCallout: HTTP POST from Entra's access review data callout (through a relay such as the Logic App the CDPR
 * points to). Accepts both payload versions, records the review request (idempotent: a repeated callout is a no-op),
 * starts fulfilling it when a snapshot is staged, and answers 202 at once; the sweep finishes what the background
 * work does not.
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { invocationLogger } from '../src/adapters/functionsLogger';
import { getRuntime } from '../src/compose';
import { bearerAppId, parseCallout } from '../src/core/callout';
import { fulfilRequest } from '../src/core/fulfil';
import { errorLogFields } from '../src/core/log';
import { recordReviewRequest } from '../src/core/requests';

function problem(status: number, code: string, message: string): HttpResponseInit {
  return { status, jsonBody: { error: { code, message } } };
}

export async function reviewCallout(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const runtime = await getRuntime();
  const logger = invocationLogger(context);
  const allowed = runtime.config.calloutAllowedAppIds;
  if (allowed.length > 0) {
    const appId = bearerAppId(request.headers.get('authorization'));
    if (!appId || !allowed.includes(appId)) {
      logger.log('warn', 'callout.refused', { reason: 'caller app id not allowed' });
      return problem(403, 'callerNotAllowed', 'The caller is not one of CALLOUT_ALLOWED_APP_IDS');
    }
  }
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return problem(400, 'callout.notJson', 'The callout body must be JSON');
  }
  const parsed = parseCallout(body);
  if (!parsed.ok) {
    logger.log('warn', 'callout.invalid', { code: parsed.code });
    return problem(parsed.status, parsed.code, parsed.message);
  }
  const callout = parsed.callout;
  if (callout.kind === 'applyDecisions') {
    logger.log('info', 'callout.applyDecisions.ignored', { reviewInstanceId: callout.reviewInstanceId });
    return { status: 202, jsonBody: { status: 'ignored', reason: 'Applying decisions is not part of this job' } };
  }
  const route = runtime.config.routes.find((r) => r.catalogId === callout.catalogId && r.resourceId === callout.resourceId);
  if (!route) {
    logger.log('error', 'callout.unrouted', { catalogId: callout.catalogId, resourceId: callout.resourceId, reviewInstanceId: callout.reviewInstanceId });
    return problem(404, 'noRoute', 'No route is configured for this catalog resource');
  }
  const { record, created } = await recordReviewRequest(
    runtime.ledger,
    route,
    { reviewDefinitionId: callout.reviewDefinitionId, reviewInstanceId: callout.reviewInstanceId, origin: 'callout' },
    runtime.clock.now(),
    logger,
  );
  runtime.background(async () => {
    try {
      await fulfilRequest(record.key, runtime.deps(logger, context.invocationId));
    } catch (error) {
      logger.log('error', 'fulfil.crashed', { source: route.source, reviewInstanceId: callout.reviewInstanceId, ...errorLogFields(error) });
    }
  });
  return { status: 202, jsonBody: { status: record.state, created, source: route.source, reviewInstanceId: callout.reviewInstanceId } };
}

app.http('reviewCallout', { methods: ['POST'], authLevel: 'function', route: 'review-callout', handler: reviewCallout });
