/**
 * The "Connect to EMR" dialog: a cluster listbox filled page by page, a
 * readiness badge fetched only for the rows in view or selected, the runtime
 * roles of the selected cluster's account, the language, the session name and
 * the Livy settings. On Connect the choice is checked by the server before the
 * dialog closes, and problems are shown inside the dialog.
 */

import { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import {
  ApiError,
  EmrRolesClient,
  IAccount,
  IClusterSummary,
  IReadiness,
  IRole,
  IRolesCatalog
} from './api';
import { IConnectChoice, parseSettings, validateChoice } from './cell';
import { arnAccount, isSessionName, Language, LANGUAGES, roleName } from './patterns';

/** How many readiness requests may be in flight at once. */
const READINESS_CONCURRENCY = 4;

const LANGUAGE_LABELS: Record<Language, string> = {
  python: 'Python (PySpark)',
  scala: 'Scala',
  r: 'R (SparkR)',
  sql: 'SQL'
};

/** One paragraph for an error; a permission problem says so instead of looking like "nothing". */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    return error.isPermissionProblem ? `Permission problem: ${error.message}` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

function element<K extends keyof HTMLElementTagNameMap>(
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

function field(label: string, control: HTMLElement, hint?: HTMLElement): HTMLElement {
  const row = element('div', { class: 'jp-EmrRoles-field' });
  row.append(element('span', { class: 'jp-EmrRoles-fieldLabel' }, label), control);
  if (hint) {
    row.append(hint);
  }
  return row;
}

let nextId = 0;

export class ConnectBody extends Widget implements Dialog.IBodyWidget<IConnectChoice> {
  constructor(
    private readonly client: EmrRolesClient,
    private readonly initial: Partial<IConnectChoice> = {}
  ) {
    super();
    this.addClass('jp-EmrRoles-dialog');
    this.prefix = `jp-EmrRoles-${++nextId}`;

    this.alert = element('div', { role: 'alert', class: 'jp-EmrRoles-error' });
    this.listbox = element('div', {
      role: 'listbox',
      'aria-label': 'Clusters',
      tabindex: '0',
      class: 'jp-EmrRoles-clusters'
    });
    this.status = element('div', { role: 'status', class: 'jp-EmrRoles-loading' });
    this.details = element('div', { class: 'jp-EmrRoles-details', 'aria-live': 'polite' });
    this.roleSelect = element('select', {
      'aria-label': 'Runtime role',
      class: 'jp-mod-styled'
    });
    this.roleNote = element('div', { class: 'jp-EmrRoles-note' });
    this.languageSelect = element('select', { 'aria-label': 'Language', class: 'jp-mod-styled' });
    for (const language of LANGUAGES) {
      this.languageSelect.append(element('option', { value: language }, LANGUAGE_LABELS[language]));
    }
    this.languageSelect.value = initial.language ?? 'python';
    this.nameInput = element('input', {
      'aria-label': 'Session name',
      class: 'jp-mod-styled',
      spellcheck: 'false',
      autocomplete: 'off'
    });
    this.nameInput.value = initial.name ?? '';
    this.nameHint = element('div', { class: 'jp-EmrRoles-hint' });
    this.settingsArea = element('textarea', {
      'aria-label': 'Livy session settings (JSON)',
      class: 'jp-mod-styled',
      rows: '3',
      spellcheck: 'false',
      placeholder: '{"driverMemory": "2g", "conf": {"spark.sql.shuffle.partitions": "64"}}'
    });
    this.settingsArea.value = initial.settings ?? '';
    this.settingsHint = element('div', { class: 'jp-EmrRoles-hint' });

    const clusterLabel = element('div', { class: 'jp-EmrRoles-fieldLabel' }, 'Cluster');
    this.node.append(
      this.alert,
      clusterLabel,
      this.listbox,
      this.status,
      this.details,
      field('Runtime role', this.roleSelect, this.roleNote),
      field('Language', this.languageSelect),
      field('Session name', this.nameInput, this.nameHint),
      field('Livy session settings (JSON)', this.settingsArea, this.settingsHint)
    );

    this.listbox.addEventListener('click', this.onListClick);
    this.listbox.addEventListener('keydown', this.onListKeydown);
    this.roleSelect.addEventListener('change', () => {
      this.roleChoice = this.roleSelect.value;
      this.updatePlaceholder();
    });
    this.nameInput.addEventListener('input', () => this.checkName());
    this.settingsArea.addEventListener('input', () => this.checkSettings());
    if (typeof IntersectionObserver !== 'undefined') {
      this.observer = new IntersectionObserver(this.onIntersect, { root: this.listbox });
    }
    this.showAlert();
    this.fillRoles();
    this.rolesLoaded = this.loadRoles();
    this.clustersLoaded = this.loadClusters();
  }

  /** Resolves when the roles and every cluster page have been asked for. */
  get loaded(): Promise<void> {
    return Promise.all([this.rolesLoaded, this.clustersLoaded]).then(() => undefined);
  }

  /** The checked choice; set by a successful `submit()`. */
  getValue(): IConnectChoice {
    if (this.accepted === null) {
      throw new Error('The choice was not checked');
    }
    return this.accepted;
  }

  /** The choice as the form shows it now, not yet validated. */
  currentChoice(): IConnectChoice {
    return {
      clusterId: this.selected ?? '',
      roleArn: this.roleSelect.disabled ? '' : this.roleSelect.value,
      name: this.nameInput.value.trim(),
      language: this.languageSelect.value as Language,
      settings: this.settingsArea.value
    };
  }

  /**
   * Validate the form and ask the server (POST check) whether the role may be
   * used on the cluster. Problems go to the alert; true when the dialog may close.
   */
  async submit(): Promise<boolean> {
    if (this.checking) {
      return false;
    }
    const choice = this.currentChoice();
    const problem = this.localProblem(choice);
    if (problem) {
      this.setError('submit', problem);
      return false;
    }
    this.checking = true;
    this.setError('submit', null);
    this.showStatus('Checking the cluster and role…');
    try {
      const result = await this.client.check(choice.clusterId, choice.roleArn);
      this.readiness.set(result.cluster.id, result.cluster);
      this.renderBadge(result.cluster.id);
      if (!result.cluster.ready) {
        this.setError('submit', notReadyMessage(result.cluster));
        return false;
      }
      this.accepted = choice;
      return true;
    } catch (error) {
      this.setError('submit', describeError(error));
      return false;
    } finally {
      this.checking = false;
      this.showStatus(this.loadingClusters ? 'Loading clusters…' : this.emptyText());
    }
  }

  dispose(): void {
    this.observer?.disconnect();
    super.dispose();
  }

  private localProblem(choice: IConnectChoice): string | null {
    if (!choice.clusterId) {
      return 'Choose a cluster.';
    }
    if (!choice.roleArn) {
      return 'Choose a runtime role (the selected cluster\'s account has none listed).';
    }
    try {
      validateChoice(choice);
    } catch (error) {
      return (error as Error).message;
    }
    const readiness = this.readiness.get(choice.clusterId);
    if (readiness && !(readiness instanceof ApiError) && !readiness.ready) {
      return notReadyMessage(readiness);
    }
    return null;
  }

  private async loadRoles(): Promise<void> {
    try {
      this.catalog = await this.client.roles();
    } catch (error) {
      this.setError('roles', describeError(error));
    }
    this.rolesDone = true;
    if (!this.isDisposed) {
      this.fillRoles();
    }
  }

  private async loadClusters(): Promise<void> {
    this.loadingClusters = true;
    this.showStatus('Loading clusters…');
    try {
      for await (const page of this.client.clusterPages()) {
        if (this.isDisposed) {
          return;
        }
        page.forEach(cluster => this.addCluster(cluster));
      }
    } catch (error) {
      if (!this.isDisposed) {
        this.setError('clusters', 'The clusters could not be listed. ' + describeError(error));
      }
    } finally {
      this.loadingClusters = false;
      if (!this.isDisposed) {
        this.showStatus(this.emptyText());
      }
    }
  }

  private emptyText(): string {
    if (this.clusters.size || this.errors.has('clusters')) {
      return '';
    }
    return 'No running or waiting clusters were found.';
  }

  private addCluster(cluster: IClusterSummary): void {
    if (this.clusters.has(cluster.id)) {
      return;
    }
    const option = element('div', {
      role: 'option',
      id: `${this.prefix}-option-${this.clusters.size}`,
      'aria-selected': 'false',
      class: 'jp-EmrRoles-cluster'
    });
    option.dataset.clusterId = cluster.id;
    option.append(
      element('span', { class: 'jp-EmrRoles-clusterName' }, cluster.name),
      element('span', { class: 'jp-EmrRoles-clusterId' }, cluster.id),
      element('span', { class: 'jp-EmrRoles-clusterState' }, cluster.state.toLowerCase()),
      element('span', { class: 'jp-EmrRoles-clusterRelease' }, ''),
      element('span', { class: 'jp-EmrRoles-badge', title: 'Readiness not checked yet' }, '')
    );
    this.clusters.set(cluster.id, cluster);
    this.optionNodes.set(cluster.id, option);
    this.listbox.append(option);
    this.observer?.observe(option);
    // The remembered cluster wins over the first one until the user picks.
    if (!this.touched && (this.selected === null || cluster.id === this.initial.clusterId)) {
      this.select(cluster.id, false);
    }
  }

  private select(clusterId: string, byUser = true): void {
    if (byUser) {
      this.touched = true;
    }
    const previous = this.selected === null ? null : this.optionNodes.get(this.selected);
    previous?.setAttribute('aria-selected', 'false');
    const option = this.optionNodes.get(clusterId);
    if (!option) {
      return;
    }
    this.selected = clusterId;
    option.setAttribute('aria-selected', 'true');
    this.listbox.setAttribute('aria-activedescendant', option.id);
    option.scrollIntoView?.({ block: 'nearest' });
    this.setError('submit', null);
    this.requestReadiness(clusterId, true);
    this.fillRoles();
    this.renderDetails();
  }

  private onListClick = (event: MouseEvent): void => {
    const option = (event.target as HTMLElement).closest<HTMLElement>('[role="option"]');
    const id = option?.dataset.clusterId;
    if (id) {
      this.select(id);
      this.listbox.focus();
    }
  };

  private onListKeydown = (event: KeyboardEvent): void => {
    const ids = [...this.optionNodes.keys()];
    if (!ids.length) {
      return;
    }
    const at = this.selected === null ? -1 : ids.indexOf(this.selected);
    let next: number;
    switch (event.key) {
      case 'ArrowDown':
        next = Math.min(at + 1, ids.length - 1);
        break;
      case 'ArrowUp':
        next = Math.max(at - 1, 0);
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = ids.length - 1;
        break;
      case 'Enter':
      case ' ':
        event.preventDefault();
        event.stopPropagation();
        if (at === -1) {
          this.select(ids[0]);
        }
        (this.roleSelect.disabled ? this.languageSelect : this.roleSelect).focus();
        return;
      default:
        return;
    }
    event.preventDefault();
    this.select(ids[next]);
  };

  private onIntersect = (entries: IntersectionObserverEntry[]): void => {
    for (const entry of entries) {
      const id = (entry.target as HTMLElement).dataset.clusterId;
      if (entry.isIntersecting && id) {
        this.requestReadiness(id, false);
      }
    }
  };

  /** Queue a readiness request; a selected cluster jumps the queue. */
  private requestReadiness(clusterId: string, urgent: boolean): void {
    if (this.readiness.has(clusterId) || this.inFlight.has(clusterId)) {
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

  private pump(): void {
    while (this.inFlight.size < READINESS_CONCURRENCY && this.queue.length) {
      const id = this.queue.shift()!;
      this.inFlight.add(id);
      this.renderBadge(id);
      this.client
        .cluster(id)
        .then(
          readiness => this.readiness.set(id, readiness),
          error =>
            this.readiness.set(
              id,
              error instanceof ApiError ? error : new ApiError('Error', describeError(error))
            )
        )
        .then(() => {
          this.inFlight.delete(id);
          if (this.isDisposed) {
            return;
          }
          this.renderBadge(id);
          if (id === this.selected) {
            this.fillRoles();
            this.renderDetails();
          }
          this.pump();
        });
    }
  }

  private renderBadge(clusterId: string): void {
    const badge = this.optionNodes.get(clusterId)?.querySelector<HTMLElement>('.jp-EmrRoles-badge');
    if (!badge) {
      return;
    }
    const readiness = this.readiness.get(clusterId);
    const release = badge.parentElement?.querySelector('.jp-EmrRoles-clusterRelease');
    if (release && readiness !== undefined && !(readiness instanceof ApiError)) {
      release.textContent = readiness.release;
    }
    badge.classList.remove('jp-mod-ready', 'jp-mod-notReady', 'jp-mod-unknown');
    if (readiness === undefined) {
      badge.textContent = this.inFlight.has(clusterId) ? 'checking…' : '';
      badge.title = 'Checking whether the cluster is ready for runtime roles';
    } else if (readiness instanceof ApiError) {
      badge.textContent = 'unknown';
      badge.title = describeError(readiness);
      badge.classList.add('jp-mod-unknown');
    } else if (readiness.ready) {
      badge.textContent = 'ready';
      badge.title = 'Ready for runtime roles';
      badge.classList.add('jp-mod-ready');
    } else {
      badge.textContent = 'not ready';
      badge.title = readiness.reasons.join('\n');
      badge.classList.add('jp-mod-notReady');
    }
  }

  private renderDetails(): void {
    const readiness = this.selected === null ? undefined : this.readiness.get(this.selected);
    this.details.replaceChildren();
    if (readiness instanceof ApiError) {
      this.details.append(
        element('p', {}, 'Its readiness could not be checked. ' + describeError(readiness))
      );
    } else if (readiness && !readiness.ready) {
      const list = element('ul', { class: 'jp-EmrRoles-reasons' });
      readiness.reasons.forEach(reason => list.append(element('li', {}, reason)));
      this.details.append(
        element('p', {}, `${readiness.name} is not ready for runtime roles:`),
        list
      );
    } else if (readiness) {
      this.details.append(
        element(
          'p',
          {},
          `${readiness.name}: ${readiness.release}, account ${readiness.account}, ready for runtime roles.`
        )
      );
    }
  }

  /** The account of the selected cluster: from its readiness, else from its ARN. */
  private selectedAccount(): string {
    if (this.selected === null) {
      return '';
    }
    const readiness = this.readiness.get(this.selected);
    if (readiness && !(readiness instanceof ApiError) && readiness.account) {
      return readiness.account;
    }
    return arnAccount(this.clusters.get(this.selected)?.arn ?? '');
  }

  private fillRoles(): void {
    const account = this.selectedAccount();
    const entry: IAccount | undefined = this.catalog?.accounts.find(a => a.account === account);
    const roles: IRole[] = entry?.roles ?? [];
    this.roleSelect.replaceChildren();
    this.roleNote.replaceChildren();
    for (const role of roles) {
      const option = element('option', { value: role.arn }, role.label || roleName(role.arn));
      option.title = `${role.arn}\nListed in: ${role.sources.join(', ')}`;
      this.roleSelect.append(option);
    }
    this.roleSelect.disabled = roles.length === 0;
    if (roles.length) {
      const wanted = [this.roleChoice, this.initial.roleArn, entry?.default_role]
        .concat(roles.filter(role => role.default).map(role => role.arn))
        .find(arn => arn && roles.some(role => role.arn === arn));
      this.roleSelect.value = wanted ?? roles[0].arn;
    } else if (this.selected === null) {
      this.roleNote.textContent = this.rolesDone ? 'Choose a cluster first.' : 'Loading roles…';
    } else if (!this.rolesDone) {
      this.roleNote.textContent = 'Loading roles…';
    } else if (this.catalog) {
      this.roleNote.append(
        `No runtime roles are listed for account ${account || '(unknown)'}. ` +
          'Ask your administrator to list one, or add it to your roles file with ',
        element('code', {}, 'jupyter-emr-roles roles add ARN'),
        ' and reopen this dialog.'
      );
    }
    this.updatePlaceholder();
  }

  private updatePlaceholder(): void {
    this.nameInput.placeholder = this.roleSelect.disabled ? '' : roleName(this.roleSelect.value);
  }

  private checkName(): void {
    const name = this.nameInput.value.trim();
    const ok = name === '' || isSessionName(name);
    this.markField(
      this.nameInput,
      this.nameHint,
      ok ? '' : 'Use 1 to 64 letters, digits or + = , . @ _ -'
    );
  }

  private checkSettings(): void {
    let problem = '';
    try {
      parseSettings(this.settingsArea.value);
    } catch (error) {
      problem = (error as Error).message;
    }
    this.markField(this.settingsArea, this.settingsHint, problem);
  }

  /** Mark a field invalid; JupyterLab's Dialog disables Connect while any field is jp-mod-error. */
  private markField(control: HTMLElement, hint: HTMLElement, problem: string): void {
    control.classList.toggle('jp-mod-error', problem !== '');
    control.setAttribute('aria-invalid', problem ? 'true' : 'false');
    hint.textContent = problem;
  }

  private setError(source: string, message: string | null): void {
    if (message) {
      this.errors.set(source, message);
    } else {
      this.errors.delete(source);
    }
    this.showAlert();
  }

  private showAlert(): void {
    this.alert.replaceChildren(...[...this.errors.values()].map(text => element('p', {}, text)));
    this.alert.hidden = this.errors.size === 0;
  }

  private showStatus(text: string): void {
    this.status.textContent = text;
    this.status.hidden = text === '';
  }

  private readonly prefix: string;
  private readonly rolesLoaded: Promise<void>;
  private readonly clustersLoaded: Promise<void>;
  private readonly alert: HTMLDivElement;
  private readonly listbox: HTMLDivElement;
  private readonly status: HTMLDivElement;
  private readonly details: HTMLDivElement;
  private readonly roleSelect: HTMLSelectElement;
  private readonly roleNote: HTMLDivElement;
  private readonly languageSelect: HTMLSelectElement;
  private readonly nameInput: HTMLInputElement;
  private readonly nameHint: HTMLDivElement;
  private readonly settingsArea: HTMLTextAreaElement;
  private readonly settingsHint: HTMLDivElement;
  private readonly observer: IntersectionObserver | null = null;
  private readonly clusters = new Map<string, IClusterSummary>();
  private readonly optionNodes = new Map<string, HTMLElement>();
  private readonly readiness = new Map<string, IReadiness | ApiError>();
  private readonly inFlight = new Set<string>();
  private readonly queue: string[] = [];
  private readonly errors = new Map<string, string>();
  private catalog: IRolesCatalog | null = null;
  private rolesDone = false;
  private selected: string | null = null;
  private roleChoice = '';
  private touched = false;
  private loadingClusters = false;
  private checking = false;
  private accepted: IConnectChoice | null = null;
}

function notReadyMessage(readiness: IReadiness): string {
  return `${readiness.name} (${readiness.id}) is not ready for runtime roles: ${readiness.reasons.join(' ')}`;
}

/** The dialog; Connect first asks `ConnectBody.submit()` and closes only when it succeeds. */
export class ConnectDialog extends Dialog<IConnectChoice> {
  constructor(private readonly form: ConnectBody) {
    super({
      title: 'Connect to EMR',
      body: form,
      buttons: [Dialog.cancelButton({ label: 'Cancel' }), Dialog.okButton({ label: 'Connect' })],
      defaultButton: 1,
      focusNodeSelector: '[role="listbox"]'
    });
    this.addClass('jp-EmrRoles-connectDialog');
  }

  resolve(index?: number): void {
    if ((index ?? 1) !== 1) {
      super.resolve(index);
      return;
    }
    void this.form.submit().then(ok => {
      if (ok) {
        super.resolve(index);
      }
    });
  }
}
