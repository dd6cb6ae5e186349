/**
 * The "Connect to EMR" dialog: the cluster list (clusterList.ts) filled page
 * by page, with the EMR Serverless applications after the clusters (their
 * readiness comes with their rows), readiness asked only for the rows in view
 * or selected (readiness.ts), and the fields of the choice (choiceFields.ts).
 * Clusters found usable move to the top; the dialog preselects the notebook's
 * last cluster or application if it is usable, else the first usable cluster,
 * never one that is not. On Connect the choice is checked by the server before
 * the dialog closes, and problems are shown inside the dialog.
 */

import { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import {
  ApiError,
  EmrRolesClient,
  IAccount,
  IApplicationSummary,
  IClusterSummary,
  IRolesCatalog,
  Kind
} from './api';
import { IConnectChoice, validateChoice } from './cell';
import { ChoiceFields, RolesState } from './choiceFields';
import { ClusterList } from './clusterList';
import { ClusterSources } from './clusterSources';
import { describeError, element, Notices, readinessDetails, refusal } from './dom';
import { arnAccount, roleName } from './patterns';
import { READINESS_CONCURRENCY, ReadinessQueue } from './readiness';

export { describeError } from './dom';

/** EMR's page of clusters: how far the dialog looks for a ready cluster to preselect. */
const FIRST_PAGE = 50;

export class ConnectBody extends Widget implements Dialog.IBodyWidget<IConnectChoice> {
  constructor(
    private readonly client: EmrRolesClient,
    private readonly initial: Partial<IConnectChoice> = {}
  ) {
    super();
    this.addClass('jp-EmrRoles-dialog');
    this.sources = new ClusterSources(client, {
      page: rows => this.onPage(rows),
      failed: (account, error, kind) => this.onFailed(account, error, kind)
    });
    this.readiness = new ReadinessQueue(
      id => this.sources.readiness(id),
      id => this.onReadiness(id)
    );
    this.list = new ClusterList({
      selected: (id, byUser) => this.onSelected(id, byUser),
      visible: id => this.readiness.request(id, false),
      done: () => this.fields.focus()
    });
    this.fields = new ChoiceFields(initial);
    const label = element('div', { class: 'jp-EmrRoles-fieldLabel' }, 'Cluster or application');
    const { alert, status } = this.notices;
    this.node.append(alert, label, this.list.node, status, this.details, ...this.fields.rows);
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
    const id = this.list.selected ?? '';
    const accessRoleArn = this.sources.accessRole(id);
    const access = accessRoleArn ? { accessRoleArn } : {};
    return { ...placeOf(id, this.sources.kind(id)), ...this.fields.values(), ...access };
  }

  /** Validate, then ask the server (POST check) whether the role may be used on the cluster;
   *  problems go to the alert; true when the dialog may close. */
  async submit(): Promise<boolean> {
    if (this.checking) {
      return false;
    }
    const choice = this.currentChoice();
    const problem = localProblem(choice, this.readiness);
    this.notices.set('submit', problem);
    if (problem) {
      return false;
    }
    this.checking = true;
    this.notices.say('Checking the cluster and role…');
    try {
      const [id, kind] = idOf(choice);
      const access = choice.accessRoleArn ?? null;
      const answer = await this.client.check(id, choice.roleArn, access, kind);
      const found = (answer.cluster ?? answer.application)!;
      this.readiness.set(found.id, found);
      const refused = refusal(found, choice.engine);
      this.accepted = refused === null ? choice : null;
      this.notices.set('submit', refused);
    } catch (error) {
      this.notices.set('submit', describeError(error));
    } finally {
      this.checking = false;
      this.notices.say(this.loadingClusters ? 'Loading clusters…' : this.emptyText());
    }
    return this.accepted !== null;
  }

  dispose(): void {
    this.list.dispose();
    this.readiness.dispose();
    super.dispose();
  }

  private async loadRoles(): Promise<void> {
    try {
      this.catalog = await this.client.roles();
    } catch (error) {
      this.notices.set('roles', describeError(error));
    }
    this.rolesState = this.catalog ? 'loaded' : 'failed';
    if (!this.isDisposed) {
      this.fillRoles();
    }
  }

  private async loadClusters(): Promise<void> {
    this.loadingClusters = true;
    this.notices.say('Loading clusters…');
    await this.sources.load(this.rolesLoaded.then(() => this.catalog));
    this.loadingClusters = false;
    if (!this.isDisposed) {
      this.notices.say(this.emptyText());
    }
  }

  /** Rows of a page; an application's readiness comes with it. */
  private onPage(rows: (IClusterSummary | IApplicationSummary)[]): void {
    if (!this.isDisposed) {
      rows.forEach(row => this.list.add(row));
      rows.forEach(row => 'readiness' in row && this.readiness.set(row.id, row.readiness));
      this.preselect();
    }
  }

  /** The caller's own clusters failing is the dialog's problem; another list's is a row. */
  private onFailed(account: IAccount | null, error: unknown, kind: Kind): void {
    if (!this.isDisposed && account === null && kind === 'cluster') {
      this.notices.set('clusters', 'The clusters could not be listed. ' + describeError(error));
    } else if (!this.isDisposed) {
      this.list.addProblem(listProblem(account, error, kind));
    }
  }

  /** Until the user picks, select what ``preselection`` says. */
  private preselect(): void {
    const last = this.initial.applicationId ?? this.initial.clusterId;
    const ids = this.list.ids.filter(id => id === last || this.sources.kind(id) === 'cluster');
    const wanted = this.touched ? undefined : preselection(ids, last, this.readiness);
    if (wanted !== undefined && wanted !== this.list.selected) {
      this.list.select(wanted, false);
    }
  }

  private onSelected(clusterId: string, byUser: boolean): void {
    this.touched = this.touched || byUser;
    this.notices.set('submit', null);
    this.readiness.request(clusterId, true);
    this.fillRoles();
    this.renderDetails();
  }

  private onReadiness(clusterId: string): void {
    if (this.isDisposed) {
      return;
    }
    const checking = this.readiness.isChecking(clusterId);
    this.list.renderBadge(clusterId, this.readiness.get(clusterId), checking);
    if (this.readiness.isReady(clusterId) && this.sources.kind(clusterId) === 'cluster') {
      this.list.promote(clusterId);
    }
    if (clusterId === this.list.selected) {
      this.fillRoles();
      this.renderDetails();
    }
    this.preselect();
  }

  private renderDetails(): void {
    this.details.replaceChildren(...readinessDetails(this.readiness.get(this.list.selected ?? '')));
    this.fields.offerEngines(this.readiness.usableEngines(this.list.selected ?? ''));
  }

  /** The roles of the selected cluster's account: from its readiness, else from its ARN. */
  private fillRoles(): void {
    const selected = this.list.selected ?? '';
    const account =
      this.readiness.account(selected) || arnAccount(this.list.summary(selected)?.arn ?? '');
    const entry = this.catalog?.accounts.find(a => a.account === account);
    this.fields.fillRoles(account, entry, selected ? this.rolesState : 'no-cluster');
  }

  private emptyText(): string {
    const empty = !this.list.size && !this.notices.has('clusters');
    return empty ? 'No running or waiting clusters were found.' : '';
  }

  private readonly rolesLoaded: Promise<void>;
  private readonly clustersLoaded: Promise<void>;
  private readonly sources: ClusterSources;
  private readonly readiness: ReadinessQueue;
  private readonly list: ClusterList;
  private readonly fields: ChoiceFields;
  private readonly notices = new Notices();
  private readonly details = element('div', {
    class: 'jp-EmrRoles-details',
    'aria-live': 'polite'
  });
  private catalog: IRolesCatalog | null = null;
  private rolesState: RolesState = 'loading';
  private touched = false;
  private loadingClusters = false;
  private checking = false;
  private accepted: IConnectChoice | null = null;
}

/** The row shown for an account whose clusters (or applications) could not be listed. */
function listProblem(account: IAccount | null, error: unknown, kind: Kind): string {
  const what = kind === 'serverless' ? 'EMR Serverless applications of ' : '';
  const whose =
    account === null
      ? 'your account'
      : `account ${account.account} (through ${roleName(account.access_role ?? '')})`;
  const text = `${what}${whose}: ${describeError(error)}`;
  return text[0].toUpperCase() + text.slice(1);
}

/** A choice's fields that name the cluster or the application. */
function placeOf(id: string, kind: Kind): Pick<IConnectChoice, 'clusterId' | 'applicationId'> {
  return kind === 'serverless' ? { clusterId: '', applicationId: id } : { clusterId: id };
}

/** The choice's cluster or application, and which it is. */
function idOf(choice: IConnectChoice): [string, Kind] {
  return choice.applicationId !== undefined
    ? [choice.applicationId, 'serverless']
    : [choice.clusterId, 'cluster'];
}

/** The notebook's last cluster once it is known to be ready (it is asked first), else the first
 *  ready one in the list; never a cluster not known to be ready. While none is, the first
 *  unanswered clusters of the first page are asked (they are the ones in view, where the
 *  browser cannot tell). */
function preselection(
  ids: string[],
  initial: string | undefined,
  readiness: ReadinessQueue
): string | undefined {
  const last = ids.find(id => id === initial);
  if (last !== undefined && readiness.get(last) === undefined) {
    readiness.request(last, true);
    return undefined;
  }
  const wanted = [last, ...ids].find(id => id !== undefined && readiness.isReady(id));
  if (wanted === undefined) {
    ids
      .slice(0, FIRST_PAGE)
      .filter(id => readiness.get(id) === undefined)
      .slice(0, READINESS_CONCURRENCY)
      .forEach(id => readiness.request(id, false));
  }
  return wanted;
}

/** What is wrong with a choice before the server is asked, or null. */
function localProblem(choice: IConnectChoice, readiness: ReadinessQueue): string | null {
  const [id] = idOf(choice);
  if (!id) {
    return 'Choose a cluster.';
  }
  if (!choice.roleArn) {
    return "Choose a runtime role (the selected cluster's account has none listed).";
  }
  try {
    validateChoice(choice);
  } catch (error) {
    return (error as Error).message;
  }
  const answer = readiness.get(id);
  return answer && !(answer instanceof ApiError) ? refusal(answer, choice.engine) : null;
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
