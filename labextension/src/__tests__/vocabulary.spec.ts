/**
 * The words the extension shares with the kernel come from vocabulary.json, the kernel's own
 * export (tests/test_labextension_units.py holds the file to `python -m
 * jupyter_emr_roles.vocabulary`): the status comm's target, the magics' class, the fields of a
 * connection row and the engine labels.
 */

import { ChoiceFields } from '../choiceFields';
import { IConnectionRow, LOADED_EXPRESSION, STATUS_TARGET } from '../kernel';
import vocabulary from '../vocabulary.json';
import { ROW } from './rows';

/** Every field IConnectionRow declares, optional ones too: tsc refuses a missing one. */
const EVERY_FIELD: Required<IConnectionRow> = {
  ...ROW,
  who: 'alice',
  reason: '',
  credentials_expire: '2026-12-07T01:00:00+00:00'
};

function offered(usable: ('livy' | 'spark-connect')[] | null): string[] {
  const fields = new ChoiceFields({});
  fields.offerEngines(usable);
  const engine = fields.rows[2].querySelector('select') as HTMLSelectElement;
  return Array.from(engine.options).map(option => option.textContent ?? '');
}

describe('vocabulary.json', () => {
  it('names the status comm and the magics the page asks for', () => {
    expect(STATUS_TARGET).toBe(vocabulary.status_target);
    expect(LOADED_EXPRESSION.startsWith(`'${vocabulary.magics_class}' in `)).toBe(true);
  });

  it('lists the fields of a connection row exactly as IConnectionRow declares them', () => {
    expect(Object.keys(EVERY_FIELD).sort()).toEqual(Object.keys(vocabulary.connection_row).sort());
    for (const [field, types] of Object.entries(vocabulary.connection_row)) {
      const value = EVERY_FIELD[field as keyof IConnectionRow];
      expect([field, types.split('|')]).toEqual([field, expect.arrayContaining([typeof value])]);
    }
  });

  it('words the engine choices as the kernel picker does', () => {
    const labels = vocabulary.engine_labels;
    const auto = (picked: 'livy' | 'spark-connect') =>
      vocabulary.auto_picks.replace('{engine}', vocabulary.picked_names[picked]);
    expect(offered(null)).toEqual([labels.auto, labels.livy, labels['spark-connect']]);
    expect(offered(['livy', 'spark-connect'])).toEqual([
      auto('spark-connect'),
      labels.livy,
      labels['spark-connect']
    ]);
    expect(offered(['livy'])).toEqual([auto('livy'), labels.livy]);
    expect(offered([])).toEqual([auto('livy')]);
  });
});
