/**
 * The status-bar item: the current notebook's EMR connections, as the kernel
 * reports them. It asks after each executed cell and on notebook switch;
 * asking is a silent user expression, so the UI never waits on it.
 */

import { NotebookActions, INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { IConnectionRow, kernelConnections } from './kernel';
import { roleName } from './patterns';

export const NOT_CONNECTED = 'EMR: not connected';

/** "EMR: Sales @ shared-analytics (idle) · ..." from the kernel's rows. */
export function statusText(rows: IConnectionRow[], labels: Map<string, string>): string {
  if (!rows.length) {
    return NOT_CONNECTED;
  }
  const parts = rows.map(row => {
    const role = labels.get(row.role) || roleName(String(row.role));
    return `${role} @ ${row.cluster_name || row.cluster} (${row.state})`;
  });
  return `EMR: ${parts.join(' · ')}`;
}

/** The tooltip: every session with its name, cluster ID, role ARN and Livy session. */
export function statusTitle(rows: IConnectionRow[]): string {
  if (!rows.length) {
    return 'This notebook has no EMR session. Use the EMR button in the notebook toolbar to connect.';
  }
  return rows
    .map(
      row =>
        `${row.name}: ${row.language} session ${row.livy_id} on ${row.cluster_name} ` +
        `(${row.cluster}) as ${row.role}, ${row.state}`
    )
    .join('\n');
}

export class ConnectionsStatus extends Widget {
  /**
   * @param labels - role ARN -> label, from GET roles; asked again on each
   *   refresh so a label added meanwhile shows up.
   */
  constructor(
    private readonly tracker: INotebookTracker,
    private readonly labels: () => Promise<Map<string, string>>
  ) {
    super();
    this.addClass('jp-EmrRoles-status');
    this.render(NOT_CONNECTED, statusTitle([]));
    tracker.currentChanged.connect(this.onCurrentChanged, this);
    NotebookActions.executed.connect((_, args) => {
      if (this.tracker.currentWidget?.content === args.notebook) {
        void this.refresh();
      }
    }, this);
    this.onCurrentChanged();
  }

  /** Ask the current notebook's kernel again; a stale answer never overwrites a newer one. */
  async refresh(): Promise<void> {
    const generation = ++this.generation;
    const panel = this.tracker.currentWidget;
    const kernel = panel?.sessionContext.session?.kernel;
    if (!kernel) {
      this.render(NOT_CONNECTED, statusTitle([]));
      return;
    }
    let rows: IConnectionRow[] | null;
    try {
      rows = await kernelConnections(kernel);
    } catch {
      rows = null;
    }
    const labels = rows?.length ? await this.labels().catch(() => new Map()) : new Map();
    if (generation !== this.generation) {
      return;
    }
    if (rows === null) {
      this.render(NOT_CONNECTED, 'The kernel could not report EMR sessions (is jupyter-emr-roles installed in it?).');
    } else {
      this.render(statusText(rows, labels), statusTitle(rows));
    }
  }

  private onCurrentChanged(): void {
    const before = this.watched?.sessionContext;
    before?.kernelChanged.disconnect(this.onKernelChanged, this);
    before?.statusChanged.disconnect(this.onStatusChanged, this);
    this.watched = this.tracker.currentWidget;
    const after = this.watched?.sessionContext;
    after?.kernelChanged.connect(this.onKernelChanged, this);
    after?.statusChanged.connect(this.onStatusChanged, this);
    void this.refresh();
  }

  private onKernelChanged(): void {
    void this.refresh();
  }

  /** A restarted or dead kernel has no sessions left: say so without asking it. */
  private onStatusChanged(_: unknown, status: string): void {
    if (status === 'restarting' || status === 'autorestarting' || status === 'dead') {
      ++this.generation;
      this.render(NOT_CONNECTED, statusTitle([]));
    }
  }

  private render(text: string, title: string): void {
    this.node.textContent = text;
    this.node.title = title;
  }

  private generation = 0;
  private watched: NotebookPanel | null = null;
}
