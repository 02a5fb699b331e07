/**
 * Reads a request body once, streaming: multipart through busboy (size and SHA-256 computed on the fly, content kept
 * only up to a bound), JSON and form bodies buffered up to a small cap, anything else counted and dropped. It also
 * carries out the body-level faults: a connection reset after N bytes, and the upload size limit (413).
 */
import type { IncomingMessage } from 'node:http';
import { createHash } from 'node:crypto';
import busboy from 'busboy';
import type { RecordedPart } from './types';

/** A multipart part with its content when it was small enough to keep. */
export interface ReceivedPart extends RecordedPart {
  content?: Buffer;
}

export type BodyResult =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown }
  | { kind: 'invalidJson' }
  | { kind: 'form'; params: URLSearchParams }
  | { kind: 'multipart'; boundary: string; parts: ReceivedPart[]; error?: string }
  | { kind: 'other'; contentType: string; size: number }
  | { kind: 'tooLarge'; size: number }
  /** The socket was destroyed (by a reset fault) or the client went away: nothing may be committed. */
  | { kind: 'reset' };

export interface BodyOptions {
  /** Keep a file part's bytes in memory up to this size. */
  keepContentBytes: number;
  /** Multipart bodies above this many bytes give `tooLarge` (the rest is drained, not parsed). */
  maxUploadBytes: number | null;
  /** JSON and form bodies above this size give `tooLarge`. */
  maxSmallBodyBytes: number;
  /** Destroy the socket once this many body bytes were read (a `reset` fault). */
  resetAfterBytes?: number;
}

/** The boundary parameter of a multipart Content-Type, if any. */
export function boundaryOf(contentType: string): string | undefined {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

/** Reads and classifies the body of `req`. Never rejects. */
export function readBody(req: IncomingMessage, options: BodyOptions): Promise<BodyResult> {
  return new Promise<BodyResult>((resolve) => {
    const contentType = req.headers['content-type'] ?? '';
    const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
    const isMultipart = mediaType === 'multipart/form-data';
    const limit = isMultipart ? options.maxUploadBytes : options.maxSmallBodyBytes;
    let total = 0;
    let settled = false;
    let tooLarge = false;
    const chunks: Buffer[] = [];
    const parts: ReceivedPart[] = [];
    let multipartError: string | undefined;
    let parser: busboy.Busboy | undefined;
    let parserClosed = false;
    let requestEnded = false;

    const settle = (result: BodyResult) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const reset = () => {
      req.socket.destroy();
      settle({ kind: 'reset' });
    };

    if (options.resetAfterBytes !== undefined && options.resetAfterBytes <= 0) {
      reset();
      return;
    }

    const finishIfDone = () => {
      if (!requestEnded || settled) return;
      if (options.resetAfterBytes !== undefined) return reset(); // the body ended before the threshold: reset anyway, uncommitted
      if (tooLarge) return settle({ kind: 'tooLarge', size: total });
      if (isMultipart) {
        if (parser && !parserClosed && multipartError === undefined) return; // wait for busboy to finish its file streams
        const multipart: BodyResult = { kind: 'multipart', boundary: boundaryOf(contentType) ?? '', parts };
        if (multipartError !== undefined) multipart.error = multipartError;
        return settle(multipart);
      }
      if (total === 0) return settle({ kind: 'none' });
      const bytes = Buffer.concat(chunks);
      if (mediaType === 'application/json' || mediaType.endsWith('+json')) {
        try {
          return settle({ kind: 'json', value: JSON.parse(bytes.toString('utf8')) as unknown });
        } catch {
          return settle({ kind: 'invalidJson' });
        }
      }
      if (mediaType === 'application/x-www-form-urlencoded') return settle({ kind: 'form', params: new URLSearchParams(bytes.toString('utf8')) });
      return settle({ kind: 'other', contentType, size: total });
    };

    if (isMultipart) {
      try {
        // defParamCharset utf8: filenames are UTF-8 in practice (busboy's default would read them as latin1).
        parser = busboy({ headers: req.headers, preservePath: true, defParamCharset: 'utf8' });
      } catch (error) {
        multipartError = error instanceof Error ? error.message : 'malformed multipart body';
      }
      if (parser) {
        const bb = parser;
        bb.on('file', (name, stream, info) => {
          const part: ReceivedPart = { name, filename: info.filename ?? '', contentType: info.mimeType, size: 0, sha256: '' };
          parts.push(part); // pushed now so that parts keep their order in the body
          const hash = createHash('sha256');
          let kept: Buffer[] | undefined = [];
          stream.on('data', (chunk: Buffer) => {
            hash.update(chunk);
            part.size += chunk.length;
            if (kept && part.size <= options.keepContentBytes) kept.push(chunk);
            else kept = undefined; // over the bound: stop keeping bytes, keep hashing
          });
          stream.on('error', (error: unknown) => {
            // busboy fails the open file stream on a truncated body; the parser's own error settles the read.
            multipartError ??= error instanceof Error ? error.message : 'malformed multipart body';
          });
          stream.on('end', () => {
            part.sha256 = hash.digest('hex');
            if (kept) part.content = Buffer.concat(kept);
          });
        });
        bb.on('field', (name, value, info) => {
          const bytes = Buffer.from(value, 'utf8');
          parts.push({ name, filename: null, contentType: info.mimeType, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
        });
        bb.on('close', () => {
          parserClosed = true;
          finishIfDone();
        });
        bb.on('error', (error: unknown) => {
          multipartError = error instanceof Error ? error.message : 'malformed multipart body';
          req.unpipe(bb);
          req.resume();
          finishIfDone();
        });
        req.pipe(bb);
      }
    }

    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      total += chunk.length;
      if (options.resetAfterBytes !== undefined && total >= options.resetAfterBytes) return reset();
      if (limit !== null && total > limit && !tooLarge) {
        tooLarge = true;
        // Stop parsing; the rest is drained so the client can read the 413 on an intact connection.
        if (parser) req.unpipe(parser);
        req.resume(); // unpipe pauses the request when no pipe is left; keep draining
        chunks.length = 0;
      }
      if (!isMultipart && !tooLarge) chunks.push(chunk);
    });
    req.on('end', () => {
      requestEnded = true;
      finishIfDone();
    });
    req.on('aborted', () => settle({ kind: 'reset' }));
    req.on('error', () => settle({ kind: 'reset' }));
    req.on('close', () => {
      if (!requestEnded) settle({ kind: 'reset' });
    });
  });
}
