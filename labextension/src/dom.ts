/** Small DOM and wording helpers the dialog's pieces share. */

import { ApiError, IReadiness, SessionEngine } from './api';
import { Engine } from './patterns';
import vocabulary from './vocabulary.json';

/** The engines by the names the dialog shows (the kernel's picker's, vocabulary.json). */
export const ENGINE_NAMES: Record<SessionEngine, string> = vocabulary.engine_names;

export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  text = ''
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    node.setAttribute(name, value);
  }
  node.textContent = text;
  return node;
}

/** A labelled form row: the label, the control, and an optional hint under it. */
export function field(label: string, control: HTMLElement, hint?: HTMLElement): HTMLElement {
  const row = element('div', { class: 'jp-EmrRoles-field' });
  row.append(element('span', { class: 'jp-EmrRoles-fieldLabel' }, label), control);
  if (hint) {
    row.append(hint);
  }
  return row;
}

/** One paragraph for an error; a permission problem says so instead of looking like "nothing". */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    return error.isPermissionProblem ? `Permission problem: ${error.message}` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

export function notReadyMessage(readiness: IReadiness): string {
  const reasons = readiness.reasons.join(' ');
  return `${readiness.name} (${readiness.id}) is not ready for runtime roles: ${reasons}`;
}

/** Why the cluster cannot take a session with ``engine``, or null when it can. */
export function refusal(readiness: IReadiness, engine: Engine): string | null {
  if (!readiness.ready) {
    return notReadyMessage(readiness);
  }
  if (engine === 'auto' || readiness.engines[engine].ready) {
    return null;
  }
  const reasons = readiness.engines[engine].reasons.join(' ');
  return `${readiness.name} (${readiness.id}) cannot run ${ENGINE_NAMES[engine]}: ${reasons}`;
}

/** The engines a ready cluster can run, in words: "Livy and Spark Connect sessions". */
export function usableNames(readiness: IReadiness): string {
  const usable = (Object.keys(ENGINE_NAMES) as SessionEngine[]).filter(
    engine => readiness.engines[engine]?.ready
  );
  return usable.map(engine => ENGINE_NAMES[engine]).join(' and ');
}

/** What the dialog says under the list about the selected cluster's readiness. */
export function readinessDetails(readiness: IReadiness | ApiError | undefined): HTMLElement[] {
  if (readiness instanceof ApiError) {
    return [element('p', {}, 'Its readiness could not be checked. ' + describeError(readiness))];
  }
  if (readiness && !readiness.ready) {
    const list = element('ul', { class: 'jp-EmrRoles-reasons' });
    readiness.reasons.forEach(reason => list.append(element('li', {}, reason)));
    return [element('p', {}, `${readiness.name} is not ready for runtime roles:`), list];
  }
  if (readiness) {
    const { name, release, account } = readiness;
    const engines = usableNames(readiness);
    return [
      element('p', {}, `${name}: ${release}, account ${account}, ready for runtime roles (${engines}).`)
    ];
  }
  return [];
}

/** The dialog's two message areas: an alert with one paragraph per problem (by source, so a
 *  problem fixed is taken away) and a status line for what is going on. */
export class Notices {
  readonly alert = element('div', { role: 'alert', class: 'jp-EmrRoles-error' });
  readonly status = element('div', { role: 'status', class: 'jp-EmrRoles-loading' });

  constructor() {
    this.render();
  }

  has(source: string): boolean {
    return this.problems.has(source);
  }

  set(source: string, problem: string | null): void {
    if (problem) {
      this.problems.set(source, problem);
    } else {
      this.problems.delete(source);
    }
    this.render();
  }

  say(text: string): void {
    this.status.textContent = text;
    this.status.hidden = text === '';
  }

  private render(): void {
    this.alert.replaceChildren(...[...this.problems.values()].map(text => element('p', {}, text)));
    this.alert.hidden = this.problems.size === 0;
  }

  private readonly problems = new Map<string, string>();
}
