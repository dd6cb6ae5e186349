/**
 * Where the dialog's rows come from: the caller's own account, and each
 * account the roles files reach through an access role (`GET
 * clusters?account=`), listed page by page into one list, with each account's
 * EMR Serverless applications (`GET applications?account=`) beside its
 * clusters. Each row remembers the account it was listed for and its kind, so
 * its readiness is asked the same way and the connect cell names the access
 * role and the right flag. A list that cannot be had (an access role refused,
 * no emr-serverless permission) is reported, to be shown as a row with the
 * reason rather than as an empty list.
 */

import {
  EmrRolesClient,
  IAccount,
  IApplicationSummary,
  IClusterSummary,
  IReadiness,
  IRolesCatalog,
  Kind
} from './api';

export interface IClusterSourceEvents {
  /** A page of clusters, or of EMR Serverless applications, arrived. */
  page(rows: (IClusterSummary | IApplicationSummary)[]): void;
  /** An account's (null: the caller's own) clusters or applications could not be listed. */
  failed(account: IAccount | null, error: unknown, kind: Kind): void;
}

export class ClusterSources {
  constructor(
    private readonly client: EmrRolesClient,
    private readonly events: IClusterSourceEvents
  ) {}

  /** The account to name when asking about a row; null for the caller's own. */
  account(id: string): string | null {
    return this.reachedBy.get(id)?.account ?? null;
  }

  /** The access role a row is reached through; '' for the caller's own. */
  accessRole(id: string): string {
    return this.reachedBy.get(id)?.access_role ?? '';
  }

  /** Whether a row is a cluster or an EMR Serverless application. */
  kind(id: string): Kind {
    return this.applications.has(id) ? 'serverless' : 'cluster';
  }

  /** A row's readiness (GET clusters/{id} or applications/{id}), asked as it was listed. */
  readiness(id: string): Promise<IReadiness> {
    const account = this.account(id);
    return this.kind(id) === 'serverless'
      ? this.client.application(id, account)
      : this.client.cluster(id, account);
  }

  /** List the caller's clusters and applications at once, and each reached account's once
   *  the roles are in. */
  async load(catalog: Promise<IRolesCatalog | null>): Promise<void> {
    const reached = catalog.then(found =>
      Promise.all(
        (found?.accounts ?? []).filter(a => a.access_role).map(a => this.listAccount(a))
      )
    );
    await Promise.all([this.listAccount(null), reached]);
  }

  private listAccount(entry: IAccount | null): Promise<unknown> {
    const account = entry?.account ?? null;
    return Promise.all([
      this.list(entry, 'cluster', this.client.clusterPages([], account)),
      this.list(entry, 'serverless', this.client.applicationPages(account))
    ]);
  }

  private async list(
    entry: IAccount | null,
    kind: Kind,
    pages: AsyncGenerator<(IClusterSummary | IApplicationSummary)[]>
  ): Promise<void> {
    try {
      for await (const page of pages) {
        for (const row of page) {
          if (entry !== null) {
            this.reachedBy.set(row.id, entry);
          }
          if (kind === 'serverless') {
            this.applications.add(row.id);
          }
        }
        this.events.page(page);
      }
    } catch (error) {
      this.events.failed(entry, error, kind);
    }
  }

  private readonly reachedBy = new Map<string, IAccount>();
  private readonly applications = new Set<string>();
}
