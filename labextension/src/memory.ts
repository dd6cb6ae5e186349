/**
 * The last choice made in the dialog, per notebook, kept in JupyterLab's
 * state database (the workspace) under the notebook's path. The notebook file
 * itself is not touched, so opening the dialog never marks it changed. A
 * remembered value is only a suggestion: the dialog shows it only when it is
 * still valid and still listed.
 */

import { IStateDB } from '@jupyterlab/statedb';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { IConnectChoice } from './cell';
import {
  isApplicationId,
  isClusterId,
  isEngine,
  isLanguage,
  isRoleArn,
  isSessionName
} from './patterns';

const PREFIX = 'jupyter-emr-roles:last-choice:';

export class ChoiceMemory {
  constructor(private readonly state: IStateDB | null) {}

  /** The remembered choice for a notebook path; fields that are no longer valid are dropped. */
  async recall(path: string): Promise<Partial<IConnectChoice>> {
    if (!this.state) {
      return {};
    }
    const saved = ((await this.state.fetch(PREFIX + path).catch(() => undefined)) ??
      {}) as Record<string, unknown>;
    const choice: Partial<IConnectChoice> = {};
    if (isClusterId(saved.clusterId)) {
      choice.clusterId = saved.clusterId;
    } else if (isApplicationId(saved.applicationId)) {
      choice.applicationId = saved.applicationId;
    }
    if (isRoleArn(saved.roleArn)) {
      choice.roleArn = saved.roleArn;
    }
    if (isRoleArn(saved.accessRoleArn)) {
      choice.accessRoleArn = saved.accessRoleArn;
    }
    if (saved.name === '' || isSessionName(saved.name)) {
      choice.name = saved.name;
    }
    if (isLanguage(saved.language)) {
      choice.language = saved.language;
    }
    if (isEngine(saved.engine)) {
      choice.engine = saved.engine;
    }
    if (typeof saved.settings === 'string') {
      choice.settings = saved.settings;
    }
    return choice;
  }

  async remember(path: string, choice: IConnectChoice): Promise<void> {
    if (this.state) {
      const value: ReadonlyPartialJSONObject = { ...choice };
      await this.state.save(PREFIX + path, value);
    }
  }
}
