import {
  ApiError,
  EmrRolesClient,
  IApplicationSummary,
  IClusterSummary,
  IRolesCatalog,
  SessionEngine
} from '../api';
import { ConnectBody } from '../connectDialog';

const ACCOUNT = '123456789012';
const SALES = `arn:aws:iam::${ACCOUNT}:role/sales-data-access`;
const MARKETING = `arn:aws:iam::${ACCOUNT}:role/marketing-data-access`;

const CATALOG: IRolesCatalog = {
  accounts: [
    {
      account: ACCOUNT,
      default_role: SALES,
      access_role: null,
      offer_caller_role: false,
      roles: [
        { arn: MARKETING, label: 'Marketing', default: false, sources: ['emr-roles.json'] },
        { arn: SALES, label: 'Sales', default: true, sources: ['emr-roles.json'] }
      ]
    }
  ],
  sources: [],
  conflicts: []
};

function cluster(id: string, name: string, account = ACCOUNT): IClusterSummary {
  return {
    id,
    name,
    state: 'WAITING',
    arn: `arn:aws:elasticmapreduce:us-east-1:${account}:cluster/${id}`
  };
}

/** Which engines each test cluster runs: j-MULTI none, j-PLAIN none (a Livy the doctor fails),
 *  j-CONNECT both, j-SESSIONS Spark Connect alone (no Livy), every other one Livy alone. */
function engines(id: string) {
  const livy = !['j-MULTI', 'j-PLAIN', 'j-SESSIONS'].includes(id);
  const sessions = ['j-CONNECT', 'j-SESSIONS'].includes(id);
  const engine = (ready: boolean, why: string) => ({ ready, reasons: ready ? [] : [why] });
  return {
    livy: engine(livy, id === 'j-PLAIN' ? 'Livy answers in plain HTTP.' : 'Livy not installed.'),
    'spark-connect': engine(sessions, 'Spark Connect sessions are not enabled.')
  };
}

/** An EMR Serverless application of the account that offers ``offered``. */
function application(id: string, name: string, offered: SessionEngine[]): IApplicationSummary {
  const engine = (ready: boolean) => ({ ready, reasons: ready ? [] : [`${name} runs none.`] });
  const ready = offered.length > 0;
  const arn = `arn:aws:emr-serverless:us-east-1:${ACCOUNT}:/applications/${id}`;
  const sessions = offered.includes('spark-connect');
  const row = { id, name, state: 'STARTED', release: 'emr-7.13.0' };
  const readiness = {
    ...row,
    account: ACCOUNT,
    ready,
    checks: [],
    reasons: ready ? [] : [`${name} runs none.`],
    session_enabled: sessions,
    kind: 'serverless' as const,
    engines: { livy: engine(offered.includes('livy')), 'spark-connect': engine(sessions) }
  };
  return { ...row, arn, kind: 'serverless', engines: offered, readiness };
}

/** Yield each page, or throw it. */
async function* yieldAll<T>(pages: (T[] | ApiError)[]): AsyncGenerator<T[]> {
  for (const page of pages) {
    if (page instanceof ApiError) {
      throw page;
    }
    yield page;
  }
}

/** A stand-in for the REST client: pages, readiness and check answers given by the test. */
function fakeClient(
  pages: (IClusterSummary[] | ApiError)[],
  catalog = CATALOG,
  applications: (IApplicationSummary[] | ApiError)[] = []
) {
  const asked: string[] = [];
  const checks: [string, string][] = [];
  const client = {
    roles: async () => catalog,
    clusterPages: () => yieldAll(pages),
    applicationPages: (account: string | null = null) => yieldAll(account ? [] : applications),
    application: async (id: string) => {
      asked.push(id);
      return application(id, id, []).readiness;
    },
    cluster: async (id: string) => {
      asked.push(id);
      const usable = engines(id);
      const ready = usable.livy.ready || usable['spark-connect'].ready;
      return {
        id,
        name: id === 'j-MULTI' ? 'multi-primary' : 'shared-analytics',
        state: 'WAITING',
        release: 'emr-7.1.0',
        account: id === 'j-OTHER' ? '999999999999' : ACCOUNT,
        ready,
        reasons:
          id === 'j-MULTI'
            ? ['Runtime roles are not supported on multi-primary clusters.']
            : ready
              ? []
              : usable.livy.reasons,
        checks: [],
        engines: usable,
        session_enabled: ['j-CONNECT', 'j-SESSIONS'].includes(id)
      };
    },
    check: async (id: string, roleArn: string, _access: string | null, kind = 'cluster') => {
      checks.push([id, roleArn]);
      if (roleArn === MARKETING) {
        throw new ApiError('RoleNotListed', 'The role is not listed for this account.', 403);
      }
      const role = CATALOG.accounts[0].roles[1];
      if (kind === 'serverless') {
        const found = applications.flat().find(row => !(row instanceof ApiError) && row.id === id);
        return { application: (found as IApplicationSummary).readiness, role };
      }
      return { cluster: await client.cluster(id), role };
    }
  };
  return { client: client as unknown as EmrRolesClient, asked, checks };
}

