import { Kernel } from '@jupyterlab/services';

import { SessionsChannel, rowsOf } from '../channel';
import { STATUS_TARGET } from '../kernel';
import { ROW } from './rows';


type Opener = (comm: { onMsg?: (message: unknown) => void }, open: unknown) => void;
type PageComm = { target: string; opened: unknown[]; onMsg?: (message: unknown) => void };

/** A kernel that records the comms a page opens and what it executes, and can open a comm
 *  of its own or answer on the page's as a kernel does. */
function fakeKernel(id = 'k1'): {
  kernel: Kernel.IKernelConnection;
  executed: Record<string, unknown>[];
  comms: PageComm[];
  open: (data: unknown) => { send: (data: unknown) => void };
} {
  const executed: Record<string, unknown>[] = [];
  const comms: PageComm[] = [];
  const targets = new Map<string, Opener>();
  const kernel = {
    id,
    registerCommTarget: (name: string, callback: Opener) => targets.set(name, callback),
    createComm: (target: string) => {
      const comm: PageComm & { open: (data: unknown) => void } = {
        target,
        opened: [],
        open: (data: unknown) => comm.opened.push(data)
      };
      comms.push(comm);
      return comm;
    },
    requestExecute: (content: Record<string, unknown>) => {
      executed.push(content);
      return { done: Promise.resolve({ content: { status: 'ok', user_expressions: {} } }) };
    }
  } as unknown as Kernel.IKernelConnection;
  const open = (data: unknown) => {
    const comm: { onMsg?: (message: unknown) => void } = {};
    targets.get(STATUS_TARGET)?.(comm, { content: { data } });
    return { send: (more: unknown) => comm.onMsg?.({ content: { data: more } }) };
  };
  return { kernel, executed, comms, open };
}

describe('rowsOf', () => {
  it('reads a snapshot and refuses anything else', () => {
    expect(rowsOf({ connections: [ROW] })).toEqual([ROW]);
    expect(rowsOf({ connections: [] })).toEqual([]);
    expect(rowsOf({})).toBeNull();
    expect(rowsOf(null)).toBeNull();
    expect(rowsOf({ connections: 'no' })).toBeNull();
  });
});

describe('SessionsChannel', () => {
  it('opens one comm per kernel, executes nothing, and takes the answer on it', () => {
    const channel = new SessionsChannel();
    const { kernel, executed, comms } = fakeKernel();
    channel.follow(kernel);
    channel.follow(kernel);
    expect(executed).toHaveLength(0);
    expect(comms.map(comm => [comm.target, comm.opened.length])).toEqual([[STATUS_TARGET, 1]]);
    comms[0].onMsg?.({ content: { data: { connections: [ROW] } } });
    expect(channel.rows(kernel)).toEqual([ROW]);
  });

  it('keeps what each kernel pushes, and says which kernel changed', () => {
    const channel = new SessionsChannel();
    const first = fakeKernel('k1');
    const second = fakeKernel('k2');
    channel.follow(first.kernel);
    channel.follow(second.kernel);
    const changed: string[] = [];
    channel.changed.connect((_, id) => changed.push(id));
    const comm = first.open({});
    expect(channel.rows(first.kernel)).toEqual([]);
    comm.send({ connections: [ROW] });
    second.open({ connections: [{ ...ROW, name: 'other' }] });
    expect(channel.rows(first.kernel)).toEqual([ROW]);
    expect(channel.rows(second.kernel)[0].name).toBe('other');
    comm.send({ connections: [] });
    expect(channel.rows(first.kernel)).toEqual([]);
    expect(changed).toEqual(['k1', 'k2', 'k1']);
    comm.send({ unrelated: true });
    expect(changed).toHaveLength(3);
  });

  it('forgets a kernel that restarted', () => {
    const channel = new SessionsChannel();
    const { kernel, open } = fakeKernel();
    channel.follow(kernel);
    open({ connections: [ROW] });
    channel.clear(kernel);
    expect(channel.rows(kernel)).toEqual([]);
  });
});
