/**
 * The dialog's fields after the cluster: the runtime role of the cluster's
 * account, the language, the session name and the Livy settings, each checked
 * as it is typed. JupyterLab's Dialog keeps Connect disabled while a field is
 * marked jp-mod-error.
 */

import { IAccount, SessionEngine } from './api';
import { parseSettings } from './cell';
import { element, field } from './dom';
import {
  Engine,
  ENGINES,
  isSessionName,
  Language,
  LANGUAGES,
  roleName,
  SESSION_NAME_RULE
} from './patterns';
import vocabulary from './vocabulary.json';

const LANGUAGE_LABELS: Record<Language, string> = {
  python: 'Python (PySpark)',
  scala: 'Scala',
  r: 'R (SparkR)',
  sql: 'SQL'
};

/** The engine choices, worded as the kernel's picker words them (vocabulary.json); "Automatic"
 *  names what the magic will pick for the cluster, once the cluster's readiness says which
 *  engines work there (null: not known yet). */
function engineLabel(engine: Engine, usable: SessionEngine[] | null): string {
  if (engine !== 'auto' || usable === null) {
    return vocabulary.engine_labels[engine];
  }
  const picked: SessionEngine = usable.includes('spark-connect') ? 'spark-connect' : 'livy';
  return vocabulary.auto_picks.replace('{engine}', vocabulary.picked_names[picked]);
}

/** The languages a session of ``engine`` can have on a cluster whose usable engines are
 *  ``usable`` (null: not known yet): Livy serves them all, a Spark Connect session is
 *  Python (`%connect` refuses another language there). */
export function languagesFor(engine: Engine, usable: SessionEngine[] | null): Language[] {
  const livy =
    engine === 'livy' || (engine === 'auto' && (usable === null || usable.includes('livy')));
  return livy ? [...LANGUAGES] : ['python'];
}

const PYTHON_ONLY = 'A Spark Connect session is Python: choose the Livy engine for this language.';

/** Why the role list is empty, when it is. */
export type RolesState = 'no-cluster' | 'loading' | 'loaded' | 'failed';

export interface IChoiceValues {
  roleArn: string;
  name: string;
  language: Language;
  engine: Engine;
  settings: string;
}

export class ChoiceFields {
  readonly rows: HTMLElement[];

  constructor(private readonly initial: Partial<IChoiceValues>) {
    this.role = element('select', { 'aria-label': 'Runtime role', class: 'jp-mod-styled' });
    this.language = element('select', { 'aria-label': 'Language', class: 'jp-mod-styled' });
    for (const language of LANGUAGES) {
      this.language.append(element('option', { value: language }, LANGUAGE_LABELS[language]));
    }
    this.languageChoice = initial.language ?? 'python';
    this.language.value = this.languageChoice;
    this.engine = element('select', { 'aria-label': 'Engine', class: 'jp-mod-styled' });
    this.engineChoice = initial.engine ?? 'auto';
    this.offerEngines(null);
    this.name = element('input', {
      'aria-label': 'Session name',
      class: 'jp-mod-styled',
      spellcheck: 'false',
      autocomplete: 'off'
    });
    this.name.value = initial.name ?? '';
    this.settings = element('textarea', {
      'aria-label': 'Livy session settings (JSON)',
      class: 'jp-mod-styled',
      rows: '3',
      spellcheck: 'false',
      placeholder: '{"driverMemory": "2g", "conf": {"spark.sql.shuffle.partitions": "64"}}'
    });
    this.settings.value = initial.settings ?? '';
    this.rows = [
      field('Runtime role', this.role, this.roleNote),
      field('Language', this.language),
      field('Engine', this.engine),
      field('Session name', this.name, this.nameHint),
      field('Livy session settings (JSON)', this.settings, this.settingsHint)
    ];
    this.role.addEventListener('change', () => {
      this.roleChoice = this.role.value;
      this.updatePlaceholder();
    });
    this.engine.addEventListener('change', () => {
      this.engineChoice = this.engine.value as Engine;
      this.offerLanguages();
    });
    this.language.addEventListener('change', () => {
      this.languageChoice = this.language.value as Language;
    });
    this.name.addEventListener('input', () => this.checkName());
    this.settings.addEventListener('input', () => this.checkSettings());
  }

  values(): IChoiceValues {
    return {
      roleArn: this.role.disabled ? '' : this.role.value,
      name: this.name.value.trim(),
      language: this.language.value as Language,
      engine: this.engine.value as Engine,
      settings: this.settings.value
    };
  }