async function settled(body: ConnectBody): Promise<void> {
  await body.loaded;
  for (let i = 0; i < 10; i++) {
    await new Promise(resolve => setTimeout(resolve, 0));
  }
}

function q<T extends Element>(body: ConnectBody, selector: string): T {
  const node = body.node.querySelector<T>(selector);
  if (!node) {
    throw new Error(`no ${selector}`);
  }
  return node;
}

describe('ConnectBody', () => {
  it('lists every page of clusters as options of the Clusters listbox', async () => {
    const { client } = fakeClient([
      [cluster('j-SHARED', 'shared-analytics')],
      [],
      [cluster('j-MULTI', 'multi-primary')]
    ]);
    const body = new ConnectBody(client);
    await settled(body);
    const options = body.node.querySelectorAll('[role="listbox"][aria-label="Clusters"] [role="option"]');
    expect([...options].map(option => option.textContent)).toEqual([
      expect.stringMatching(/shared-analytics.*j-SHARED/),
      expect.stringMatching(/multi-primary.*j-MULTI/)
    ]);
    expect(options[0].getAttribute('aria-selected')).toBe('true');
    expect(q<HTMLElement>(body, '[role="status"]').hidden).toBe(true);
  });

  it('asks readiness of the first clusters, lists the ready first and preselects it', async () => {
    const { client, asked } = fakeClient([
      [cluster('j-MULTI', 'multi-primary'), cluster('j-SHARED', 'shared-analytics')]
    ]);
    const body = new ConnectBody(client);
    await settled(body);
    expect([...asked].sort()).toEqual(['j-MULTI', 'j-SHARED']);
    const [shared, multi] = body.node.querySelectorAll('[role="option"]');
    expect(shared.textContent).toContain('j-SHARED');
    expect(shared.getAttribute('aria-selected')).toBe('true');
    expect(multi.getAttribute('aria-selected')).toBe('false');
    const releases = body.node.querySelectorAll('.jp-EmrRoles-clusterRelease');
    expect([...releases].map(node => node.textContent)).toEqual(['emr-7.1.0', 'emr-7.1.0']);
    const badge = multi.querySelector<HTMLElement>('.jp-EmrRoles-badge')!;
    expect(badge.textContent).toBe('not ready');
    expect(badge.title).toContain('multi-primary');

    const listbox = q<HTMLElement>(body, '[role="listbox"]');
    listbox.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true }));
    await settled(body);
    expect(multi.getAttribute('aria-selected')).toBe('true');
    expect(asked).toHaveLength(2);
  });

  it('preselects the notebook\'s last cluster only once it is known to be ready', async () => {
    const { client } = fakeClient([
      [cluster('j-PLAIN', 'livy-plain-http'), cluster('j-SHARED', 'shared-analytics'),
        cluster('j-CONNECT', 'connect-analytics')]
    ]);
    const selected = async (initial: string) => {
      const body = new ConnectBody(client, { clusterId: initial });
      await settled(body);
      return body.node.querySelector('[role="option"][aria-selected="true"]')?.textContent;
    };
    expect(await selected('j-CONNECT')).toContain('j-CONNECT');
    expect(await selected('j-PLAIN')).toMatch(/j-SHARED|j-CONNECT/);
  });

  it('never preselects a cluster whose Livy the doctor fails, and lists it last', async () => {
    const { client } = fakeClient([
      [cluster('j-PLAIN', 'livy-plain-http'), cluster('j-SESSIONS', 'spark-sessions')]
    ]);
    const body = new ConnectBody(client);
    await settled(body);
    const rows = [...body.node.querySelectorAll<HTMLElement>('[role="option"]')];
    expect(rows.map(row => row.dataset.clusterId)).toEqual(['j-SESSIONS', 'j-PLAIN']);
    expect(rows[0].getAttribute('aria-selected')).toBe('true');
    expect(rows[1].querySelector('.jp-EmrRoles-badge')!.textContent).toBe('not ready');
    expect(rows[1].querySelector<HTMLElement>('.jp-EmrRoles-badge')!.title).toContain('plain HTTP');
  });

  it('offers the account roles with the default preselected', async () => {
    const { client } = fakeClient([[cluster('j-SHARED', 'shared-analytics')]]);
    const body = new ConnectBody(client);
    await settled(body);
    const select = q<HTMLSelectElement>(body, 'select[aria-label="Runtime role"]');
    expect([...select.options].map(o => [o.textContent, o.value])).toEqual([
      ['Marketing', MARKETING],
      ['Sales', SALES]
    ]);
    expect(select.value).toBe(SALES);
    expect(select.options[1].title).toContain('emr-roles.json');
    expect(q<HTMLInputElement>(body, 'input[aria-label="Session name"]').placeholder).toBe(
      'sales-data-access'
    );
    expect(
      [...q<HTMLSelectElement>(body, 'select[aria-label="Language"]').options].map(o => o.value)
    ).toEqual(['python', 'scala', 'r', 'sql']);
  });

  it('says how to add a role when the account has none', async () => {
    const { client } = fakeClient([[cluster('j-OTHER', 'other', '999999999999')]]);
    const body = new ConnectBody(client);
    await settled(body);
    expect(q<HTMLSelectElement>(body, 'select[aria-label="Runtime role"]').disabled).toBe(true);
    expect(body.node.textContent).toContain('999999999999');
    expect(body.node.textContent).toContain('jupyter-emr-roles roles add ARN');
    expect(await body.submit()).toBe(false);
  });

  it('shows AccessDenied as a permission problem, not as an empty list', async () => {
    const { client } = fakeClient([
      new ApiError('AccessDenied', 'elasticmapreduce:ListClusters was denied.', 403)
    ]);
    const body = new ConnectBody(client);
    await settled(body);
    const alert = q<HTMLElement>(body, '[role="alert"].jp-EmrRoles-error');
    expect(alert.hidden).toBe(false);
    expect(alert.textContent).toContain('Permission problem: elasticmapreduce:ListClusters');
    expect(body.node.textContent).not.toContain('No running or waiting clusters');
  });

  it('says so when there are no clusters', async () => {
    const { client } = fakeClient([[], []]);
    const body = new ConnectBody(client);
    await settled(body);
    expect(q(body, '[role="status"]').textContent).toBe('No running or waiting clusters were found.');
  });

  it('checks the choice with the server and gives back the validated values', async () => {
    const { client, checks } = fakeClient([[cluster('j-SHARED', 'shared-analytics')]]);
    const body = new ConnectBody(client, { name: 'sales', language: 'scala' });
    await settled(body);
    q<HTMLTextAreaElement>(body, 'textarea[aria-label="Livy session settings (JSON)"]').value =
      '{"driverMemory": "2g"}';
    expect(await body.submit()).toBe(true);
    expect(checks).toEqual([['j-SHARED', SALES]]);
    expect(body.getValue()).toEqual({
      clusterId: 'j-SHARED',
      roleArn: SALES,
      name: 'sales',
      language: 'scala',
      engine: 'auto',
      settings: '{"driverMemory": "2g"}'
    });
  });

  it('offers only the engines that work on the selected cluster', async () => {
    const { client } = fakeClient([
      [cluster('j-CONNECT', 'connect-analytics'), cluster('j-SHARED', 'shared-analytics'),
        cluster('j-SESSIONS', 'spark-sessions')]
    ]);
    const body = new ConnectBody(client, { clusterId: 'j-CONNECT', engine: 'spark-connect' });
    await settled(body);
    const engine = q<HTMLSelectElement>(body, 'select[aria-label="Engine"]');
    const offered = () => Array.from(engine.options).map(item => item.textContent);
    expect(engine.value).toBe('spark-connect');
    expect(offered()).toEqual(['Automatic (Spark Connect)',
      'Livy (%%spark cells, through sparkmagic)', 'Spark Connect (spark in this kernel)']);
    expect(body.node.textContent).toContain('ready for runtime roles (Livy and Spark Connect');

    q<HTMLElement>(body, '[data-cluster-id="j-SHARED"]').click();
    await settled(body);
    expect(engine.value).toBe('auto');
    expect(offered()).toEqual(['Automatic (Livy)', 'Livy (%%spark cells, through sparkmagic)']);

    q<HTMLElement>(body, '[data-cluster-id="j-SESSIONS"]').click();
    await settled(body);
    expect(offered()).toEqual(['Automatic (Spark Connect)', 'Spark Connect (spark in this kernel)']);
    expect(body.node.textContent).toContain('ready for runtime roles (Spark Connect sessions)');
  });

  it('keeps the dialog open with the server refusal in the alert', async () => {
    const { client } = fakeClient([[cluster('j-SHARED', 'shared-analytics')]]);
    const body = new ConnectBody(client, { roleArn: MARKETING });
    await settled(body);
    expect(await body.submit()).toBe(false);
    expect(q(body, '[role="alert"]').textContent).toContain('not listed');
  });

  it('refuses settings that are not a JSON object before asking the server', async () => {
    const { client, checks } = fakeClient([[cluster('j-SHARED', 'shared-analytics')]]);
    const body = new ConnectBody(client, { settings: '["driverMemory"]' });
    await settled(body);
    expect(await body.submit()).toBe(false);
    expect(checks).toEqual([]);
    expect(q(body, '[role="alert"]').textContent).toContain('JSON object');
  });

  it('refuses a not-ready cluster with its reasons', async () => {
    const { client, checks } = fakeClient([[cluster('j-MULTI', 'multi-primary')]]);
    const body = new ConnectBody(client);
    await settled(body);
    expect(body.node.querySelector('[aria-selected="true"]')).toBeNull();
    expect(await body.submit()).toBe(false);
    expect(q(body, '[role="alert"]').textContent).toContain('Choose a cluster');
    q<HTMLElement>(body, '[role="option"]').click();
    await settled(body);
    expect(await body.submit()).toBe(false);
    expect(checks).toEqual([]);
    expect(q(body, '[role="alert"]').textContent).toContain('multi-primary clusters');
  });

  it('lists the clusters of each account reached through an access role, or why not', async () => {
    const partner = '210987654321';
    const access = `arn:aws:iam::${partner}:role/emr-notebook-access`;
    const catalog: IRolesCatalog = {
      ...CATALOG,
      accounts: [
        ...CATALOG.accounts,
        { ...CATALOG.accounts[0], account: partner, access_role: access },
        {
          ...CATALOG.accounts[0],
          account: '333333333333',
          access_role: 'arn:aws:iam::333333333333:role/gone'
        }
      ]
    };
    const { client, asked } = fakeClient([[cluster('j-SHARED', 'shared-analytics')]], catalog);
    const byAccount: Record<string, IClusterSummary[][] | ApiError> = {
      [partner]: [[cluster('j-PARTNER', 'partner-analytics', partner)]],
      '333333333333': new ApiError('AccessDenied', 'AWS denied assuming the access role.', 403)
    };
    const caller = client.clusterPages.bind(client);
    const accounts: (string | null)[] = [];
    Object.assign(client, {
      async *clusterPages(states: string[] = [], account: string | null = null) {
        if (account === null) {
          yield* caller(states);
          return;
        }
        const pages = byAccount[account];
        if (pages instanceof ApiError) {
          throw pages;
        }
        yield* pages;
      },
      cluster: async (id: string, account: string | null = null) => {
        accounts.push(account);
        return { ...(await fakeClient([]).client.cluster(id)), id, account: account ?? ACCOUNT };
      }
    });
    const body = new ConnectBody(client);
    await settled(body);
    const rows = [...body.node.querySelectorAll<HTMLElement>('[role="listbox"] [role="option"]')];
    const row = (pattern: RegExp) => rows.find(node => pattern.test(node.textContent ?? ''))!;
    expect(rows).toHaveLength(3);
    expect(row(/shared-analytics.*j-SHARED.*123456789012/)).toBeDefined();
    const problem = row(/Account 333333333333 \(through gone\): Permission problem: AWS denied/);
    expect(problem.getAttribute('aria-disabled')).toBe('true');
    row(/partner-analytics.*j-PARTNER.*210987654321/).click();
    await settled(body);
    expect(accounts).toContain(partner);
    expect(body.currentChoice().accessRoleArn).toBe(access);
    row(/j-SHARED/).click();
    expect(body.currentChoice().accessRoleArn).toBeUndefined();
    expect(asked).toEqual([]);
  });

  it('lists applications after clusters, with their engines; writes --application-id', async () => {
    const { client, asked, checks } = fakeClient(
      [[cluster('j-SHARED', 'shared-analytics')]],
      CATALOG,
      [[application('00livy', 'serverless-livy', ['livy']), application('00old', 'too-old', [])]]
    );
    const body = new ConnectBody(client);
    await settled(body);
    const rows = [...body.node.querySelectorAll<HTMLElement>('[role="option"]')];
    const kinds = rows.map(row => row.querySelector('.jp-EmrRoles-clusterKind')!.textContent);
    expect(rows.map(row => row.dataset.clusterId)).toEqual(['j-SHARED', '00livy', '00old']);
    expect(kinds).toEqual(['cluster', 'serverless', 'serverless']);
    expect(rows[0].getAttribute('aria-selected')).toBe('true');
    expect(rows[2].querySelector('.jp-EmrRoles-badge')!.textContent).toBe('not ready');
    expect(rows[1].querySelector('.jp-EmrRoles-clusterRelease')!.textContent).toBe('emr-7.13.0');
    expect(asked).toEqual(['j-SHARED']);

    rows[1].click();
    await settled(body);
    const engine = q<HTMLSelectElement>(body, 'select[aria-label="Engine"]');
    expect([...engine.options].map(item => item.textContent)).toEqual([
      'Automatic (Livy)', 'Livy (%%spark cells, through sparkmagic)']);
    expect(await body.submit()).toBe(true);
    expect(checks).toEqual([['00livy', SALES]]);
    expect(body.getValue()).toMatchObject({
      clusterId: '',
      applicationId: '00livy',
      roleArn: SALES
    });
  });

  it('says why applications are missing in a row, and keeps the clusters', async () => {
    const denied = new ApiError('AccessDenied', 'emr-serverless:ListApplications was denied.', 403);
    const { client } = fakeClient([[cluster('j-SHARED', 'shared-analytics')]], CATALOG, [denied]);
    const body = new ConnectBody(client);
    await settled(body);
    const problem = q<HTMLElement>(body, '.jp-EmrRoles-listProblem');
    expect(problem.textContent).toBe(
      'EMR Serverless applications of your account: Permission problem: ' +
        'emr-serverless:ListApplications was denied.');
    expect(q<HTMLElement>(body, '[role="alert"]').hidden).toBe(true);
    const shared = q<HTMLElement>(body, '[data-cluster-id="j-SHARED"]');
    expect(shared.getAttribute('aria-selected')).toBe('true');
  });

  it('preselects the notebook\'s last application once its readiness is in', async () => {
    const { client } = fakeClient([[cluster('j-SHARED', 'shared-analytics')]], CATALOG, [
      [application('00livy', 'serverless-livy', ['livy'])]]);
    const body = new ConnectBody(client, { clusterId: '', applicationId: '00livy' });
    await settled(body);
    expect(body.currentChoice()).toMatchObject({ clusterId: '', applicationId: '00livy' });
  });
});
