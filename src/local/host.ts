/**
 * A small stand-in for the Azure Functions host, for `npm start` (the real host cannot be installed here). It calls
 * the exported handlers of functions/ the way the host would:
 * - blob trigger: polls `inbox/` and invokes `ingest` once per new blob version, retrying a failed invocation up
 *   to the host's poison threshold (5);
 * - HTTP trigger: serves `POST /api/review-callout` on loopback and invokes `reviewCallout`;
 * - timer: invokes `sweep` on an interval.
 */
import { HttpRequest, InvocationContext, type HttpResponseInit, type Timer } from '@azure/functions';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Runtime } from '../compose';
import { errorLogFields } from '../core/log';
import type { LogFields, LogLevel, Logger } from '../core/ports';

export interface Handlers {
  ingest(blob: unknown, context: InvocationContext): Promise<void>;
  reviewCallout(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit>;
  sweep(timer: Timer, context: InvocationContext): Promise<unknown>;
}

export interface LocalHostOptions {
  runtime: Runtime;
  handlers: Handlers;
  logger: Logger;
  container: string;
  pollMs?: number;
  sweepMs?: number;
  calloutPort?: number;
}

const POISON_THRESHOLD = 5;

const LEVELS: Record<string, LogLevel> = { trace: 'debug', debug: 'debug', information: 'info', warning: 'warn', error: 'error', critical: 'error' };

/**
 * An InvocationContext whose log lines (`event {json}`, as functionsLogger writes them) go to `logger`, the way the
 * real host would send them to Application Insights.
 */
function context(functionName: string, logger: Logger, triggerMetadata: Record<string, unknown> = {}): InvocationContext {
  return new InvocationContext({
    invocationId: randomUUID(),
    functionName,
    triggerMetadata,
    logHandler: (level, ...args) => {
      const line = args.map(String).join(' ');
      const space = line.indexOf(' ');
      let fields: LogFields;
      try {
        fields = space > 0 ? (JSON.parse(line.slice(space + 1)) as LogFields) : {};
      } catch {
        fields = {};
      }
      logger.log(LEVELS[level] ?? 'info', space > 0 ? line.slice(0, space) : line, fields);
    },
  });
}

export class LocalHost {
  private readonly delivered = new Map<string, number>();
  private timers: NodeJS.Timeout[] = [];
  private server: http.Server | undefined;
  private busy = Promise.resolve();
  calloutUrl = '';

  constructor(private readonly options: LocalHostOptions) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.calloutPort ?? 0, '127.0.0.1', () => resolve());
    });
    const port = (this.server.address() as AddressInfo).port;
    this.calloutUrl = `http://127.0.0.1:${port}/api/review-callout`;
    this.timers.push(setInterval(() => void this.serially(() => this.pollInbox()), this.options.pollMs ?? 2000));
    this.timers.push(setInterval(() => void this.serially(() => this.runSweep()), this.options.sweepMs ?? 60_000));
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.busy;
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Runs polling and sweeps one at a time, as a single-instance host would. */
  serially(work: () => Promise<void>): Promise<void> {
    // A failed round is logged and the chain goes on: the next poll or sweep tries again.
    this.busy = this.busy.then(work).catch((error: unknown) => this.options.logger.log('error', 'host.round.failed', errorLogFields(error)));
    return this.busy;
  }

  async pollInbox(): Promise<void> {
    for await (const blob of this.options.runtime.store.list('inbox/')) {
      const key = `${blob.name}\n${blob.etag}`;
      const tries = this.delivered.get(key) ?? 0;
      if (tries < 0 || tries >= POISON_THRESHOLD) continue;
      try {
        await this.options.handlers.ingest(Buffer.alloc(0), context('ingest', this.options.logger, { blobTrigger: `${this.options.container}/${blob.name}`, name: blob.name }));
        this.delivered.set(key, -1);
      } catch (error) {
        this.delivered.set(key, tries + 1);
        if (tries + 1 >= POISON_THRESHOLD) this.options.logger.log('error', 'host.poison', { attempts: tries + 1, ...errorLogFields(error) });
      }
    }
  }

  async runSweep(): Promise<void> {
    const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };
    try {
      await this.options.handlers.sweep(timer, context('sweep', this.options.logger));
    } catch (error) {
      this.options.logger.log('error', 'host.sweep.failed', errorLogFields(error));
    }
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== '/api/review-callout') {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
    const request = new HttpRequest({ method: 'POST', url: `http://127.0.0.1${req.url ?? ''}`, headers, body: { string: Buffer.concat(chunks).toString('utf8') } });
    try {
      const response = await this.options.handlers.reviewCallout(request, context('reviewCallout', this.options.logger));
      res.writeHead(response.status ?? 200, { 'content-type': 'application/json' }).end(response.jsonBody === undefined ? '' : JSON.stringify(response.jsonBody));
    } catch (error) {
      this.options.logger.log('error', 'host.callout.failed', errorLogFields(error));
      res.writeHead(500).end();
    }
  }
}
