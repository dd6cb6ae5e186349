import { ApiError, IReadiness } from '../api';
import { ReadinessQueue } from '../readiness';

/** Answers the test releases by hand, so the order and the limit of requests show. */
function controlled() {
  const pending = new Map<string, (answer: IReadiness | Error) => void>();
  const asked: string[] = [];
  const ask = (id: string) =>
    new Promise<IReadiness>((resolve, reject) => {
      asked.push(id);
      pending.set(id, answer => (answer instanceof Error ? reject(answer) : resolve(answer)));
    });
  const answer = async (id: string, ready = true) => {
    pending.get(id)!({ id, name: id, state: 'WAITING', release: 'emr-7.1.0', account: '1',
      ready, reasons: [], checks: [], session_enabled: false, kind: 'cluster',
      engines: { livy: { ready, reasons: [] }, 'spark-connect': { ready: false, reasons: [] } } });
    await new Promise(resolve => setTimeout(resolve, 0));
  };
  const fail = async (id: string) => {
    pending.get(id)!(new Error('boom'));
    await new Promise(resolve => setTimeout(resolve, 0));
  };
  return { ask, asked, answer, fail };
}

describe('ReadinessQueue', () => {
  it('asks at most its limit at once, urgent first, each cluster once', async () => {
    const { ask, asked, answer } = controlled();
    const changes: string[] = [];
    const queue = new ReadinessQueue(ask, id => changes.push(id), 2);
    ['a', 'b', 'c', 'd'].forEach(id => queue.request(id, false));
    expect(asked).toEqual(['a', 'b']);
    queue.request('d', true);
    queue.request('a', true);
    await answer('a');
    expect(asked).toEqual(['a', 'b', 'd']);
    expect(queue.get('a')).toMatchObject({ ready: true });
    expect(queue.isChecking('d')).toBe(true);
    await answer('b');
    await answer('d');
    expect(asked).toEqual(['a', 'b', 'd', 'c']);
    expect(changes.filter(id => id === 'a')).toEqual(['a', 'a']);
  });

  it('keeps a failure as an ApiError, and asks no more once disposed', async () => {
    const { ask, asked, fail } = controlled();
    const queue = new ReadinessQueue(ask, () => undefined, 1);
    queue.request('a', false);
    queue.request('b', false);
    queue.dispose();
    await fail('a');
    expect(asked).toEqual(['a']);
    expect(queue.get('a')).toBeUndefined();
    const second = new ReadinessQueue(ask, () => undefined, 1);
    second.request('c', false);
    await fail('c');
    expect(second.get('c')).toBeInstanceOf(ApiError);
    second.request('c', true);
    expect(asked).toEqual(['a', 'c']);
  });
});
