/**
 * A small typed client of the server extension's REST API (docs/rest-api.md).
 *
 * Every failure becomes an `ApiError` with the server's `{code, message}`, so
 * the widgets show one paragraph that says what to do and can tell a
 * permission problem from an empty list.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export interface IRole {
  arn: string;
  label: string | null;
  default: boolean;
  sources: string[];
}

export interface IAccount {
  account: string;
  default_role: string | null;
  access_role: string | null;
  offer_caller_role: boolean;
  roles: IRole[];
}

export interface IRolesCatalog {
  accounts: IAccount[];
  sources: { name: string; files: { path: string; exists: boolean }[] }[];
  conflicts: unknown[];
}

/** A session a kernel that is gone left open, as `GET orphans` lists it (no secret). */
export interface IOrphan {
  key: string;
  name: string;
  engine: string;
  session_id: string;
  place: string;
  role_arn: string;
  opened: string;
  kernel_pid: number;
}

/** What `POST orphans/close` did: a line for each session, and how many could not be closed. */
export interface IClosed {
  lines: string[];
  failed: number;
}

export interface IClusterSummary {
  id: string;
  name: string;
  state: string;
  arn: string;
}

export interface IClusterPage {
  clusters: IClusterSummary[];
  marker: string | null;
}

/** What a row of the dialog's list is: an EMR cluster or an EMR Serverless application. */
export type Kind = 'cluster' | 'serverless';

/** An EMR Serverless application as `GET applications` lists it: the engines it offers and
 *  its readiness come with the row. */
export interface IApplicationSummary extends IClusterSummary {
  kind: 'serverless';
  release: string;
  engines: SessionEngine[];
  readiness: IReadiness;
}

export interface IApplicationPage {
  applications: IApplicationSummary[];
  marker: string | null;
}

export interface IReadinessCheck {
  key: string;
  passed: boolean | null;
  detail: string;
  fix: string;
}

/** An engine that opens sessions (`auto` picks one of these). */
export type SessionEngine = 'livy' | 'spark-connect';

/** Whether one engine can open a session on the cluster, and if not, why. */
export interface IEngineReadiness {
  ready: boolean;
  reasons: string[];
}

export interface IReadiness {
  id: string;
  name: string;
  state: string;
  release: string;
  account: string;
  /** Usable by at least one engine; `reasons` says why not, every engine's. */
  ready: boolean;
  reasons: string[];
  checks: IReadinessCheck[];
  /** Per engine: Livy probed as the doctor probes it, Spark Connect sessions as EMR runs them. */
  engines: Record<SessionEngine, IEngineReadiness>;
  /** Whether the cluster runs EMR's Spark Connect sessions (its SessionEnabled). */
  session_enabled: boolean;
  /** A cluster's readiness, or an EMR Serverless application's. */
  kind: Kind;
}

/** The server's answer names the readiness by the kind checked. */
export interface ICheckResult {
  cluster?: IReadiness;
  application?: IReadiness;
  role: IRole;
}

/** The URL namespace of the server extension, under the server's base URL. */
export const NAMESPACE = 'jupyter-emr-roles';

/** An error as the server extension reports it: a code and one paragraph. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number = 0
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** AWS (or the server) refused for lack of permission, as opposed to "nothing there". */
  get isPermissionProblem(): boolean {
    return this.code === 'AccessDenied';
  }
}

/**
 * Turn a non-2xx answer into an ApiError. A body that is not the documented
 * `{code, message}` (a proxy's HTML page, a 404 from a server without the
 * extension) still gets a message that says what to check.
 */
export async function errorOf(response: Response): Promise<ApiError> {
  const text = await response.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  if (body !== null && typeof body === 'object') {
    const { code, message } = body as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && typeof message === 'string') {
      return new ApiError(code, message, response.status);
    }
  }
  if (response.status === 404) {
    return new ApiError(
      'NotInstalled',
      'The jupyter-emr-roles server extension did not answer. Check that it is enabled ' +
        '(jupyter server extension list) and restart JupyterLab.',
      404
    );
  }
  if (response.status === 403) {
    return new ApiError(
      'Forbidden',
      'The Jupyter server refused the request. Your login may have expired: reload the page.',
      403
    );
  }
  return new ApiError(
    `HTTP${response.status}`,
    `The jupyter-emr-roles server extension failed (HTTP ${response.status}). ` +
      'The Jupyter server log says why.',
    response.status
  );
}

