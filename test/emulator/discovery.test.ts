import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGraphEmulator, type GraphEmulator } from '../../emulator/index';
import { JSON_HEADERS, call, currentBody, getToken, multipart, paths } from '../support/emulatorClient';

let emu: GraphEmulator;
let token: string;

beforeAll(async () => {
  emu = await startGraphEmulator({ seedSample: false, behaviour: { pageSize: 2 } });
  token = await getToken(emu);
  emu.admin.seed({
    catalogs: [
      { id: 'cat-1', displayName: 'Buildings' },
      { id: 'cat-2', displayName: 'Labs' },
    ],
    resources: [
      { id: 'cdpr-1', catalogId: 'cat-1', displayName: 'BuildingAccessData' },
      { id: 'group-1', catalogId: 'cat-1', displayName: 'Visitors', originSystem: 'AadGroup' },
      { id: 'cdpr-2', catalogId: 'cat-2', displayName: 'LabAccess' },
    ],
    definitions: [
      { id: 'def-1', displayName: 'Buildings review', catalogIds: ['cat-1'] },
      { id: 'def-2', displayName: 'Labs review', catalogIds: ['cat-2'] },
      { id: 'def-3', displayName: 'Group review', catalogIds: [], scope: { '@odata.type': '#microsoft.graph.accessReviewQueryScope', query: '/groups/g1/transitiveMembers', queryType: 'MicrosoftGraph' } },
    ],
  });
});
afterAll(async () => {
  await emu.close();
});

function get(path: string) {
  return call(emu, path.replace(/ /g, '%20'), { token });
}

async function collect(path: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let next: string | undefined = path;
  for (let pages = 0; next !== undefined; pages++) {
    expect(pages).toBeLessThan(10);
    const answer = await get(next);
    expect(answer.status).toBe(200);
    items.push(...(answer.json.value as Record<string, unknown>[]));
    next = answer.json['@odata.nextLink'] as string | undefined;
  }
  return items;
}

describe('catalog resources', () => {
  it('v1.0 lists the CDPRs of a catalog with $filter=originSystem', async () => {
    const answer = await get(`/v1.0/identityGovernance/entitlementManagement/catalogs/cat-1/resources?$filter=originSystem eq 'CustomDataProvidedResource'`);
    expect(answer.status).toBe(200);
    expect(answer.json.value).toEqual([
      expect.objectContaining({ '@odata.type': '#microsoft.graph.customDataProvidedResource', id: 'cdpr-1', displayName: 'BuildingAccessData', originSystem: 'CustomDataProvidedResource' }),
    ]);
    const all = await get('/v1.0/identityGovernance/entitlementManagement/catalogs/cat-1/resources');
    expect(all.json.value.map((r: { id: string }) => r.id)).toEqual(['cdpr-1', 'group-1']);
  });

  it('beta lists them on the accessPackageCatalogs path; each path is refused on the other version', async () => {
    const beta = await get(`/beta/identityGovernance/entitlementManagement/accessPackageCatalogs/cat-2/accessPackageResources?$filter=originSystem eq 'CustomDataProvidedResource'`);
    expect(beta.json.value.map((r: { id: string }) => r.id)).toEqual(['cdpr-2']);
    expect((await get('/beta/identityGovernance/entitlementManagement/catalogs/cat-1/resources')).status).toBe(400);
    expect((await get('/v1.0/identityGovernance/entitlementManagement/accessPackageCatalogs/cat-1/accessPackageResources')).status).toBe(400);
    expect((await get('/v1.0/identityGovernance/entitlementManagement/catalogs/nope/resources')).status).toBe(404);
  });
});

