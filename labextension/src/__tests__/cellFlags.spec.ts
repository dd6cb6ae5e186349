/**
 * Every shape of cell the builder writes, one per combination of the fields it
 * may leave out or vary. With EMR_ROLES_CELLS_OUT set, the cells are written to
 * that file as JSON: tests/test_options.py parses each with %connect's own
 * argument parser, so a flag the magic does not accept fails there.
 */

import { writeFileSync } from 'fs';

import { connectCell, IConnectChoice } from '../cell';
import options from '../options.json';
import { ENGINES, LANGUAGES } from '../patterns';

const ACCESS = 'arn:aws:iam::210987654321:role/emr-notebook-access';
/** A cluster, or an EMR Serverless application (--application-id). */
const PLACES = [
  { clusterId: 'j-1K48XXXXXXHCB' },
  { clusterId: '', applicationId: '00fabcdefghij012' }
];

function everyChoice(): IConnectChoice[] {
  const choices: IConnectChoice[] = [];
  for (const language of LANGUAGES) {
    for (const engine of ENGINES) {
      for (const name of ['', 'sales_eu-2']) {
        for (const accessRoleArn of [undefined, ACCESS]) {
          for (const settings of ['', '{"conf": {"spark.sql.shuffle.partitions": "64"}}']) {
            for (const where of PLACES) {
              choices.push({
                ...where,
                roleArn: 'arn:aws:iam::123456789012:role/sales-data-access',
                name,
                language,
                engine,
                settings,
                accessRoleArn
              });
            }
          }
        }
      }
    }
  }
  return choices;
}

describe('the cells the builder can write', () => {
  it('use only the flags options.json names, and go to EMR_ROLES_CELLS_OUT', () => {
    const cells = everyChoice().map(connectCell);
    const flags = new Set<string>(Object.values(options.flags));
    for (const cell of cells) {
      const words = cell.split('\n')[0].split(' ');
      const written = words.filter(word => word.startsWith('--'));
      expect(written.filter(flag => !flags.has(flag))).toEqual([]);
    }
    expect(new Set(cells).size).toBe(cells.length);
    const out = process.env.EMR_ROLES_CELLS_OUT;
    if (out) {
      writeFileSync(out, JSON.stringify(cells));
    }
  });
});
