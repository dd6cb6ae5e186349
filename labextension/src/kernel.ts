/**
 * Questions asked of a notebook's kernel as silent user expressions: nothing
 * appears in the notebook, the execution count does not move, and the answer
 * is the expression's repr. The status bar asks none: the kernel pushes its
 * sessions over a comm (channel.ts).
 */

import { Kernel, KernelMessage } from '@jupyterlab/services';

import vocabulary from './vocabulary.json';

/** The comm the page opens (and the kernel answers on) for its sessions (vocabulary.py's
 *  `TARGET`, through vocabulary.json). */
export const STATUS_TARGET: string = vocabulary.status_target;

/** True when `%load_ext jupyter_emr_roles` has registered the magics in this kernel. */
export const LOADED_EXPRESSION =
  `'${vocabulary.magics_class}' in __import__('IPython').get_ipython().magics_manager.registry`;

/** A session as the kernel pushes it: sessions.py `ConnectionRow`, whose fields
 *  vocabulary.json lists as `connection_row` (a jest spec holds the two together). `who`,
 *  `reason` and `credentials_expire` are optional here: an older kernel does not send them. */
export interface IConnectionRow {
  name: string;
  cluster: string;
  cluster_name: string;
  role: string;
  /** The person the session is for (the source identity of access-role sessions). */
  who?: string;
  language: string;
  /** What runs the session ("Livy"), and its id there. */
  engine: string;
  session_id: number | string;
  state: string;
  /** Why the service ended the session (state "ended"): an idle timeout, its maximum lifetime. */
  reason?: string;
  credentials_expire?: string;
}

/**
 * Evaluate one expression silently; returns its text/plain repr, or null when
 * it raised (e.g. the package is not importable in this kernel).
 */
export async function evaluate(
  kernel: Kernel.IKernelConnection,
  expression: string
): Promise<string | null> {
  const future = kernel.requestExecute({
    code: '',
    silent: true,
    store_history: false,
    user_expressions: { value: expression },
    allow_stdin: false,
    stop_on_error: false
  });
  const reply = (await future.done) as KernelMessage.IExecuteReplyMsg;
  const content = reply.content;
  if (content.status !== 'ok') {
    return null;
  }
  const result = content.user_expressions?.value as
    | { status?: string; data?: Record<string, unknown> }
    | undefined;
  const text = result?.status === 'ok' ? result.data?.['text/plain'] : undefined;
  return typeof text === 'string' ? text : null;
}

/** Whether the kernel has loaded the extension; false when it cannot tell. */
export async function extensionLoaded(kernel: Kernel.IKernelConnection): Promise<boolean> {
  return (await evaluate(kernel, LOADED_EXPRESSION)) === 'True';
}
