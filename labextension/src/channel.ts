/**
 * The sessions each kernel pushes over its status comm, kept per kernel.
 *
 * The kernel opens the comm (target `jupyter-emr-roles.connections`) and sends
 * `{"connections": [...]}` whenever a session comes, goes, changes state or
 * renews its login. Nothing here asks the kernel per cell: a kernel met for
 * the first time is asked once to push what it has, silently.
 */

import { Kernel, KernelMessage } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { IConnectionRow, PUBLISH_EXPRESSION, STATUS_TARGET, evaluate } from './kernel';

/** The rows of a comm message, or null when the message is not a snapshot. */
export function rowsOf(data: unknown): IConnectionRow[] | null {
  const rows = (data as { connections?: unknown } | null)?.connections;
  return Array.isArray(rows) ? (rows as IConnectionRow[]) : null;
}

export class SessionsChannel {
  /** Emits the id of a kernel whose sessions changed. */
  get changed(): ISignal<this, string> {
    return this._changed;
  }

  /** The last sessions the kernel pushed; empty before it pushed any. */
  rows(kernel: Kernel.IKernelConnection): IConnectionRow[] {
    return this._rows.get(kernel.id) ?? [];
  }

  /** Listen to a kernel's pushes, once per kernel connection, and ask it once to push. */
  follow(kernel: Kernel.IKernelConnection): void {
    if (this._followed.has(kernel)) {
      return;
    }
    this._followed.add(kernel);
    kernel.registerCommTarget(STATUS_TARGET, (comm, open) => {
      this.receive(kernel.id, open.content.data);
      comm.onMsg = (message: KernelMessage.ICommMsgMsg) =>
        this.receive(kernel.id, message.content.data);
    });
    void evaluate(kernel, PUBLISH_EXPRESSION).catch(() => null);
  }

  /** A kernel that restarted or died has no sessions left. */
  clear(kernel: Kernel.IKernelConnection): void {
    this._rows.delete(kernel.id);
    this._changed.emit(kernel.id);
  }

  private receive(kernelId: string, data: unknown): void {
    const rows = rowsOf(data);
    if (rows) {
      this._rows.set(kernelId, rows);
      this._changed.emit(kernelId);
    }
  }

  private readonly _rows = new Map<string, IConnectionRow[]>();
  private readonly _followed = new WeakSet<Kernel.IKernelConnection>();
  private readonly _changed = new Signal<this, string>(this);
}
