import { ServerConnection } from '@jupyterlab/services';

import { ApiError, EmrRolesClient, IClusterPage } from '../api';

interface ISeen {
  url: string;
  method: string;
  body: string | null;
}

/** ServerConnection adds a time stamp to GET URLs to defeat caches; the tests ignore it. */
function withoutCacheBuster(url: string): string {
  return url.replace(/[?&][0-9]{10,}$/, '');
}

/** A client whose fetch answers from a list of responses and records each request. */
const authorizations: (string | null)[] = [];

function clientWith(...answers: (Response | Error)[]): { client: EmrRolesClient; seen: ISeen[] } {
  const seen: ISeen[] = [];
  authorizations.length = 0;
  const fetch = async (input: RequestInfo, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : new Request(input, init);
    seen.push({
      url: withoutCacheBuster(request.url),
      method: request.method,
      body: request.method === 'GET' ? null : await request.text()
    });
    authorizations.push(request.headers.get('Authorization'));
    const answer = answers.shift();
    if (answer === undefined) {
      throw new Error(`unexpected request ${request.url}`);
    }
    if (answer instanceof Error) {
      throw answer;
    }
    return answer;
  };
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/user/ana/',
    token: 'secret-token',
    fetch: fetch as typeof window.fetch
  });
  return { client: new EmrRolesClient(settings), seen };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}

function page(ids: string[], marker: string | null): Response {
  const body: IClusterPage = {
    clusters: ids.map(id => ({ id, name: `name-${id}`, state: 'WAITING', arn: `arn:${id}` })),
    marker
  };
  return json(200, body);
}

async function errorFrom(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error('expected the call to fail');
}

describe('EmrRolesClient URLs', () => {
  const { client } = clientWith();

  it('joins the base URL and the namespace', () => {
    expect(client.url('roles')).toBe('http://localhost:8888/user/ana/jupyter-emr-roles/roles');
  });

  it('encodes query parameters', () => {
    expect(client.url('clusters', { marker: 'a+b/c=&d e', states: 'RUNNING,WAITING' })).toBe(
      'http://localhost:8888/user/ana/jupyter-emr-roles/clusters?marker=a%2Bb%2Fc%3D%26d+e&states=RUNNING%2CWAITING'
    );
  });
});

describe('EmrRolesClient requests', () => {
  it('asks for roles with the server token', async () => {
    const catalog = { accounts: [], sources: [], conflicts: [] };
    const { client, seen } = clientWith(json(200, catalog));
    expect(await client.roles()).toEqual(catalog);
    expect(authorizations).toEqual(['token secret-token']);
    expect(seen).toEqual([
      { url: 'http://localhost:8888/user/ana/jupyter-emr-roles/roles', method: 'GET', body: null }
    ]);
  });

  it('asks for one cluster by ID', async () => {
    const readiness = { id: 'j-ABC', ready: true };
    const { client, seen } = clientWith(json(200, readiness));
    expect(await client.cluster('j-ABC')).toEqual(readiness);
    expect(seen[0].url).toBe('http://localhost:8888/user/ana/jupyter-emr-roles/clusters/j-ABC');
  });

  it('posts a check with the documented body', async () => {
    const answer = { cluster: { id: 'j-ABC', ready: true }, role: { arn: 'x' } };
    const { client, seen } = clientWith(json(200, answer));
    const arn = 'arn:aws:iam::123456789012:role/sales-data-access';
    expect(await client.check('j-ABC', arn)).toEqual(answer);
    expect(seen[0].method).toBe('POST');
    expect(seen[0].url).toBe('http://localhost:8888/user/ana/jupyter-emr-roles/check');
    expect(JSON.parse(seen[0].body!)).toEqual({
      cluster_id: 'j-ABC',
      role_arn: arn,
      access_role_arn: null
    });
  });
});

describe('EmrRolesClient applications', () => {
  it('asks for a page of applications of an account, and for one by ID', async () => {
    const page = { applications: [], marker: null };
    const { client, seen } = clientWith(json(200, page), json(200, { id: '00fab' }));
    expect(await client.applicationPage('m1', '210987654321')).toEqual(page);
    expect(await client.application('00fab')).toEqual({ id: '00fab' });
    expect(seen.map(request => request.url)).toEqual([
      'http://localhost:8888/user/ana/jupyter-emr-roles/applications?' +
        'marker=m1&account=210987654321',
      'http://localhost:8888/user/ana/jupyter-emr-roles/applications/00fab'
    ]);
  });

  it('posts a check of an application with application_id', async () => {
    const { client, seen } = clientWith(json(200, { application: {}, role: {} }));
    const arn = 'arn:aws:iam::123456789012:role/sales-data-access';
    await client.check('00fab', arn, null, 'serverless');
    expect(JSON.parse(seen[0].body!)).toEqual({
      application_id: '00fab',
      role_arn: arn,
      access_role_arn: null
    });
  });
});