describe('access review definitions and instances', () => {
  it('pages definitions with @odata.nextLink; catalog reviews carry the catalog scope, others their own', async () => {
    const first = await get('/v1.0/identityGovernance/accessReviews/definitions');
    expect(first.json.value).toHaveLength(2);
    expect(first.json['@odata.nextLink']).toContain('$skip=2');
    const all = await collect('/v1.0/identityGovernance/accessReviews/definitions');
    expect(all.map((d) => d.id)).toEqual(['def-1', 'def-2', 'def-3']);
    expect(all[0]?.scope).toEqual({
      '@odata.type': '#microsoft.graph.principalResourceMembershipsScope',
      principalScopes: [{ '@odata.type': '#microsoft.graph.accessReviewPrincipalScope', scopeType: 'allUsers' }],
      resourceScopes: [{ '@odata.type': '#microsoft.graph.accessReviewResourceScope', resourceId: 'cat-1', scopeType: 'catalog' }],
    });
    expect(all[2]?.scope).toMatchObject({ '@odata.type': '#microsoft.graph.accessReviewQueryScope' });
    const skipped = await get('/beta/identityGovernance/accessReviews/definitions?$top=1&$skip=1');
    expect(skipped.json.value.map((d: { id: string }) => d.id)).toEqual(['def-2']);
    expect(skipped.json).not.toHaveProperty('@odata.nextLink');
    const one = await get('/v1.0/identityGovernance/accessReviews/definitions/def-2');
    expect(one.json.displayName).toBe('Labs review');
  });

  it('filters instances on status case-insensitively, pages them, and reads one', async () => {
    const a = emu.admin.startInstance('def-1', { id: 'inst-a' });
    emu.admin.startInstance('def-1', { id: 'inst-b' });
    emu.admin.startInstance('def-1', { id: 'inst-c' });
    emu.admin.setInstanceStatus('def-1', 'inst-b', 'Completed');
    const base = '/v1.0/identityGovernance/accessReviews/definitions/def-1/instances';
    for (const value of ['Initializing', 'initializing', 'INITIALIZING']) {
      const answer = await get(`${base}?$filter=status eq '${value}'`);
      expect(answer.json.value.map((i: { id: string }) => i.id)).toEqual(['inst-a', 'inst-c']);
    }
    const all = await collect(base);
    expect(all.map((i) => i.id)).toEqual(['inst-a', 'inst-b', 'inst-c']);
    const one = await get(`${base}/inst-a`);
    expect(one.json).toMatchObject({ id: 'inst-a', status: 'Initializing', startDateTime: expect.stringMatching(/Z$/) });
    expect(Date.parse(one.json.startDateTime)).toBe(Date.parse(a.startDateTime));
    expect((await get(`${base}/nope`)).status).toBe(404);
    expect((await get(`${base}?$filter=statuss eq 'x'`)).status).toBe(400);
    const ordered = await get(`${base}?$orderby=startDateTime desc&$top=1`);
    expect(ordered.json.value).toHaveLength(1);
  });

  it('needs an access review role', async () => {
    emu.admin.seed({ apps: [{ clientId: 'em-only', clientSecret: 's', roles: ['EntitlementManagement.ReadWrite.All'] }] });
    const other = await getToken(emu, 'em-only', 's');
    expect((await call(emu, '/v1.0/identityGovernance/accessReviews/definitions', { token: other })).status).toBe(403);
  });
});

describe('instance completion across several CDPRs', () => {
  it('the instance leaves Initializing only when every CDPR of its catalogs is complete', async () => {
    emu.admin.seed({ resources: [{ id: 'cdpr-1b', catalogId: 'cat-1', displayName: 'Second' }] });
    const instance = emu.admin.startInstance('def-1');
    const status = () => emu.admin.state().instances.find((i) => i.id === instance.id)?.status;
    for (const resourceId of ['cdpr-1', 'cdpr-1b']) {
      const base = paths.p3('cat-1', resourceId);
      const created = await call(emu, base, { method: 'POST', token, body: currentBody('def-1', instance.id), headers: JSON_HEADERS });
      expect(created.status).toBe(201);
      expect(status()).toBe('Initializing');
      await call(emu, `${base}/${created.json.id}`, { method: 'PATCH', token, body: '{"isUploadDone":true}', headers: JSON_HEADERS });
    }
    expect(status()).toBe('InProgress');
  });
});

