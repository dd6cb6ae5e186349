import {
  connectCell,
  connectCells,
  IConnectChoice,
  InvalidChoice,
  LOAD_EXT,
  MAX_SETTINGS_CHARS
} from '../cell';

const GOOD: IConnectChoice = {
  clusterId: 'j-1K48XXXXXXHCB',
  roleArn: 'arn:aws:iam::123456789012:role/sales-data-access',
  name: '',
  language: 'python',
  engine: 'auto',
  settings: ''
};

/** Values an attacker or a typo could put in a field; each must be refused. */
const HOSTILE = [
  '',
  ' ',
  "x'; import os; os.system('id') #",
  'x" --no-verify "',
  'two words',
  'line\nbreak',
  'line\rbreak',
  'trailing\n',
  '$(id)',
  '`id`',
  '${HOME}',
  '{get_ipython().system("id")}',
  'a;b',
  'a|b',
  'a&b',
  'a>b',
  'tab\there',
  'nul\u0000',
  'ünïcödé',
  'sаles', // Cyrillic а
  'ｓａｌｅｓ', // full-width letters
  '\u202esales', // right-to-left override
  'x'.repeat(65),
  'x'.repeat(10000)
];

function refused(choice: IConnectChoice): void {
  expect(() => connectCell(choice)).toThrow(InvalidChoice);
  expect(() => connectCells(choice, false)).toThrow(InvalidChoice);
}

describe('connectCell with valid choices', () => {
  it('writes the line magic when there are no settings', () => {
    expect(connectCell(GOOD)).toBe(
      '%connect --cluster-id j-1K48XXXXXXHCB ' +
        '--role-arn arn:aws:iam::123456789012:role/sales-data-access --language python'
    );
  });

  it('names an EMR Serverless application with --application-id, never --cluster-id', () => {
    const cell = connectCell({ ...GOOD, clusterId: '', applicationId: '00fabcdefghij012' });
    expect(cell).toBe(
      '%connect --application-id 00fabcdefghij012 ' +
        '--role-arn arn:aws:iam::123456789012:role/sales-data-access --language python'
    );
  });

  it('refuses an application ID of the wrong shape, or one beside a cluster', () => {
    for (const applicationId of ['00FAB', 'j-1K48XXXXXXHCB', '00fab --no-verify', '']) {
      refused({ ...GOOD, clusterId: '', applicationId });
    }
    refused({ ...GOOD, applicationId: '00fabcdefghij012' });
  });

  it('names the access role of a cluster reached through one', () => {
    const access = 'arn:aws:iam::210987654321:role/emr-notebook-access';
    expect(connectCell({ ...GOOD, accessRoleArn: access })).toBe(
      '%connect --cluster-id j-1K48XXXXXXHCB ' +
        '--role-arn arn:aws:iam::123456789012:role/sales-data-access ' +
        `--access-role-arn ${access} --language python`
    );
  });

  it('refuses a hostile access role', () => {
    for (const value of HOSTILE.filter(text => text !== '')) {
      refused({ ...GOOD, accessRoleArn: value });
    }
  });

  it('writes the name, the language and the settings as JSON', () => {
    const cell = connectCell({
      clusterId: 'j-3SD91U2E1L2QX',
      roleArn: 'arn:aws-cn:iam::000000000001:role/team/data/Sales+EU=1,v.2@x_y-z',
      name: 'sales_eu-2',
      language: 'scala',
      engine: 'livy',
      settings: ' {"driverMemory":"2g", "conf": {"spark.sql.shuffle.partitions": "64"}} '
    });
    expect(cell).toBe(
      [
        '%%connect --cluster-id j-3SD91U2E1L2QX ' +
          '--role-arn arn:aws-cn:iam::000000000001:role/team/data/Sales+EU=1,v.2@x_y-z ' +
          '--name sales_eu-2 --language scala --engine livy',
        '{',
        '  "driverMemory": "2g",',
        '  "conf": {',
        '    "spark.sql.shuffle.partitions": "64"',
        '  }',
        '}'
      ].join('\n')
    );
  });

  it('accepts every language of the magic', () => {
    for (const language of ['python', 'scala', 'r', 'sql'] as const) {
      expect(connectCell({ ...GOOD, language })).toMatch(new RegExp(`--language ${language}$`));
    }
  });

  it('names the engine unless it is auto, the magic\'s default', () => {
    expect(connectCell(GOOD)).not.toContain('--engine');
    expect(connectCell({ ...GOOD, engine: 'spark-connect' })).toMatch(
      / --language python --engine spark-connect$/
    );
    expect(connectCell({ ...GOOD, engine: 'livy' })).toMatch(/ --engine livy$/);
  });

  it('refuses an engine the magic does not offer', () => {
    expect(() => connectCell({ ...GOOD, engine: 'yarn' as never })).toThrow(InvalidChoice);
  });

  it('puts %load_ext in a cell of its own when the kernel has not loaded the extension', () => {
    expect(connectCells(GOOD, false)).toEqual([LOAD_EXT, connectCell(GOOD)]);
    expect(connectCells(GOOD, true)).toEqual([connectCell(GOOD)]);
    expect(LOAD_EXT).toBe('%load_ext jupyter_emr_roles');
  });

  it('keeps hostile text inside settings strings as JSON data on the body lines', () => {
    const hostile = "$(id)'; import os\n%%bash\nrm -rf ~ #\u2028";
    const cell = connectCell({ ...GOOD, settings: JSON.stringify({ conf: { x: hostile } }) });
    const [line, ...body] = cell.split('\n');
    expect(line).toBe('%' + connectCell(GOOD));
    expect(body.some(text => /^\s*[%!]/.test(text))).toBe(false);
    expect(JSON.parse(body.join('\n'))).toEqual({ conf: { x: hostile } });
  });
});

