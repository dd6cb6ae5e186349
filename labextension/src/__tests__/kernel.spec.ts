import { Kernel } from '@jupyterlab/services';

import { LOADED_EXPRESSION, extensionLoaded } from '../kernel';
import { NOT_CONNECTED, statusText, statusTitle } from '../status';
import { ROW } from './rows';

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


describe('kernel questions', () => {
  it('asks silently, without history, whether the extension is loaded', async () => {
    const { kernel, requests } = fakeKernel({ status: 'ok', data: { 'text/plain': 'True' } });
    expect(await extensionLoaded(kernel)).toBe(true);
    expect(requests).toEqual([
      {
        code: '',
        silent: true,
        store_history: false,
        user_expressions: { value: LOADED_EXPRESSION },
        allow_stdin: false,
        stop_on_error: false
      }
    ]);
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
      'sales-data-access: python Livy session 3 on shared-analytics (j-1K48XXXXXXHCB) as ' +
        'arn:aws:iam::123456789012:role/sales-data-access for alice, idle'
    );
  });

  it('says why the service ended a session', () => {
    const ended = {
      ...ROW,
      engine: 'Spark Connect',
      session_id: 'is-ABCDEFGHIJKLM',
      state: 'ended',
      reason: 'Session idle for more than 60 minutes.'
    };
    expect(statusText([ended], labels)).toBe('EMR: Sales @ shared-analytics (ended)');
    expect(statusTitle([ended])).toMatch(/, ended: Session idle for more than 60 minutes\.$/);
  });
});
