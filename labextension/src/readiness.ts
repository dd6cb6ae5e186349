/**
 * Readiness answers for clusters, asked a few at a time: no DOM, so its order
 * and its limits are tested on their own.
 *
 * A cluster is asked at most once; a selected cluster jumps the queue; a
 * failed answer is kept as its ApiError (shown as "unknown"), so the list
 * does not ask again while the dialog is open.
 */

import { ApiError, IReadiness, SessionEngine } from './api';
import { describeError } from './dom';

/** How many readiness requests may be in flight at once. */
export const READINESS_CONCURRENCY = 4;

export type Readiness = IReadiness | ApiError;

export class ReadinessQueue {
  /**
   * @param ask - the request for one cluster (GET clusters/{id})
   * @param changed - called with a cluster's id when its request starts and when it ends
   */
  constructor(
    private readonly ask: (clusterId: string) => Promise<IReadiness>,
    private readonly changed: (clusterId: string) => void,
    private readonly concurrency = READINESS_CONCURRENCY
  ) {}

  get(clusterId: string): Readiness | undefined {
    return this.answers.get(clusterId);
  }

  /** Known to be ready (not merely not known to be unready). */
  isReady(clusterId: string): boolean {
    const answer = this.answers.get(clusterId);
    return answer !== undefined && !(answer instanceof ApiError) && answer.ready;
  }

  /** The account a readiness answer names, '' when there is none yet. */
  account(clusterId: string): string {
    const answer = this.answers.get(clusterId);
    return answer && !(answer instanceof ApiError) ? answer.account : '';
  }

  /** The engines that can open a session on the cluster; null while that is not known. */
  usableEngines(clusterId: string): SessionEngine[] | null {
    const answer = this.answers.get(clusterId);
    if (answer === undefined || answer instanceof ApiError) {
      return null;
    }
    const engines = Object.keys(answer.engines) as SessionEngine[];
    return engines.filter(engine => answer.engines[engine].ready);
  }

  isChecking(clusterId: string): boolean {
    return this.inFlight.has(clusterId);
  }

  /** An answer learnt another way (the server's check on Connect). */
  set(clusterId: string, readiness: Readiness): void {
    this.answers.set(clusterId, readiness);
    this.changed(clusterId);
  }

  /** Ask for a cluster unless it is answered, asked or queued; ``urgent`` goes first. */
  request(clusterId: string, urgent: boolean): void {
    if (this.answers.has(clusterId) || this.inFlight.has(clusterId)) {
      return;
    }
    const queued = this.queue.indexOf(clusterId);
    if (queued !== -1) {
      if (!urgent) {
        return;
      }
      this.queue.splice(queued, 1);
    }
    if (urgent) {
      this.queue.unshift(clusterId);
    } else {
      this.queue.push(clusterId);
    }
    this.pump();
  }

  /** No more answers are delivered (the dialog closed). */
  dispose(): void {
    this.disposed = true;
    this.queue.length = 0;
  }

  private pump(): void {
    while (!this.disposed && this.inFlight.size < this.concurrency && this.queue.length) {
      const id = this.queue.shift()!;
      this.inFlight.add(id);
      this.changed(id);
      this.ask(id)
        .then(
          readiness => readiness as Readiness,
          error => (error instanceof ApiError ? error : new ApiError('Error', describeError(error)))
        )
        .then(answer => {
          this.inFlight.delete(id);
          if (this.disposed) {
            return;
          }
          this.set(id, answer);
          this.pump();
        });
    }
  }

  private disposed = false;
  private readonly answers = new Map<string, Readiness>();
  private readonly inFlight = new Set<string>();
  private readonly queue: string[] = [];
}
