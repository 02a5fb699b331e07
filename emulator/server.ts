/**
 * The request pipeline: record the request, pick faults, read the body (streaming), apply latency, throttling and
 * status faults, run the route, and then send its reply, or replace it (commit-then-fail) or drop the connection
 * (reset after commit).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from './body';
import type { TokenService } from './auth';
import { handleEntra } from './entra';
import { RetryAfterMemory, renderRetryAfter, retryAfterInstant, type FaultTable } from './faults';
import { handleGraph } from './graph';
import { GraphHttpError, correlationFor, defaultCode, sendBytes, sendGraphError, sendJson, type Correlation } from './http';
import type { RequestRecorder } from './recorder';
import type { Reply } from './reply';
import type { EmulatorStore } from './state';

/** Prefix of the admin API; Graph never uses it. */
export const ADMIN_PREFIX = '/_emulator/';

/** JSON and form bodies are small; anything larger is refused rather than buffered. */
const MAX_SMALL_BODY_BYTES = 4 * 1024 * 1024;

export interface PipelineDeps {
  store: EmulatorStore;
  tokens: TokenService;
  faults: FaultTable;
  retryAfter: RetryAfterMemory;
  recorder: RequestRecorder;
  /** Handles `/_emulator/…`; gets the path after the prefix. */
  admin: (method: string, subpath: string, url: URL, req: IncomingMessage) => Promise<Reply>;
  /** Set once the server listens. */
  origin: string;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Writes a reply and, for a 429 with Retry-After, remembers until when the caller should wait. */
function writeReply(res: ServerResponse, correlation: Correlation, reply: Reply, onThrottled?: (retryAfter: string) => void): void {
  const headers = reply.headers ?? {};
  switch (reply.body.kind) {
    case 'json':
      sendJson(res, correlation, reply.status, reply.body.value, headers);
      break;
    case 'bytes':
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
      sendBytes(res, correlation, reply.body.value, reply.body.contentType);
      break;
    case 'error':
      sendGraphError(res, correlation, reply.status, reply.body.code, reply.body.message, headers);
      break;
    case 'none':
      res.writeHead(reply.status, { 'request-id': correlation.requestId, 'client-request-id': correlation.clientRequestId, ...headers });
      res.end();
      break;
  }
  const retryAfter = headers['retry-after'];
  if (reply.status === 429 && retryAfter !== undefined) onThrottled?.(retryAfter);
}

function errorReply(error: unknown): Reply {
  if (error instanceof GraphHttpError) return { status: error.status, body: { kind: 'error', code: error.code, message: error.message }, headers: error.headers };
  console.error('graph emulator: unexpected error', error);
  return { status: 500, body: { kind: 'error', code: 'InternalServerError', message: 'The emulator failed unexpectedly.' } };
}

/** Builds the `request` listener of the HTTPS server. */
export function createPipeline(deps: PipelineDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(req, res, deps).catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) writeReply(res, correlationFor(req), errorReply(error));
    });
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, deps: PipelineDeps): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://emulator.invalid');
  const method = (req.method ?? 'GET').toUpperCase();
  const correlation = correlationFor(req);

  if (url.pathname.startsWith(ADMIN_PREFIX)) {
    let reply: Reply;
    try {
      reply = await deps.admin(method, url.pathname.slice(ADMIN_PREFIX.length), url, req);
    } catch (error) {
      reply = error instanceof GraphHttpError ? errorReply(error) : { status: 400, body: { kind: 'error', code: 'BadRequest', message: error instanceof Error ? error.message : String(error) } };
    }
    writeReply(res, correlation, reply);
    return;
  }

  const realNow = Date.now();
  const { store, faults, recorder } = deps;
  const record = recorder.start(req, url, store.clock.now(), realNow);
  const earlyUntil = deps.retryAfter.earlyUntil(method, url.pathname, realNow);
  if (earlyUntil !== undefined) record.early = true;
  const remember = (retryAfter: string) => {
    const now = Date.now();
    const instant = retryAfterInstant(retryAfter, now);
    if (instant !== undefined) deps.retryAfter.remember(method, url.pathname, instant);
  };

  // The status is recorded as the reply is written (not on 'finish'), so that a client that has read the answer
  // always finds it in the log.
  const send = (reply: Reply) => {
    record.status = reply.status;
    writeReply(res, correlation, reply, remember);
  };

  const { latency, fault } = faults.pick(method, url.pathname);
  if (fault) record.fault = fault.kind;
  else if (latency) record.fault = 'latency';

  const bodyOptions: Parameters<typeof readBody>[1] = {
    keepContentBytes: store.behaviour.keepContentBytes,
    maxUploadBytes: store.behaviour.maxUploadBytes,
    maxSmallBodyBytes: MAX_SMALL_BODY_BYTES,
  };
  if (fault?.kind === 'reset') bodyOptions.resetAfterBytes = fault.afterBytes ?? 0;
  const body = await readBody(req, bodyOptions);
  if (body.kind === 'json') record.json = body.value;
  if (body.kind === 'multipart') record.multipart = { boundary: body.boundary, parts: body.parts.map(({ content: _content, ...facts }) => facts) };
  if (body.kind === 'reset') {
    req.socket.destroy();
    return; // nothing committed; the record keeps status 0
  }
  if (latency?.latencyMs) await delay(latency.latencyMs);

  if (earlyUntil !== undefined && store.behaviour.rejectEarlyRetries) {
    const seconds = Math.max(1, Math.ceil((earlyUntil - Date.now()) / 1000));
    send({ status: 429, body: { kind: 'error', code: 'TooManyRequests', message: 'Retried before Retry-After elapsed.' }, headers: { 'retry-after': String(seconds) } });
    return;
  }

  if (fault?.kind === 'status' || fault?.kind === 'throttle') {
    const status = fault.status ?? (fault.kind === 'throttle' ? 429 : 500);
    const headers: Record<string, string> = {};
    const retryAfter = fault.retryAfter ?? (fault.kind === 'throttle' ? '1' : undefined);
    if (retryAfter !== undefined) headers['retry-after'] = renderRetryAfter(retryAfter, Date.now());
    const message = status === 429 ? 'Too many requests. Retry after the time given in the Retry-After header.' : 'Injected fault.';
    send({ status, body: { kind: 'error', code: defaultCode(status), message }, headers });
    return;
  }

  let reply: Reply;
  if (body.kind === 'tooLarge') {
    reply = { status: 413, body: { kind: 'error', code: 'RequestEntityTooLarge', message: 'The request body is larger than the emulator accepts.' } };
  } else {
    try {
      store.evaluate();
      const segment = url.pathname.split('/')[1] ?? '';
      if (segment === 'v1.0' || segment === 'beta') {
        reply = await handleGraph({ method, url, body, authorization: req.headers.authorization }, { store, tokens: deps.tokens, origin: deps.origin });
      } else {
        reply = (await handleEntra(method, url.pathname, body, deps.tokens, deps.origin)) ?? errorReply(new GraphHttpError(400, 'BadRequest', `Invalid version: ${segment}`));
      }
    } catch (error) {
      reply = errorReply(error);
    }
  }

  if (fault?.kind === 'resetAfterCommit') {
    req.socket.destroy();
    return;
  }
  if (fault?.kind === 'commitThenFail') {
    const status = fault.status ?? 503;
    const headers: Record<string, string> = fault.retryAfter === undefined ? {} : { 'retry-after': renderRetryAfter(fault.retryAfter, Date.now()) };
    send({ status, body: { kind: 'error', code: defaultCode(status), message: 'Injected fault after the change was committed.' }, headers });
    return;
  }
  send(reply);
}
