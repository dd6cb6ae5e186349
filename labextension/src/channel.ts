/**
 * The sessions each kernel pushes over its status comm, kept per kernel.
 *
 * A page that meets a kernel opens the comm (target
 * `jupyter-emr-roles.connections`) itself, and the kernel answers with what it
 * has at once, then sends `{"connections": [...]}` on it whenever a session
 * comes, goes, changes state or renews its login. So a reloaded tab, or a
 * second tab on the same notebook, has its own comm and sees the sessions the
 * kernel already holds. A kernel whose extension was not loaded yet when the
 * page met it closes that comm; once loaded, it opens one of its own to the
 * page. Nothing here asks the kernel per cell, and nothing executes code in it.
 */

import { Kernel, KernelMessage } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { IConnectionRow, STATUS_TARGET } from './kernel';

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

  /** Listen to a kernel's pushes, once per kernel connection: open the comm (the kernel
   *  answers with its sessions), and take the one a kernel opens itself. */
  follow(kernel: Kernel.IKernelConnection): void {
    if (this._followed.has(kernel)) {
      return;
    }
    this._followed.add(kernel);
    const listen = (message: KernelMessage.ICommMsgMsg) =>
      this.receive(kernel.id, message.content.data);
    kernel.registerCommTarget(STATUS_TARGET, (comm, open) => {
      this.receive(kernel.id, open.content.data);
      comm.onMsg = listen;
    });
    const comm = kernel.createComm(STATUS_TARGET);
    comm.onMsg = listen;
    comm.open({});
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
