import { IConnectionRow } from '../kernel';

/** A kernel's session as the status bar receives it, for the specs that need one. */
export const ROW: IConnectionRow = {
  name: 'sales-data-access',
  cluster: 'j-1K48XXXXXXHCB',
  cluster_name: 'shared-analytics',
  role: 'arn:aws:iam::123456789012:role/sales-data-access',
  who: 'alice',
  language: 'python',
  engine: 'Livy',
  session_id: 3,
  state: 'idle'
};