  /** Focus the first field the user can change. */
  focus(): void {
    (this.role.disabled ? this.language : this.role).focus();
  }

  /** Offer the roles of ``entry`` (the cluster's account): the user's last pick, else the
   *  remembered one, else the default; when there are none, say why. */
  fillRoles(account: string, entry: IAccount | undefined, state: RolesState): void {
    const roles = entry?.roles ?? [];
    this.role.replaceChildren();
    this.roleNote.replaceChildren();
    for (const role of roles) {
      const option = element('option', { value: role.arn }, role.label || roleName(role.arn));
      option.title = `${role.arn}\nListed in: ${role.sources.join(', ')}`;
      this.role.append(option);
    }
    this.role.disabled = roles.length === 0;
    if (roles.length) {
      const wanted = [this.roleChoice, this.initial.roleArn, entry?.default_role]
        .concat(roles.filter(role => role.default).map(role => role.arn))
        .find(arn => arn && roles.some(role => role.arn === arn));
      this.role.value = wanted ?? roles[0].arn;
    } else if (state === 'no-cluster' || state === 'loading') {
      this.roleNote.textContent =
        state === 'loading' ? 'Loading roles…' : 'Choose a cluster first.';
    } else if (state === 'loaded') {
      this.roleNote.append(
        `No runtime roles are listed for account ${account || '(unknown)'}. ` +
          'Ask your administrator to list one, or add it to your roles file with ',
        element('code', {}, 'jupyter-emr-roles roles add ARN'),
        ' and reopen this dialog.'
      );
    }
    this.updatePlaceholder();
  }

  /** Offer only the engines that work on the selected cluster (its readiness per engine;
   *  every engine while that is not known); the user's choice is kept where the cluster can
   *  take it, auto elsewhere. */
  offerEngines(usable: SessionEngine[] | null): void {
    const chosen = this.engineChoice;
    const offered = ENGINES.filter(
      engine => engine === 'auto' || usable === null || usable.includes(engine)
    );
    this.engine.replaceChildren(
      ...offered.map(engine => element('option', { value: engine }, engineLabel(engine, usable)))
    );
    this.engine.value = offered.includes(chosen) ? chosen : 'auto';
    this.usable = usable;
    this.offerLanguages();
  }

  /** Languages the engine cannot run are shown disabled, saying why; the user's choice
   *  comes back once the engine can run it. */
  private offerLanguages(): void {
    const offered = languagesFor(this.engine.value as Engine, this.usable);
    for (const option of Array.from(this.language.options)) {
      option.disabled = !offered.includes(option.value as Language);
      option.title = option.disabled ? PYTHON_ONLY : '';
    }
    this.language.value = offered.includes(this.languageChoice) ? this.languageChoice : 'python';
  }

  private updatePlaceholder(): void {
    this.name.placeholder = this.role.disabled ? '' : roleName(this.role.value);
  }

  private checkName(): void {
    const name = this.name.value.trim();
    const ok = name === '' || isSessionName(name);
    markField(this.name, this.nameHint, ok ? '' : `Use ${SESSION_NAME_RULE}.`);
  }

  private checkSettings(): void {
    let problem = '';
    try {
      parseSettings(this.settings.value);
    } catch (error) {
      problem = (error as Error).message;
    }
    markField(this.settings, this.settingsHint, problem);
  }

  private readonly role: HTMLSelectElement;
  private readonly roleNote = element('div', { class: 'jp-EmrRoles-note' });
  private readonly language: HTMLSelectElement;
  private readonly engine: HTMLSelectElement;
  private readonly name: HTMLInputElement;
  private readonly nameHint = element('div', { class: 'jp-EmrRoles-hint' });
  private readonly settings: HTMLTextAreaElement;
  private readonly settingsHint = element('div', { class: 'jp-EmrRoles-hint' });
  private roleChoice = '';
  private engineChoice: Engine;
  private languageChoice: Language;
  private usable: SessionEngine[] | null = null;
}

/** Mark a field invalid (or valid again) and say why under it. */
function markField(control: HTMLElement, hint: HTMLElement, problem: string): void {
  control.classList.toggle('jp-mod-error', problem !== '');
  control.setAttribute('aria-invalid', problem ? 'true' : 'false');
  hint.textContent = problem;
}