describe('connectCell refuses hostile values', () => {
  it.each(HOSTILE)('as the cluster ID: %j', value => {
    refused({ ...GOOD, clusterId: value });
  });

  it.each(HOSTILE)('as the role name in the ARN: %j', value => {
    refused({ ...GOOD, roleArn: `arn:aws:iam::123456789012:role/${value}` });
  });

  it.each(HOSTILE.filter(value => value !== ''))('as the session name: %j', value => {
    refused({ ...GOOD, name: value });
  });

  it.each([...HOSTILE, 'Python', 'pyspark', 'spark', 'sql '])('as the language: %j', value => {
    refused({ ...GOOD, language: value as IConnectChoice['language'] });
  });

  it.each([
    'j-abc',
    'j-',
    'J-ABC',
    'j-ABC\n',
    'j-' + 'A'.repeat(65),
    'i-ABC',
    ' j-ABC'
  ])('as a near-miss cluster ID: %j', value => {
    refused({ ...GOOD, clusterId: value });
  });

  it.each([
    'arn:aws:iam::123456789012:user/sales',
    'arn:aws:iam::12345678901:role/sales',
    'arn:aws:iam:us-east-1:123456789012:role/sales',
    'arn:aws:sts::123456789012:role/sales',
    'arn:aws-xx:iam::123456789012:role/sales',
    'arn:aws:iam::123456789012:role/',
    'arn:aws:iam::123456789012:role//sales',
    'arn:aws:iam::123456789012:role/sales\n',
    'arn:aws:iam::123456789012:role/sales --no-verify',
    'arn:aws:iam::123456789012:role/' + 'a/'.repeat(300) + 'sales',
    'arn:aws:iam::123456789012:role/' + 's'.repeat(65)
  ])('as a near-miss role ARN: %j', value => {
    refused({ ...GOOD, roleArn: value });
  });

  it.each([
    '[1, 2]',
    '"driverMemory"',
    '42',
    'null',
    'true',
    '{"driverMemory": "2g"',
    "{'driverMemory': '2g'}",
    '{"kind": "spark"}',
    '{"a": 1}\n%%bash',
    '{"a": 1} $(id)',
    '{"a": "' + 'x'.repeat(MAX_SETTINGS_CHARS) + '"}'
  ])('as the Livy settings: %j', value => {
    refused({ ...GOOD, settings: value });
  });

  it('never puts a refused value into the text of a cell', () => {
    for (const value of HOSTILE.filter(text => text.trim() !== '')) {
      for (const key of ['clusterId', 'roleArn', 'name', 'language'] as const) {
        let text = '';
        try {
          text = connectCell({ ...GOOD, [key]: value });
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidChoice);
          expect((error as Error).message).not.toContain(value);
        }
        expect(text).toBe('');
      }
    }
  });
});
