/**
 * Response helpers shared by every route: Graph's correlation headers and error envelope.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

/** Per-request correlation ids, fixed when the request arrives so that every response path uses the same ones. */
export interface Correlation {
  requestId: string;
  clientRequestId: string;
}

/** Graph echoes the caller's `client-request-id`, or makes one up; `request-id` is always new. */
export function correlationFor(req: IncomingMessage): Correlation {
  const sent = req.headers['client-request-id'];
  const clientRequestId = typeof sent === 'string' && sent.length > 0 ? sent : randomUUID();
  return { requestId: randomUUID(), clientRequestId };
}

/** A failure a route raises; the server renders it as the Graph error envelope. */
export class GraphHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Graph's usual `error.code` for a status, used where no more specific code is known. */
export function defaultCode(status: number): string {
  switch (status) {
    case 400:
      return 'BadRequest';
    case 401:
      return 'InvalidAuthenticationToken';
    case 403:
      return 'Authorization_RequestDenied';
    case 404:
      return 'ResourceNotFound';
    case 405:
      return 'MethodNotAllowed';
    case 409:
      return 'Conflict';
    case 413:
      return 'RequestEntityTooLarge';
    case 415:
      return 'UnsupportedMediaType';
    case 429:
      return 'TooManyRequests';
    case 500:
      return 'InternalServerError';
    case 502:
      return 'BadGateway';
    case 503:
      return 'ServiceUnavailable';
    case 504:
      return 'GatewayTimeout';
    case 507:
      return 'InsufficientStorage';
    default:
      return status >= 500 ? 'UnknownError' : 'BadRequest';
  }
}

function baseHeaders(correlation: Correlation): Record<string, string> {
  return { 'request-id': correlation.requestId, 'client-request-id': correlation.clientRequestId };
}

/** Sends a JSON body with the correlation headers. */
export function sendJson(res: ServerResponse, correlation: Correlation, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...baseHeaders(correlation),
    'content-type': 'application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8',
    'content-length': Buffer.byteLength(text).toString(),
    ...headers,
  });
  res.end(text);
}

/** Sends a response without a body (204 and the like). */
export function sendEmpty(res: ServerResponse, correlation: Correlation, status: number): void {
  res.writeHead(status, baseHeaders(correlation));
  res.end();
}

/** Sends raw bytes (file content). */
export function sendBytes(res: ServerResponse, correlation: Correlation, bytes: Buffer, contentType = 'application/octet-stream'): void {
  res.writeHead(200, { ...baseHeaders(correlation), 'content-type': contentType, 'content-length': bytes.length.toString() });
  res.end(bytes);
}

/** Sends Graph's error envelope. `innerError.date` has no fractional seconds, like Graph's. */
export function sendGraphError(
  res: ServerResponse,
  correlation: Correlation,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(
    res,
    correlation,
    status,
    {
      error: {
        code,
        message,
        innerError: {
          date: new Date().toISOString().replace(/\.\d{3}Z$/, ''),
          'request-id': correlation.requestId,
          'client-request-id': correlation.clientRequestId,
        },
      },
    },
    headers,
  );
}
