/**
 * The shapes of every value that goes into a generated `%%connect` cell.
 *
 * These are the same anchored patterns as `jupyter_emr_roles/identifiers.py`
 * (and the languages of `connect_request.py`); tests/test_labextension_units.py reads this file as text
 * and fails when a pattern here differs from the Python one, so there is one
 * truth. JavaScript's `$` (without the m flag) matches only at the very end,
 * so a trailing newline cannot slip through.
 */

export const ACCOUNT_PATTERN = '^[0-9]{12}$';
export const CLUSTER_PATTERN = '^j-[0-9A-Z]{1,64}$';
/** An EMR Serverless application ID (botocore's shape; AWS hands out 16 characters). */
export const APPLICATION_PATTERN = '^[0-9a-z]{1,64}$';
export const ROLE_ARN_PATTERN =
  '^arn:(aws|aws-cn|aws-us-gov):iam::[0-9]{12}:role/([A-Za-z0-9+=,.@_-]+/)*[A-Za-z0-9+=,.@_-]{1,64}$';
export const SESSION_NAME_PATTERN = '^[A-Za-z0-9+=,.@_-]{1,64}$';
/** What a session name may be, in words (identifiers.py `SESSION_NAME_SHAPE`, before its example). */
export const SESSION_NAME_RULE = '1 to 64 letters, digits or + = , . @ _ -';
/** IAM's limit on a role path, `/` included (identifiers.py `_MAX_PATH`). */
export const ROLE_PATH_MAX = 512;
/** The languages `%connect --language` accepts (connect_request.py `LANGUAGES`). */
export const LANGUAGES = ['python', 'scala', 'r', 'sql'] as const;

export type Language = (typeof LANGUAGES)[number];
/** What `%connect --engine` accepts (connect_request.py `ENGINES`); `auto` is the magic's default. */
export const ENGINES = ['auto', 'livy', 'spark-connect'] as const;

export type Engine = (typeof ENGINES)[number];

const ACCOUNT_RE = new RegExp(ACCOUNT_PATTERN);
const CLUSTER_RE = new RegExp(CLUSTER_PATTERN);
const APPLICATION_RE = new RegExp(APPLICATION_PATTERN);
const ROLE_ARN_RE = new RegExp(ROLE_ARN_PATTERN);
const SESSION_NAME_RE = new RegExp(SESSION_NAME_PATTERN);

function matches(re: RegExp, value: unknown): value is string {
  return typeof value === 'string' && re.test(value);
}

export function isAccountId(value: unknown): value is string {
  return matches(ACCOUNT_RE, value);
}

export function isClusterId(value: unknown): value is string {
  return matches(CLUSTER_RE, value);
}

export function isApplicationId(value: unknown): value is string {
  return matches(APPLICATION_RE, value);
}

export function isRoleArn(value: unknown): value is string {
  return matches(ROLE_ARN_RE, value) && rolePath(value).length <= ROLE_PATH_MAX;
}

export function isSessionName(value: unknown): value is string {
  return matches(SESSION_NAME_RE, value);
}

export function isLanguage(value: unknown): value is Language {
  return (LANGUAGES as readonly unknown[]).includes(value);
}

export function isEngine(value: unknown): value is Engine {
  return (ENGINES as readonly unknown[]).includes(value);
}

/** The role's path, `/` when it has none (as identifiers.py `RoleArn.path`). */
function rolePath(arn: string): string {
  const resource = arn.split(':').slice(5).join(':').slice('role'.length);
  return resource.slice(0, resource.lastIndexOf('/') + 1);
}

/** The role's name: the last path segment of the ARN. */
export function roleName(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

/** The account of an ARN (`arn:partition:service:region:account:...`), '' if there is none. */
export function arnAccount(arn: string): string {
  const account = arn.split(':')[4] ?? '';
  return isAccountId(account) ? account : '';
}
