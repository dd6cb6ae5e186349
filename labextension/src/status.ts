/**
 * The status-bar item: the current notebook's EMR connections, as its kernel
 * pushes them when they change (channel.ts). A cell that changes nothing costs
 * the status bar nothing: no kernel execution, no Livy request.
 */

import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Kernel } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import { SessionsChannel } from './channel';
import { IConnectionRow } from './kernel';
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

/** The tooltip: every session with its name, cluster ID, role ARN, person and engine session. */
export function statusTitle(rows: IConnectionRow[]): string {
  if (!rows.length) {
    return 'This notebook has no EMR session. Use the EMR button in the notebook toolbar to connect.';
  }
  return rows
    .map(
      row =>
        `${row.name}: ${row.language} ${row.engine} session ${row.session_id} ` +
        `on ${row.cluster_name} (${row.cluster}) as ${row.role}` +
        `${row.who ? ` for ${row.who}` : ''}, ${row.state}` +
        `${row.reason ? `: ${row.reason}` : ''}`
    )
    .join('\n');
}

export class ConnectionsStatus extends Widget {
  /**
   * @param labels - role ARN -> label, from GET roles; asked again when the sessions shown
   *   change, so a label added meanwhile shows up.
   */
  constructor(
    private readonly tracker: INotebookTracker,
    private readonly labels: () => Promise<Map<string, string>>,
    private readonly channel: SessionsChannel = new SessionsChannel()
  ) {
    super();
    this.addClass('jp-EmrRoles-status');
    this.render(NOT_CONNECTED, statusTitle([]));
    tracker.currentChanged.connect(this.onCurrentChanged, this);
    channel.changed.connect((_, kernelId) => {
      if (this.currentKernel()?.id === kernelId) {
        void this.show();
      }
    }, this);
    this.onCurrentChanged();
  }

  /** Show the current notebook's sessions as its kernel last pushed them; no kernel asked. */
  async show(): Promise<void> {
    const generation = ++this.generation;
    const kernel = this.currentKernel();
    const rows = kernel ? this.channel.rows(kernel) : [];
    const labels = rows.length ? await this.labels().catch(() => new Map()) : new Map();
    if (generation === this.generation) {
      this.render(statusText(rows, labels), statusTitle(rows));
    }
  }

  private currentKernel(): Kernel.IKernelConnection | null {
    return this.tracker.currentWidget?.sessionContext.session?.kernel ?? null;
  }

  private onCurrentChanged(): void {
    const before = this.watched?.sessionContext;
    before?.kernelChanged.disconnect(this.onKernelChanged, this);
    before?.statusChanged.disconnect(this.onStatusChanged, this);
    this.watched = this.tracker.currentWidget;
    const after = this.watched?.sessionContext;
    after?.kernelChanged.connect(this.onKernelChanged, this);
    after?.statusChanged.connect(this.onStatusChanged, this);
    this.onKernelChanged();
  }

  private onKernelChanged(): void {
    const kernel = this.currentKernel();
    if (kernel) {
      this.channel.follow(kernel);
    }
    void this.show();
  }

  /** A restarted or dead kernel has no sessions left: say so without asking it. */
  private onStatusChanged(_: unknown, status: string): void {
    const kernel = this.currentKernel();
    if (kernel && (status === 'restarting' || status === 'autorestarting' || status === 'dead')) {
      this.channel.clear(kernel);
    }
  }

  private render(text: string, title: string): void {
    this.node.textContent = text;
    this.node.title = title;
  }

  private generation = 0;
  private watched: NotebookPanel | null = null;
}
