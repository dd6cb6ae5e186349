/**
 * The dialog's cluster list: a listbox filled page by page, kept keyboard
 * friendly (arrows, Home, End, Enter), with each row's kind (cluster, or
 * serverless for an EMR Serverless application, listed after the clusters) and
 * readiness badge. Rows coming into view are reported, so readiness is asked
 * only for what a user can see (every row where the browser cannot tell what
 * is in view).
 */

import { ApiError, IApplicationSummary, IClusterSummary } from './api';
import { describeError, element, usableNames } from './dom';
import { arnAccount } from './patterns';
import { Readiness } from './readiness';

let nextId = 0;

export interface IClusterListEvents {
  /** A row was selected, by the user or by the form. */
  selected(clusterId: string, byUser: boolean): void;
  /** A row came into view. */
  visible(clusterId: string): void;
  /** Enter or space on the list: go on to the next field. */
  done(): void;
}

export class ClusterList {
  readonly node: HTMLDivElement;

  constructor(private readonly events: IClusterListEvents) {
    this.prefix = `jp-EmrRoles-${++nextId}`;
    this.node = element('div', {
      role: 'listbox',
      'aria-label': 'Clusters',
      tabindex: '0',
      class: 'jp-EmrRoles-clusters'
    });
    this.node.addEventListener('click', this.onClick);
    this.node.addEventListener('keydown', this.onKeydown);
    if (typeof IntersectionObserver !== 'undefined') {
      this.observer = new IntersectionObserver(this.onIntersect, { root: this.node });
    }
  }

  get size(): number {
    return this.clusters.size;
  }

  get selected(): string | null {
    return this._selected;
  }

  /** The clusters in list order (usable ones first, see ``promote``). */
  get ids(): string[] {
    const rows = this.node.querySelectorAll<HTMLElement>('[data-cluster-id]');
    return [...rows].map(row => row.dataset.clusterId!);
  }

  /** A cluster found usable moves above the rows not known to be, after those found before it. */
  promote(clusterId: string): void {
    const option = this.options.get(clusterId);
    if (!option || this.usable.has(clusterId)) {
      return;
    }
    this.usable.add(clusterId);
    const ids = this.ids;
    const other = ids.findIndex(id => !this.usable.has(id));
    if (other !== -1 && other < ids.indexOf(clusterId)) {
      this.node.insertBefore(option, this.options.get(ids[other])!);
    }
  }

  summary(clusterId: string): IClusterSummary | undefined {
    return this.clusters.get(clusterId);
  }

  add(cluster: IClusterSummary | IApplicationSummary): void {
    if (this.clusters.has(cluster.id)) {
      return;
    }
    const kind = 'kind' in cluster ? cluster.kind : 'cluster';
    const option = element('div', {
      role: 'option',
      id: `${this.prefix}-option-${this.clusters.size}`,
      'aria-selected': 'false',
      class: 'jp-EmrRoles-cluster'
    });
    option.dataset.clusterId = cluster.id;
    option.dataset.kind = kind;
    option.append(
      element('span', { class: 'jp-EmrRoles-clusterName' }, cluster.name),
      element('span', { class: 'jp-EmrRoles-clusterId' }, cluster.id),
      element('span', { class: 'jp-EmrRoles-clusterAccount' }, arnAccount(cluster.arn)),
      element('span', { class: 'jp-EmrRoles-clusterKind' }, kind),
      element('span', { class: 'jp-EmrRoles-clusterState' }, cluster.state.toLowerCase()),
      element('span', { class: 'jp-EmrRoles-clusterRelease' }, ''),
      element('span', { class: 'jp-EmrRoles-badge', title: 'Readiness not checked yet' }, '')
    );
    this.clusters.set(cluster.id, cluster);
    this.options.set(cluster.id, option);
    const application = this.node.querySelector('[data-kind="serverless"]');
    this.node.insertBefore(option, kind === 'cluster' ? application : null);
    if (this.observer) {
      this.observer.observe(option);
    } else {
      this.events.visible(cluster.id);
    }
  }

