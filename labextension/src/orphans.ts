/**
 * The one-time offer to close the EMR sessions that kernels which are gone left open.
 *
 * A kernel killed by SIGKILL or the OOM killer closes nothing: its sessions stay open,
 * and billed, until Livy's or EMR's idle timeout. The server lists them from the
 * kernels' ledgers (`GET orphans`); this offers them once, as a JupyterLab notification
 * (its centre lives in the status bar), when the page opens and when a notebook's kernel
 * dies or restarts. Each session is offered once per browser: its key is remembered
 * whatever the answer, so "Not now" is not asked again at every reload.
 */

import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { IClosed, IOrphan } from './api';

export const OFFERED_KEY = 'jupyter-emr-roles:orphans-offered';
/** How many offered keys a browser keeps (the oldest go first). */
const KEPT_KEYS = 500;

/** What the offer needs of the REST client. */
export interface IOrphansApi {
  orphans(): Promise<IOrphan[]>;
  closeOrphans(): Promise<IClosed>;
}

/** What the offer needs of JupyterLab's notifications and dialogs (tests give fakes). */
export interface INotices {
  emit: typeof Notification.emit;
  update: typeof Notification.update;
  details(title: string, lines: string[], closeLabel: string | null): Promise<boolean>;
}

function plural(count: number, one: string, many: string): string {
  return count === 1 ? one : many;
}

/** The offer's one line (a notification shows 140 characters at most). */
export function offerMessage(orphans: IOrphan[]): string {
  const count = orphans.length;
  const names = orphans.map(orphan => orphan.name).join(', ');
  const shown = names.length > 40 ? `${names.slice(0, 39)}…` : names;
  return (
    `A kernel that is gone left ${count} EMR ${plural(count, 'session', 'sessions')} open ` +
    `(${shown}), billed until ${plural(count, 'its', 'their')} idle timeout.`
  );
}

/** What closing did, in one line. */
export function closedMessage(result: IClosed): string {
  const closed = result.lines.filter(line => line.startsWith('closed ')).length;
  const all = result.lines.length;
  if (result.failed) {
    return (
      `${result.failed} of ${all} EMR ${plural(all, 'session', 'sessions')} ` +
      'could not be closed; Details says why.'
    );
  }
  if (!closed) {
    return 'Nothing was left open: those EMR sessions had ended already.';
  }
  const sessions = plural(closed, 'session', 'sessions');
  return `Closed ${closed} EMR ${sessions} a kernel that is gone left.`;
}

/** One line per session, for the details dialog. */
export function describe(orphan: IOrphan): string {
  return (
    `${orphan.name}: ${orphan.engine} session ${orphan.session_id} on ${orphan.place} as ` +
    `${orphan.role_arn}, opened ${orphan.opened} by kernel ${orphan.kernel_pid}`
  );
}

export class OrphansOffer {
  constructor(
    private readonly api: IOrphansApi,
    private readonly notices: INotices = JUPYTERLAB_NOTICES,
    private readonly storage: Pick<Storage, 'getItem' | 'setItem'> = window.localStorage
  ) {}

  /** Ask the server and offer what was not offered yet; one check at a time. */
  check(): Promise<void> {
    this.checking ??= this.offer().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  /** Check again in a moment: a kernel just died, and its process is being reaped. */
  later(delayMs = 1500): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), delayMs);
  }

  private async offer(): Promise<void> {
    const offered = this.offered();
    const listed = await this.api.orphans().catch(() => []);
    const fresh = listed.filter(orphan => !offered.includes(orphan.key));
    if (!fresh.length) {
      return;
    }
    this.remember([...offered, ...fresh.map(orphan => orphan.key)]);
    const lines = fresh.map(describe);
    this.notices.emit(offerMessage(fresh), 'warning', {
      autoClose: false,
      actions: [
        { label: 'Close them', displayType: 'accent', callback: () => void this.close() },
        {
          label: 'Details',
          callback: () => void this.detailsThenClose(lines)
        },
        { label: 'Not now', callback: () => undefined }
      ]
    });
  }

  private async detailsThenClose(lines: string[]): Promise<void> {
    if (await this.notices.details('EMR sessions left open', lines, 'Close them')) {
      await this.close();
    }
  }

  private async close(): Promise<void> {
    const closing = 'Closing the EMR sessions a kernel that is gone left…';
    const id = this.notices.emit(closing, 'in-progress', { autoClose: false });
    let result: IClosed;
    try {
      result = await this.api.closeOrphans();
    } catch (error) {
      const message = (error as Error).message;
      this.notices.update({ id, message, type: 'error', autoClose: false });
      return;
    }
    this.notices.update({
      id,
      message: closedMessage(result),
      type: result.failed ? 'error' : 'success',
      autoClose: result.failed ? false : 5000,
      actions: [
        {
          label: 'Details',
          callback: () => void this.notices.details('EMR sessions left open', result.lines, null)
        }
      ]
    });
  }

  private offered(): string[] {
    try {
      const kept = JSON.parse(this.storage.getItem(OFFERED_KEY) ?? '[]');
      return Array.isArray(kept) ? kept.map(String) : [];
    } catch {
      return [];
    }
  }

  private remember(keys: string[]): void {
    try {
      this.storage.setItem(OFFERED_KEY, JSON.stringify(keys.slice(-KEPT_KEYS)));
    } catch {
      // A full or disabled storage costs an offer made again at the next reload, no more.
    }
  }

  private checking: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
}

/** The sessions, one per line, in a dialog; true where the user chose `closeLabel`. */
async function detailsDialog(
  title: string,
  lines: string[],
  closeLabel: string | null
): Promise<boolean> {
  const body = new Widget({ node: document.createElement('pre') });
  body.addClass('jp-EmrRoles-orphans');
  body.node.textContent = lines.join('\n');
  const buttons = closeLabel
    ? [Dialog.cancelButton({ label: 'Not now' }), Dialog.warnButton({ label: closeLabel })]
    : [Dialog.okButton({ label: 'OK' })];
  const result = await showDialog({ title, body, buttons });
  return closeLabel !== null && result.button.accept;
}

const JUPYTERLAB_NOTICES: INotices = {
  emit: (...args) => Notification.emit(...args),
  update: args => Notification.update(args),
  details: detailsDialog
};
