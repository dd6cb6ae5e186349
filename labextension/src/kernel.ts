/**
 * Questions asked of a notebook's kernel as silent user expressions: nothing
 * appears in the notebook, the execution count does not move, and the answer
 * is the expression's repr.
 */

import { Kernel, KernelMessage } from '@jupyterlab/services';

/** Asks the kernel for this kernel's %connect sessions (a JSON string). */
export const CONNECTIONS_EXPRESSION = "__import__('jupyter_emr_roles').connections_json()";

/** True when `%load_ext jupyter_emr_roles` has registered the magics in this kernel. */
export const LOADED_EXPRESSION =
  "'EmrRolesMagics' in __import__('IPython').get_ipython().magics_manager.registry";

export interface IConnectionRow {
  name: string;
  cluster: string;
  cluster_name: string;
  role: string;
  language: string;
  livy_id: number;
  state: string;
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

const ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  n: '\n',
  r: '\r',
  t: '\t'
};

/**
 * The value of a Python `str` repr such as `'[{"name": "a"}]'`: the kernel
 * answers a user expression with the repr of its result. repr writes other
 * control characters as \x, \u or \U escapes.
 */
export function parsePythonStr(repr: string): string {
  const quote = repr[0];
  if (repr.length < 2 || (quote !== "'" && quote !== '"') || repr[repr.length - 1] !== quote) {
    throw new Error('not a Python string literal');
  }
  const body = repr.slice(1, -1);
  return body.replace(
    /\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[\s\S])/g,
    (_, escape: string) => {
      if (escape.length > 1) {
        return String.fromCodePoint(parseInt(escape.slice(1), 16));
      }
      const plain = ESCAPES[escape];
      if (plain === undefined) {
        return '\\' + escape;
      }
      return plain;
    }
  );
}

/** The kernel's connections, or null when the kernel cannot say (no package, not Python). */
export async function kernelConnections(
  kernel: Kernel.IKernelConnection
): Promise<IConnectionRow[] | null> {
  const repr = await evaluate(kernel, CONNECTIONS_EXPRESSION);
  if (repr === null) {
    return null;
  }
  try {
    const rows = JSON.parse(parsePythonStr(repr));
    return Array.isArray(rows) ? (rows as IConnectionRow[]) : null;
  } catch {
    return null;
  }
}

/** Whether the kernel has loaded the extension; false when it cannot tell. */
export async function extensionLoaded(kernel: Kernel.IKernelConnection): Promise<boolean> {
  return (await evaluate(kernel, LOADED_EXPRESSION)) === 'True';
}
