import { Kernel } from '@jupyterlab/services';

import {
  CONNECTIONS_EXPRESSION,
  extensionLoaded,
  kernelConnections,
  parsePythonStr
} from '../kernel';
import { NOT_CONNECTED, statusText, statusTitle } from '../status';

/** A kernel that answers every user expression with one result and records the requests. */
function fakeKernel(result: unknown, status = 'ok'): {
  kernel: Kernel.IKernelConnection;
  requests: unknown[];
} {
  const requests: unknown[] = [];
  const kernel = {
    requestExecute: (content: unknown) => {
      requests.push(content);
      return {
        done: Promise.resolve({ content: { status, user_expressions: { value: result } } })
      };
    }
  } as unknown as Kernel.IKernelConnection;
  return { kernel, requests };
}

const ROW = {
  name: 'sales-data-access',
  cluster: 'j-1K48XXXXXXHCB',
  cluster_name: 'shared-analytics',
  role: 'arn:aws:iam::123456789012:role/sales-data-access',
  language: 'python',
  livy_id: 3,
  state: 'idle'
};

describe('parsePythonStr', () => {
  it.each([
    ["'[]'", '[]'],
    [`'[{"name": "a"}]'`, '[{"name": "a"}]'],
    [`"it's"`, "it's"],
    [`'it\\'s "x"'`, `it's "x"`],
    ["'back\\\\slash'", 'back\\slash'],
    ["'a\\nb\\tc\\rd'", 'a\nb\tc\rd'],
    ["'\\x00\\x1b'", '\u0000\u001b'],
    ["'\\u2028 \\U0001f600'", '\u2028 \u{1f600}'],
    ["'ünïcödé'", 'ünïcödé']
  ])('reads %s', (repr, value) => {
    expect(parsePythonStr(repr)).toBe(value);
  });

  it.each(['', "'", '[]', "'abc\"", 'None'])('refuses %j', repr => {
    expect(() => parsePythonStr(repr)).toThrow();
  });
});

describe('kernel questions', () => {
  it('asks silently, without history, for the connections', async () => {
    const repr = `'${JSON.stringify([ROW])}'`;
    const { kernel, requests } = fakeKernel({ status: 'ok', data: { 'text/plain': repr } });
    expect(await kernelConnections(kernel)).toEqual([ROW]);
    expect(requests).toEqual([
      {
        code: '',
        silent: true,
        store_history: false,
        user_expressions: { value: CONNECTIONS_EXPRESSION },
        allow_stdin: false,
        stop_on_error: false
      }
    ]);
    expect(CONNECTIONS_EXPRESSION).toBe("__import__('jupyter_emr_roles').connections_json()");
  });

  it('says null when the expression failed in the kernel', async () => {
    const { kernel } = fakeKernel({ status: 'error', ename: 'ModuleNotFoundError' });
    expect(await kernelConnections(kernel)).toBeNull();
  });

  it('says null when the answer is not a JSON list', async () => {
    const { kernel } = fakeKernel({ status: 'ok', data: { 'text/plain': "'{}'" } });
    expect(await kernelConnections(kernel)).toBeNull();
  });

  it('reads whether the extension is loaded', async () => {
    expect(await extensionLoaded(fakeKernel({ status: 'ok', data: { 'text/plain': 'True' } }).kernel)).toBe(true);
    expect(await extensionLoaded(fakeKernel({ status: 'ok', data: { 'text/plain': 'False' } }).kernel)).toBe(false);
    expect(await extensionLoaded(fakeKernel(undefined, 'error').kernel)).toBe(false);
  });
});

describe('status text', () => {
  const labels = new Map([[ROW.role, 'Sales']]);

  it('says not connected without sessions', () => {
    expect(statusText([], labels)).toBe(NOT_CONNECTED);
    expect(NOT_CONNECTED).toBe('EMR: not connected');
  });

  it('shows the role label, the cluster name and the state', () => {
    expect(statusText([ROW], labels)).toBe('EMR: Sales @ shared-analytics (idle)');
  });

  it('falls back to the role name and joins sessions with a dot', () => {
    const other = {
      ...ROW,
      name: 'm',
      role: 'arn:aws:iam::123456789012:role/marketing-data-access',
      cluster_name: '',
      state: 'busy'
    };
    expect(statusText([ROW, other], labels)).toBe(
      'EMR: Sales @ shared-analytics (idle) · marketing-data-access @ j-1K48XXXXXXHCB (busy)'
    );
  });

  it('puts the details in the tooltip', () => {
    expect(statusTitle([ROW])).toBe(
      'sales-data-access: python session 3 on shared-analytics (j-1K48XXXXXXHCB) as ' +
        'arn:aws:iam::123456789012:role/sales-data-access, idle'
    );
  });
});