describe('EmrRolesClient orphans', () => {
  it('lists what dead kernels left and posts the close', async () => {
    const closed = { lines: ['closed sales (3 on j-ABC)'], failed: 0 };
    const listed = { orphans: [{ key: 'k/sales' }] };
    const { client, seen } = clientWith(json(200, listed), json(200, closed));
    expect(await client.orphans()).toEqual([{ key: 'k/sales' }]);
    expect(await client.closeOrphans()).toEqual(closed);
    expect(seen.map(s => [s.method, s.url])).toEqual([
      ['GET', 'http://localhost:8888/user/ana/jupyter-emr-roles/orphans'],
      ['POST', 'http://localhost:8888/user/ana/jupyter-emr-roles/orphans/close']
    ]);
  });
});

describe('EmrRolesClient.clusterPages', () => {
  it('follows markers through empty pages until the marker is null', async () => {
    const { client, seen } = clientWith(
      page(['j-A', 'j-B'], 'm1'),
      page([], 'm2'),
      page([], 'm3'),
      page(['j-C'], null)
    );
    const pages: string[][] = [];
    for await (const clusters of client.clusterPages(['RUNNING', 'WAITING'])) {
      pages.push(clusters.map(cluster => cluster.id));
    }
    expect(pages).toEqual([['j-A', 'j-B'], [], [], ['j-C']]);
    expect(seen.map(request => new URL(request.url).search)).toEqual([
      '?states=RUNNING%2CWAITING',
      '?marker=m1&states=RUNNING%2CWAITING',
      '?marker=m2&states=RUNNING%2CWAITING',
      '?marker=m3&states=RUNNING%2CWAITING'
    ]);
  });

  it('yields each page as it arrives, the next one already asked for', async () => {
    const { client, seen } = clientWith(page(['j-A'], 'm1'), page(['j-B'], null));
    const pages = client.clusterPages();
    const first = await pages.next();
    expect(first.value.map((c: { id: string }) => c.id)).toEqual(['j-A']);
    expect(seen).toHaveLength(2);
    const second = await pages.next();
    expect(second.value.map((c: { id: string }) => c.id)).toEqual(['j-B']);
    expect((await pages.next()).done).toBe(true);
    expect(seen).toHaveLength(2);
  });

  it('stops with an error when a marker repeats', async () => {
    const { client } = clientWith(page(['j-A'], 'm1'), page([], 'm1'));
    const error = await errorFrom(
      (async () => {
        for await (const clusters of client.clusterPages()) {
          expect(clusters).toBeDefined();
        }
      })()
    );
    expect(error.code).toBe('BadMarker');
  });

  it('stops at the first failing page', async () => {
    const { client } = clientWith(
      page(['j-A'], 'm1'),
      json(403, { code: 'AccessDenied', message: 'elasticmapreduce:ListClusters was denied.' })
    );
    const seenIds: string[] = [];
    const error = await errorFrom(
      (async () => {
        for await (const clusters of client.clusterPages()) {
          seenIds.push(...clusters.map(cluster => cluster.id));
        }
      })()
    );
    expect(seenIds).toEqual(['j-A']);
    expect(error.code).toBe('AccessDenied');
  });
});

describe('EmrRolesClient errors', () => {
  it.each([
    [403, 'AccessDenied', true],
    [403, 'RoleNotListed', false],
    [400, 'InvalidIdentifier', false],
    [404, 'NotFound', false],
    [422, 'RolesFileError', false],
    [502, 'NoCredentials', false]
  ])('turns %i {code: %s} into an ApiError', async (status, code, permission) => {
    const message = `What to do about ${code}.`;
    const { client } = clientWith(json(status, { code, message, problems: [] }));
    const error = await errorFrom(client.roles());
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
    expect(error.status).toBe(status);
    expect(error.isPermissionProblem).toBe(permission);
  });

  it('explains a 404 without a JSON body as a missing server extension', async () => {
    const { client } = clientWith(new Response('<html>Not Found</html>', { status: 404 }));
    const error = await errorFrom(client.roles());
    expect(error.code).toBe('NotInstalled');
    expect(error.message).toContain('jupyter server extension list');
  });

  it('does not show an HTML error page as the message', async () => {
    const { client } = clientWith(new Response('<html>Traceback ...</html>', { status: 500 }));
    const error = await errorFrom(client.roles());
    expect(error.code).toBe('HTTP500');
    expect(error.message).not.toContain('<html>');
  });

  it('ignores a JSON error body without code and message', async () => {
    const { client } = clientWith(json(500, { message: 'HTTP 500: Internal Server Error' }));
    expect((await errorFrom(client.roles())).code).toBe('HTTP500');
  });

  it('reports an unreachable server', async () => {
    const { client } = clientWith(new TypeError('Failed to fetch'));
    expect((await errorFrom(client.roles())).code).toBe('NetworkError');
  });

  it('reports an answer that is not JSON', async () => {
    const { client } = clientWith(new Response('not json', { status: 200 }));
    expect((await errorFrom(client.roles())).code).toBe('BadResponse');
  });
});
