/**
 * The admin surface: the in-process {@link EmulatorAdmin} and its HTTP mirror under `/_emulator/`.
 * Both call the same code, so a test can drive the emulator either way.
 */
import type { IncomingMessage } from 'node:http';
import { readBody } from './body';
import type { FaultTable, RetryAfterMemory } from './faults';
import { GraphHttpError } from './http';
import type { RequestRecorder } from './recorder';
import { emptyReply, jsonReply, type Reply } from './reply';
import { DEFAULT_BEHAVIOUR, type EmulatorStore } from './state';
import type { EmulatorAdmin, EmulatorBehaviour, FaultRule, SeedData } from './types';

function checkBehaviour(partial: Partial<EmulatorBehaviour>): void {
  for (const key of Object.keys(partial)) {
    if (!(key in DEFAULT_BEHAVIOUR)) throw new Error(`Unknown behaviour setting '${key}'.`);
  }
  if (partial.sameNameUpload !== undefined && !['add', 'replace', 'reject'].includes(partial.sameNameUpload)) throw new Error("sameNameUpload must be 'add', 'replace' or 'reject'.");
  if (partial.secondCreateStatus !== undefined && (partial.secondCreateStatus < 400 || partial.secondCreateStatus > 599)) throw new Error('secondCreateStatus must be a 4xx or 5xx status.');
  if (partial.pageSize !== undefined && (!Number.isInteger(partial.pageSize) || partial.pageSize < 1)) throw new Error('pageSize must be a positive integer.');
}

/** Builds the in-process admin over the emulator's parts. */
export function createAdmin(parts: { store: EmulatorStore; faults: FaultTable; retryAfter: RetryAfterMemory; recorder: RequestRecorder }): EmulatorAdmin {
  const { store, faults, retryAfter, recorder } = parts;
  return {
    seed: (data: SeedData) => store.seed(data),
    startInstance: (definitionId, options) => store.startInstance(definitionId, options),
    setInstanceStatus: (definitionId, instanceId, status) => store.setInstanceStatus(definitionId, instanceId, status),
    now: () => store.clock.now(),
    advanceClock: (ms: number) => {
      if (!Number.isFinite(ms)) throw new Error('advanceClock needs a finite number of milliseconds.');
      return store.clock.advance(ms);
    },
    requests: () => recorder.all(),
    clearRequests: () => recorder.clear(),
    earlyRequests: () => recorder.all().filter((r) => r.early === true),
    addFault: (rule: FaultRule) => faults.add(rule),
    clearFaults: () => faults.clear(),
    state: () => store.snapshot(),
    fileContent: (sessionId, fileId) => {
      const content = store.sessions.get(sessionId)?.files.find((f) => f.id === fileId)?.content;
      return content ? Buffer.from(content) : undefined;
    },
    setAppRoles: (clientId, roles) => {
      const app = store.apps.get(clientId);
      if (!app) throw new Error(`Unknown app '${clientId}'.`);
      app.roles = [...roles];
    },
    setBehaviour: (partial) => {
      checkBehaviour(partial);
      store.behaviour = { ...store.behaviour, ...partial };
      return { ...store.behaviour };
    },
    behaviour: () => ({ ...store.behaviour }),
    reset: () => {
      store.reset();
      recorder.clear();
      faults.clear();
      retryAfter.clear();
    },
  };
}

function asObject(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('A JSON object body is required.');
  return value as Record<string, unknown>;
}

function segments(subpath: string): string[] {
  return subpath.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
}

/**
 * The HTTP admin API (JSON in, JSON out; see README for the route table). Unauthenticated: it listens on loopback
 * only and exists for tests and local runs.
 */
export function createAdminHttp(admin: EmulatorAdmin): (method: string, subpath: string, url: URL, req: IncomingMessage) => Promise<Reply> {
  return async (method, subpath, _url, req) => {
    const body = await readBody(req, { keepContentBytes: 0, maxUploadBytes: 0, maxSmallBodyBytes: 16 * 1024 * 1024 });
    if (body.kind === 'invalidJson') throw new Error('The body is not valid JSON.');
    const json = body.kind === 'json' ? body.value : undefined;
    const route = segments(subpath);
    const [first, second, third, fourth, fifth] = route;
    const key = `${method} ${first ?? ''}`;

    switch (key) {
      case 'POST seed':
        admin.seed(asObject(json) as SeedData);
        return jsonReply(200, { ok: true });
      case 'POST instances': {
        const input = asObject(json);
        const options: { id?: string; startDateTime?: string } = {};
        if (typeof input.id === 'string') options.id = input.id;
        if (typeof input.startDateTime === 'string') options.startDateTime = input.startDateTime;
        return jsonReply(201, admin.startInstance(String(input.definitionId), options));
      }
      case 'GET clock':
        return jsonReply(200, { now: admin.now(), iso: new Date(admin.now()).toISOString() });
      case 'POST clock': {
        const input = asObject(json);
        const now = admin.advanceClock(Number(input.advanceMs));
        return jsonReply(200, { now, iso: new Date(now).toISOString() });
      }
      case 'GET requests':
        return jsonReply(200, { value: second === 'early' ? admin.earlyRequests() : admin.requests() });
      case 'DELETE requests':
        admin.clearRequests();
        return emptyReply(204);
      case 'POST faults':
        return jsonReply(201, { id: admin.addFault(asObject(json) as unknown as FaultRule) });
      case 'DELETE faults':
        admin.clearFaults();
        return emptyReply(204);
      case 'GET state':
        return jsonReply(200, admin.state());
      case 'GET sessions': {
        // GET sessions/{sessionId}/files/{fileId}/content
        if (second === undefined || third !== 'files' || fourth === undefined || fifth !== 'content') break;
        const content = admin.fileContent(second, fourth);
        if (!content) throw new GraphHttpError(404, 'ResourceNotFound', 'No kept content for this file.');
        return { status: 200, body: { kind: 'bytes', value: content, contentType: 'application/octet-stream' } };
      }
      case 'PUT apps': {
        if (second === undefined || third !== 'roles') break;
        const roles = asObject(json).roles;
        if (!Array.isArray(roles) || roles.some((r) => typeof r !== 'string')) throw new Error('roles must be an array of strings.');
        admin.setAppRoles(second, roles as string[]);
        return emptyReply(204);
      }
      case 'GET behaviour':
        return jsonReply(200, admin.behaviour());
      case 'PATCH behaviour':
        return jsonReply(200, admin.setBehaviour(asObject(json) as Partial<EmulatorBehaviour>));
      case 'POST reset':
        admin.reset();
        return emptyReply(204);
    }
    // PATCH instances/{definitionId}/{instanceId}  {status}
    if (method === 'PATCH' && first === 'instances' && second !== undefined && third !== undefined && fourth === undefined) {
      const status = asObject(json).status;
      if (typeof status !== 'string') throw new Error('status must be a string.');
      return jsonReply(200, admin.setInstanceStatus(second, third, status));
    }
    throw new GraphHttpError(404, 'ResourceNotFound', `No admin route ${method} /_emulator/${subpath}.`);
  };
}