export class EmrRolesClient {
  constructor(
    readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  /** The full URL of an endpoint, with its query parameters encoded. */
  url(path: string, query: Record<string, string> = {}): string {
    const base = URLExt.join(this.settings.baseUrl, NAMESPACE, path);
    const search = new URLSearchParams(query).toString();
    return search ? `${base}?${search}` : base;
  }

  roles(): Promise<IRolesCatalog> {
    return this.request<IRolesCatalog>(this.url('roles'));
  }

  /**
   * One ListClusters page; `marker` is the previous page's marker. With `account`, that
   * account's clusters, through the access role the roles files give it.
   */
  clusterPage(
    marker: string | null = null,
    states: string[] = [],
    account: string | null = null
  ): Promise<IClusterPage> {
    const query: Record<string, string> = {};
    if (marker !== null) {
      query.marker = marker;
    }
    if (states.length) {
      query.states = states.join(',');
    }
    if (account !== null) {
      query.account = account;
    }
    return this.request<IClusterPage>(this.url('clusters', query));
  }

  /** Every page of clusters, one at a time, so the first page can be shown at once. */
  clusterPages(
    states: string[] = [],
    account: string | null = null
  ): AsyncGenerator<IClusterSummary[]> {
    return pages(marker =>
      this.clusterPage(marker, states, account).then(page => [page.clusters, page.marker])
    );
  }

  /** One page of EMR Serverless applications, with their engines and readiness; `marker`
   *  and `account` as for `clusterPage`. */
  applicationPage(
    marker: string | null = null,
    account: string | null = null
  ): Promise<IApplicationPage> {
    const query: Record<string, string> = {};
    if (marker !== null) {
      query.marker = marker;
    }
    if (account !== null) {
      query.account = account;
    }
    return this.request<IApplicationPage>(this.url('applications', query));
  }

  /** Every page of EMR Serverless applications, as `clusterPages`. */
  applicationPages(account: string | null = null): AsyncGenerator<IApplicationSummary[]> {
    return pages(marker =>
      this.applicationPage(marker, account).then(page => [page.applications, page.marker])
    );
  }

  /** A cluster's details and runtime-role readiness; `account` as for `clusterPage`. */
  cluster(clusterId: string, account: string | null = null): Promise<IReadiness> {
    const query: Record<string, string> = account === null ? {} : { account };
    const path = `clusters/${encodeURIComponent(clusterId)}`;
    return this.request<IReadiness>(this.url(path, query));
  }

  /** An EMR Serverless application's readiness, in a cluster's shape. */
  application(applicationId: string, account: string | null = null): Promise<IReadiness> {
    const query: Record<string, string> = account === null ? {} : { account };
    const path = `applications/${encodeURIComponent(applicationId)}`;
    return this.request<IReadiness>(this.url(path, query));
  }

  /** Ask the server whether a cluster (or application) + role choice is allowed before a
   *  cell is written. */
  check(
    id: string,
    roleArn: string,
    accessRoleArn: string | null = null,
    kind: Kind = 'cluster'
  ): Promise<ICheckResult> {
    return this.request<ICheckResult>(this.url('check'), {
      method: 'POST',
      body: JSON.stringify({
        [kind === 'serverless' ? 'application_id' : 'cluster_id']: id,
        role_arn: roleArn,
        access_role_arn: accessRoleArn
      })
    });
  }

  /** The sessions kernels of this user that are gone left open. */
  async orphans(): Promise<IOrphan[]> {
    return (await this.request<{ orphans: IOrphan[] }>(this.url('orphans'))).orphans;
  }

  /** Close every session kernels that are gone left, each with the credentials of its role. */
  closeOrphans(): Promise<IClosed> {
    return this.request<IClosed>(this.url('orphans/close'), { method: 'POST' });
  }

  private async request<T>(url: string, init: RequestInit = {}): Promise<T> {
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch {
      throw new ApiError(
        'NetworkError',
        'The Jupyter server could not be reached. Check that it is still running.'
      );
    }
    if (!response.ok) {
      throw await errorOf(response);
    }
    try {
      return (await response.json()) as T;
    } catch {
      throw new ApiError(
        'BadResponse',
        'The jupyter-emr-roles server extension answered something that is not JSON.',
        response.status
      );
    }
  }
}

/**
 * Every page ``ask`` gives, one at a time, the next asked for while this one is drawn (a
 * caller that stops early leaves it unread). An empty page with a marker is not the end:
 * only a null marker is. A marker seen twice would loop forever, so it ends the listing
 * with an error.
 */
async function* pages<T>(
  ask: (marker: string | null) => Promise<[T[], string | null]>
): AsyncGenerator<T[]> {
  const seen = new Set<string>();
  let next: Promise<[T[], string | null]> | null = ask(null);
  while (next !== null) {
    const [rows, marker]: [T[], string | null] = await next;
    next = null;
    if (marker !== null) {
      if (seen.has(marker)) {
        throw new ApiError(
          'BadMarker',
          'The list repeated a page marker, so it was stopped. Reopen the dialog to try again.'
        );
      }
      seen.add(marker);
      next = ask(marker);
      next.catch(() => undefined);
    }
    yield rows;
  }
}
