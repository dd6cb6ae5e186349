/**
 * Where the dialog's clusters come from: the caller's own account, and each
 * account the roles files reach through an access role (`GET
 * clusters?account=`), listed page by page into one list. Each cluster
 * remembers the account it was listed for, so its readiness is asked the same
 * way and the connect cell names the access role. An account that cannot be
 * listed (its access role refused, say) is reported, to be shown as a row
 * with the reason rather than as an empty list.
 */

import { EmrRolesClient, IAccount, IClusterSummary, IRolesCatalog } from './api';

export interface IClusterSourceEvents {
  /** A page of clusters arrived. */
  page(clusters: IClusterSummary[]): void;
  /** An account (null: the caller's own) could not be listed. */
  failed(account: IAccount | null, error: unknown): void;
}

export class ClusterSources {
  constructor(
    private readonly client: EmrRolesClient,
    private readonly events: IClusterSourceEvents
  ) {}

  /** The account to name when asking about a cluster; null for the caller's own. */
  account(clusterId: string): string | null {
    return this.reachedBy.get(clusterId)?.account ?? null;
  }

  /** The access role a cluster is reached through; '' for the caller's own clusters. */
  accessRole(clusterId: string): string {
    return this.reachedBy.get(clusterId)?.access_role ?? '';
  }

  /** List the caller's clusters at once, and each reached account's once the roles are in. */
  async load(catalog: Promise<IRolesCatalog | null>): Promise<void> {
    const reached = catalog.then(found =>
      Promise.all((found?.accounts ?? []).filter(a => a.access_role).map(a => this.list(a)))
    );
    await Promise.all([this.list(null), reached]);
  }

  private async list(entry: IAccount | null): Promise<void> {
    try {
      for await (const page of this.client.clusterPages([], entry?.account ?? null)) {
        if (entry !== null) {
          page.forEach(cluster => this.reachedBy.set(cluster.id, entry));
        }
        this.events.page(page);
      }
    } catch (error) {
      this.events.failed(entry, error);
    }
  }

  private readonly reachedBy = new Map<string, IAccount>();
}
