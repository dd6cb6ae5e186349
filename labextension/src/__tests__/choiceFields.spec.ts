import { ChoiceFields, languagesFor } from '../choiceFields';

interface ISelects {
  language: HTMLSelectElement;
  engine: HTMLSelectElement;
}

function selects(fields: ChoiceFields): ISelects {
  const find = (label: string) =>
    fields.rows
      .map(row => row.querySelector(`select[aria-label="${label}"]`))
      .find(found => found !== null) as HTMLSelectElement;
  return { language: find('Language'), engine: find('Engine') };
}

function choose(select: HTMLSelectElement, value: string): void {
  select.value = value;
  select.dispatchEvent(new Event('change'));
}

describe('languagesFor', () => {
  it('offers every language where Livy runs the session, Python alone for Spark Connect', () => {
    expect(languagesFor('livy', ['spark-connect'])).toEqual(['python', 'scala', 'r', 'sql']);
    expect(languagesFor('auto', null)).toEqual(['python', 'scala', 'r', 'sql']);
    const all = ['python', 'scala', 'r', 'sql'];
    expect(languagesFor('auto', ['livy', 'spark-connect'])).toEqual(all);
    expect(languagesFor('auto', ['spark-connect'])).toEqual(['python']);
    expect(languagesFor('spark-connect', ['livy', 'spark-connect'])).toEqual(['python']);
  });
});

describe('ChoiceFields languages', () => {
  it('disables Scala under Spark Connect, saying why, and brings the choice back with Livy', () => {
    const fields = new ChoiceFields({ language: 'scala' });
    const { language, engine } = selects(fields);
    fields.offerEngines(['livy', 'spark-connect']);
    expect(language.value).toBe('scala');

    choose(engine, 'spark-connect');
    const scala = Array.from(language.options).find(option => option.value === 'scala')!;
    expect(language.value).toBe('python');
    expect(scala.disabled).toBe(true);
    expect(scala.title).toContain('A Spark Connect session is Python');

    choose(engine, 'livy');
    expect(language.value).toBe('scala');
    expect(scala.disabled).toBe(false);
    expect(fields.values().language).toBe('scala');
  });

  it('offers Python alone on a cluster only Spark Connect can serve', () => {
    const fields = new ChoiceFields({ language: 'r' });
    fields.offerEngines(['spark-connect']);
    expect(fields.values()).toMatchObject({ engine: 'auto', language: 'python' });
  });
});