describe('admin HTTP API', () => {
  async function admin(method: string, path: string, body?: unknown) {
    const options = body === undefined ? { method } : { method, body: JSON.stringify(body), headers: JSON_HEADERS };
    return call(emu, `/_emulator/${path}`, options);
  }

  it('mirrors the in-process admin: seed, instances, clock, faults, state, content, roles, behaviour, requests', async () => {
    expect((await admin('POST', 'seed', { catalogs: [{ id: 'h-cat', displayName: 'H' }], resources: [{ id: 'h-res', catalogId: 'h-cat', displayName: 'HSource' }], definitions: [{ id: 'h-def', displayName: 'H', catalogIds: ['h-cat'] }] })).status).toBe(200);
    const started = await admin('POST', 'instances', { definitionId: 'h-def', id: 'h-inst' });
    expect(started.status).toBe(201);
    expect(started.json).toMatchObject({ id: 'h-inst', status: 'Initializing' });
    expect((await admin('PATCH', 'instances/h-def/h-inst', { status: 'NotStarted' })).json.status).toBe('NotStarted');
    expect((await admin('PATCH', 'instances/h-def/h-inst', { status: 'Initializing' })).json.status).toBe('Initializing');

    const before = (await admin('GET', 'clock')).json.now as number;
    const after = (await admin('POST', 'clock', { advanceMs: 1000 })).json.now as number;
    expect(after - before).toBeGreaterThanOrEqual(1000);

    const fault = await admin('POST', 'faults', { path: '/uploadSessions$', method: 'POST', kind: 'status', status: 502 });
    expect(fault.status).toBe(201);
    expect(fault.json.id).toEqual(expect.any(String));
    const base = paths.p3('h-cat', 'h-res');
    expect((await call(emu, base, { method: 'POST', token, body: currentBody('h-def', 'h-inst'), headers: JSON_HEADERS })).status).toBe(502);
    const created = await call(emu, base, { method: 'POST', token, body: currentBody('h-def', 'h-inst'), headers: JSON_HEADERS });
    expect(created.status).toBe(201);
    const mp = multipart([{ name: 'file', filename: 'h.csv', content: 'hello' }]);
    await call(emu, `${base}/${created.json.id}/uploadFile`, { method: 'POST', token, body: mp.body, headers: { 'content-type': mp.contentType } });

    const state = await admin('GET', 'state');
    const session = state.json.sessions.find((s: { id: string }) => s.id === created.json.id);
    expect(session.files[0]).toMatchObject({ name: 'h.csv', size: 5 });
    const content = await admin('GET', `sessions/${created.json.id}/files/${session.files[0].id}/content`);
    expect(content.text).toBe('hello');

    const requests = await admin('GET', 'requests');
    const mine = requests.json.value.filter((r: { path: string }) => r.path.startsWith(base));
    expect(mine.map((r: { status: number }) => r.status)).toEqual([502, 201, 200]);
    expect(mine[1].json).toMatchObject({ data: { reviewInstanceId: 'h-inst' } });
    expect(requests.json.value.some((r: { path: string }) => r.path.startsWith('/_emulator/'))).toBe(false);
    expect((await admin('GET', 'requests/early')).json.value).toEqual([]);

    expect((await admin('PUT', `apps/${emu.clientId}/roles`, { roles: [] })).status).toBe(204);
    expect((await call(emu, base, { token })).status).toBe(403);
    await admin('PUT', `apps/${emu.clientId}/roles`, { roles: ['EntitlementManagement.ReadWrite.All', 'AccessReview.Read.All'] });
    expect((await call(emu, base, { token })).status).toBe(200);

    expect((await admin('PATCH', 'behaviour', { sameNameUpload: 'reject' })).json.sameNameUpload).toBe('reject');
    expect((await admin('PATCH', 'behaviour', { nonsense: 1 })).status).toBe(400);
    expect((await admin('GET', 'behaviour')).json.sameNameUpload).toBe('reject');
    await admin('PATCH', 'behaviour', { sameNameUpload: 'add' });
    expect((await admin('DELETE', 'faults')).status).toBe(204);
    expect((await admin('DELETE', 'requests')).status).toBe(204);
    expect((await admin('GET', 'requests')).json.value).toEqual([]);
    expect((await admin('GET', 'no-such-route')).status).toBe(404);
  });

  it('reset clears state but keeps apps', async () => {
    const local = await startGraphEmulator();
    try {
      const answer = await call(local, '/_emulator/reset', { method: 'POST' });
      expect(answer.status).toBe(204);
      expect(local.admin.state()).toEqual({ sessions: [], instances: [] });
      const localToken = await getToken(local);
      const definitions = await call(local, '/v1.0/identityGovernance/accessReviews/definitions', { token: localToken });
      expect(definitions.json.value).toEqual([]);
    } finally {
      await local.close();
    }
  });
});