  /** A row that is not a cluster: why an account's clusters are missing. */
  addProblem(text: string): void {
    const attributes = { role: 'option', 'aria-disabled': 'true', class: 'jp-EmrRoles-listProblem' };
    this.node.append(element('div', attributes, text));
  }

  select(clusterId: string, byUser: boolean): void {
    const option = this.options.get(clusterId);
    if (!option) {
      return;
    }
    if (this._selected !== null) {
      this.options.get(this._selected)?.setAttribute('aria-selected', 'false');
    }
    this._selected = clusterId;
    option.setAttribute('aria-selected', 'true');
    this.node.setAttribute('aria-activedescendant', option.id);
    option.scrollIntoView?.({ block: 'nearest' });
    this.events.selected(clusterId, byUser);
  }

  /** Show a row's readiness: its release, and a badge with the reasons on hover. */
  renderBadge(clusterId: string, readiness: Readiness | undefined, checking: boolean): void {
    const option = this.options.get(clusterId);
    const badge = option?.querySelector<HTMLElement>('.jp-EmrRoles-badge');
    if (!option || !badge) {
      return;
    }
    const release = option.querySelector('.jp-EmrRoles-clusterRelease');
    if (release && readiness !== undefined && !(readiness instanceof ApiError)) {
      release.textContent = readiness.release;
    }
    badge.classList.remove('jp-mod-ready', 'jp-mod-notReady', 'jp-mod-unknown');
    const [text, title, mod] = badgeOf(readiness, checking);
    badge.textContent = text;
    badge.title = title;
    if (mod) {
      badge.classList.add(mod);
    }
  }

  dispose(): void {
    this.observer?.disconnect();
  }

  private onClick = (event: MouseEvent): void => {
    const option = (event.target as HTMLElement).closest<HTMLElement>('[role="option"]');
    const id = option?.dataset.clusterId;
    if (id) {
      this.select(id, true);
      this.node.focus();
    }
  };

  private onKeydown = (event: KeyboardEvent): void => {
    const ids = this.ids;
    if (!ids.length) {
      return;
    }
    const at = this._selected === null ? -1 : ids.indexOf(this._selected);
    const moves: Record<string, number> = {
      ArrowDown: Math.min(at + 1, ids.length - 1),
      ArrowUp: Math.max(at - 1, 0),
      Home: 0,
      End: ids.length - 1
    };
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      event.stopPropagation();
      if (at === -1) {
        this.select(ids[0], true);
      }
      this.events.done();
    } else if (event.key in moves) {
      event.preventDefault();
      this.select(ids[moves[event.key]], true);
    }
  };

  private onIntersect = (entries: IntersectionObserverEntry[]): void => {
    for (const entry of entries) {
      const id = (entry.target as HTMLElement).dataset.clusterId;
      if (entry.isIntersecting && id) {
        this.events.visible(id);
      }
    }
  };

  private readonly prefix: string;
  private readonly observer: IntersectionObserver | null = null;
  private readonly clusters = new Map<string, IClusterSummary>();
  private readonly options = new Map<string, HTMLElement>();
  private readonly usable = new Set<string>();
  private _selected: string | null = null;
}

/** A badge's text, tooltip and style for a readiness answer. */
function badgeOf(readiness: Readiness | undefined, checking: boolean): [string, string, string] {
  if (readiness === undefined) {
    const title = 'Checking whether the cluster is ready for runtime roles';
    return [checking ? 'checking…' : '', title, ''];
  }
  if (readiness instanceof ApiError) {
    return ['unknown', describeError(readiness), 'jp-mod-unknown'];
  }
  if (readiness.ready) {
    return ['ready', `Ready for runtime roles: ${usableNames(readiness)}`, 'jp-mod-ready'];
  }
  return ['not ready', readiness.reasons.join('\n'), 'jp-mod-notReady'];
}
