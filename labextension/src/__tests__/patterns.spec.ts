import * as fs from 'fs';

import {
  arnAccount,
  isAccountId,
  isApplicationId,
  isClusterId,
  isRoleArn,
  isSessionName,
  roleName
} from '../patterns';

/**
 * tests/test_labextension_units.py passes tests/identifier_cases.py as JSON in
 * this variable, so the TypeScript checks are held to the same table as the
 * Python ones. Run alone, the built-in table below still runs.
 */
const SHARED = process.env.EMR_ROLES_IDENTIFIER_CASES;

interface ICases {
  GOOD_ACCOUNTS: string[];
  BAD_ACCOUNTS: string[];
  GOOD_CLUSTERS: string[];
  BAD_CLUSTERS: string[];
  GOOD_ROLE_ARNS: string[];
  BAD_ROLE_ARNS: string[];
  GOOD_APPLICATIONS: string[];
  BAD_APPLICATIONS: string[];
}

const BUILT_IN: ICases = {
  GOOD_ACCOUNTS: ['123456789012', '000000000000'],
  BAD_ACCOUNTS: ['12345678901', '123456789012\n', '１２３４５６７８９０１２', '$(id)'],
  GOOD_CLUSTERS: ['j-1K48XXXXXXHCB', 'j-0', 'j-' + 'A'.repeat(64)],
  BAD_CLUSTERS: ['j-abc', 'j-', 'j-ABC\n', 'j-' + 'A'.repeat(65), "j-A'"],
  GOOD_ROLE_ARNS: [
    'arn:aws:iam::123456789012:role/sales-data-access',
    'arn:aws-us-gov:iam::123456789012:role/a/b/+=,.@_-'
  ],
  BAD_ROLE_ARNS: [
    'arn:aws:iam::123456789012:role/sales\n',
    'arn:aws:iam::123456789012:role/s ales',
    'arn:aws:iam::123456789012:user/sales'
  ],
  GOOD_APPLICATIONS: ['00fabcdefghij012', '0', 'a'.repeat(64)],
  BAD_APPLICATIONS: ['00FABC', 'j-ABC', '00fab\n', 'a'.repeat(65), '00-fab', '']
};

const tables: [string, ICases][] = [['built-in', BUILT_IN]];
if (SHARED) {
  tables.push(['tests/identifier_cases.py', JSON.parse(fs.readFileSync(SHARED, 'utf-8'))]);
}

describe.each(tables)('identifier checks (%s table)', (_, cases) => {
  it('accept the good and refuse the bad accounts', () => {
    expect(cases.GOOD_ACCOUNTS.filter(value => !isAccountId(value))).toEqual([]);
    expect(cases.BAD_ACCOUNTS.filter(isAccountId)).toEqual([]);
  });

  it('accept the good and refuse the bad cluster IDs', () => {
    expect(cases.GOOD_CLUSTERS.filter(value => !isClusterId(value))).toEqual([]);
    expect(cases.BAD_CLUSTERS.filter(isClusterId)).toEqual([]);
  });

  it('accept the good and refuse the bad role ARNs', () => {
    expect(cases.GOOD_ROLE_ARNS.filter(value => !isRoleArn(value))).toEqual([]);
    expect(cases.BAD_ROLE_ARNS.filter(isRoleArn)).toEqual([]);
  });

  it('accept the good and refuse the bad EMR Serverless application IDs', () => {
    expect(cases.GOOD_APPLICATIONS.filter(value => !isApplicationId(value))).toEqual([]);
    expect(cases.BAD_APPLICATIONS.filter(isApplicationId)).toEqual([]);
  });
});

describe('session names and ARN parts', () => {
  it('accepts IAM-name-like session names only', () => {
    expect(['a', 'sales-data-access', 'x'.repeat(64), '+=,.@_-'].every(isSessionName)).toBe(true);
    expect(['', 'x'.repeat(65), 'a b', 'a\n', 'ä', null, 3].some(isSessionName)).toBe(false);
  });

  it('reads the role name and the account of an ARN', () => {
    expect(roleName('arn:aws:iam::123456789012:role/team/sales')).toBe('sales');
    expect(arnAccount('arn:aws:elasticmapreduce:us-east-1:123456789012:cluster/j-1')).toBe(
      '123456789012'
    );
    expect(arnAccount('not an arn')).toBe('');
  });
});
