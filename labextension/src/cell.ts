/**
 * The code cells the dialog writes into the notebook.
 *
 * A cell is built only from values that match the documented shapes
 * (patterns.ts); anything else is refused with a message and never reaches
 * the cell text, so a hostile cluster name, role ARN or session name cannot
 * become code. The Livy settings are parsed and written back as JSON, so only
 * JSON ever goes into the cell body. The flags are %connect's own, read from
 * options.json (generated from jupyter_emr_roles/options.py), and
 * tests/test_options.py parses every cell this builder writes with %connect's
 * argument parser.
 */

import options from './options.json';
import {
  Engine,
  ENGINES,
  isApplicationId,
  isClusterId,
  isEngine,
  isLanguage,
  isRoleArn,
  isSessionName,
  Language,
  LANGUAGES,
  SESSION_NAME_RULE
} from './patterns';

/** The flag of each field the cell writes, as %connect declares it. */
const FLAGS = options.flags;

/** The line that registers the magics; a cell of its own, see `connectCells`. */
export const LOAD_EXT = '%load_ext jupyter_emr_roles';

/** The largest Livy settings body accepted: more is a mistake, not settings. */
export const MAX_SETTINGS_CHARS = 65536;

export interface IConnectChoice {
  /** The cluster; '' when the choice is an EMR Serverless application. */
  clusterId: string;
  /** The EMR Serverless application, instead of a cluster. */
  applicationId?: string;
  roleArn: string;
  /** The session name; empty means the magic's default (the role name). */
  name: string;
  language: Language;
  /** What runs the session; the magic's default (`auto`) is left out of the cell. */
  engine: Engine;
  /** Livy session settings as JSON text; empty for none. */
  settings: string;
  /** The access role of the cluster's account, when it is reached through one. */
  accessRoleArn?: string;
}

/** A choice the cell builder refused; the message names the field and the rule. */
export class InvalidChoice extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidChoice';
  }
}

/**
 * Parse the Livy settings text: a JSON object, without "kind" (the language
 * option chooses it). Returns null for empty text.
 */
export function parseSettings(text: string): Record<string, unknown> | null {
  if (!text.trim()) {
    return null;
  }
  if (text.length > MAX_SETTINGS_CHARS) {
    throw new InvalidChoice(
      `The Livy session settings are longer than ${MAX_SETTINGS_CHARS} characters.`
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidChoice(
      `The Livy session settings are not valid JSON (${(error as Error).message}). ` +
        'Write a JSON object such as {"driverMemory": "2g"}, or leave them empty.'
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidChoice(
      'The Livy session settings must be a JSON object such as {"driverMemory": "2g"}.'
    );
  }
  if (Object.prototype.hasOwnProperty.call(value, 'kind')) {
    throw new InvalidChoice(
      'The Livy session settings set "kind"; choose the language instead.'
    );
  }
  return value as Record<string, unknown>;
}

/** Throw InvalidChoice unless every field has its documented shape. */
export function validateChoice(choice: IConnectChoice): void {
  if (choice.applicationId !== undefined) {
    if (choice.clusterId !== '' || !isApplicationId(choice.applicationId)) {
      throw new InvalidChoice(
        'The EMR Serverless application ID is not valid: expected 1 to 64 lower-case ' +
          'letters and digits, and no cluster beside it.'
      );
    }
  } else if (!isClusterId(choice.clusterId)) {
    throw new InvalidChoice(
      "The cluster ID is not valid: expected 'j-' followed by upper-case letters and digits."
    );
  }
  if (!isRoleArn(choice.roleArn)) {
    throw new InvalidChoice(
      'The runtime role is not a valid IAM role ARN ' +
        '(arn:aws:iam::<12-digit account>:role/<name>).'
    );
  }
  if (choice.accessRoleArn && !isRoleArn(choice.accessRoleArn)) {
    throw new InvalidChoice('The access role is not a valid IAM role ARN.');
  }
  if (choice.name !== '' && !isSessionName(choice.name)) {
    throw new InvalidChoice(
      `The session name is not valid: use ${SESSION_NAME_RULE}.`
    );
  }
  if (!isLanguage(choice.language)) {
    throw new InvalidChoice(`The language must be one of ${LANGUAGES.join(', ')}.`);
  }
  if (!isEngine(choice.engine)) {
    throw new InvalidChoice(`The engine must be one of ${ENGINES.join(', ')}.`);
  }
  parseSettings(choice.settings);
}

/**
 * The connect cell for a choice: `%%connect` with the settings as its JSON body,
 * or the line magic `%connect` when there are none (IPython refuses a cell
 * magic with an empty body). Throws InvalidChoice for any invalid field.
 */
export function connectCell(choice: IConnectChoice): string {
  validateChoice(choice);
  const settings = parseSettings(choice.settings);
  const parts = [
    settings === null ? '%connect' : '%%connect',
    ...(choice.applicationId !== undefined
      ? [FLAGS.application_id, choice.applicationId]
      : [FLAGS.cluster_id, choice.clusterId]),
    FLAGS.role_arn,
    choice.roleArn
  ];
  if (choice.accessRoleArn) {
    parts.push(FLAGS.access_role_arn, choice.accessRoleArn);
  }
  if (choice.name) {
    parts.push(FLAGS.name, choice.name);
  }
  parts.push(FLAGS.language, choice.language);
  if (choice.engine !== options.defaults.engine) {
    parts.push(FLAGS.engine, choice.engine);
  }
  const body = settings === null ? '' : '\n' + JSON.stringify(settings, null, 2);
  return parts.join(' ') + body;
}

/**
 * The cells to insert: the connect cell, preceded by a `%load_ext` cell when
 * the kernel has not loaded the extension. IPython recognises a cell magic
 * only on a cell's first line, so `%load_ext` cannot share a `%%connect` cell.
 */
export function connectCells(choice: IConnectChoice, loaded: boolean): string[] {
  const cell = connectCell(choice);
  return loaded ? [cell] : [LOAD_EXT, cell];
}
