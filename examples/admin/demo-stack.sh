#!/usr/bin/env bash
# demo-stack.sh: create, or tear down, a whole runtime-roles demo in one AWS account with the
# AWS CLI, built from the JSON files beside this script, so `jupyter-emr-roles doctor` passes
# on it. See --help.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ME="demo-stack.sh"

usage() {
  cat <<EOF
Usage: $ME create|delete [options]

create   makes, in the account your AWS CLI credentials belong to: a bucket with sample data
         and the TLS certificate of the security configuration; the cluster's service role and
         instance profile; two runtime roles (NAME-sales, NAME-marketing) that trust the
         instance profile; a security configuration enabling runtime roles, source identity,
         Lake Formation's session tag and in-transit TLS; a cluster (Spark and Livy) using it
         with S3 Access Grants on; a second cluster NAME-sessions for Spark Connect sessions
         (the Spark application only, SessionEnabled, a security configuration NAME-sessions
         without Lake Formation, which sessions do not support); and an Access Grants location
         and one grant per role. It writes OUT/roles.json (the roles file for
         jupyter-emr-roles) and OUT/livy-ca.pem, and prints the doctor command to run for each
         cluster. A real cluster costs money while it runs.
delete   terminates the clusters and deletes everything create made (what is already gone is
         skipped). The account's Access Grants instance is kept: other grants may use it.

Options:
  --name NAME           prefix of every resource (default: emr-roles-demo)
  --region REGION       default: AWS_REGION, AWS_DEFAULT_REGION, then the CLI's configuration
  --release LABEL       EMR release (default: emr-7.5.0; runtime roles in notebooks need 6.9.0,
                        S3 Access Grants 6.15.0)
  --sessions-release LABEL
                        release of the Spark Connect cluster (default: emr-spark-8.0.0)
  --instance-type TYPE  default: m5.xlarge (one primary and one core node)
  --subnet-id ID        the cluster's subnet (default: EMR picks one in the default VPC)
  --out DIR             where create writes the files it makes (default: ./NAME)
  --no-wait             do not wait for the cluster to start (create) or end (delete)
  --dry-run             print each command that would change the account, and change nothing
                        (the account and the existing stack are still read)
  -h, --help            this text

The AWS CLI reaches the endpoint AWS_ENDPOINT_URL names when it is set: that is how the test
suite runs this script against jupyter-emr-roles' local emulator (as the emulator's
platform-admin: \`jupyter-emr-roles local env --user platform-admin\`). There, S3 Control also
needs the AWS CLI v1 plugin jupyter_emr_roles.awscli_plugin in the CLI's [plugins].
EOF
}

CREATING=0

fail() {
  printf '%s: %s' "$ME" "$*" >&2
  [ "$CREATING" = 0 ] ||
    printf ' Create stopped part way: "%s delete --name %s" removes what it made.' "$ME" "$NAME" >&2
  printf '\n' >&2
  exit 1
}

NAME="emr-roles-demo"
REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
RELEASE="emr-7.5.0"
SESSIONS_RELEASE="emr-spark-8.0.0"
INSTANCE_TYPE="m5.xlarge"
SUBNET_ID=""
OUT=""
WAIT=1
DRY_RUN=0

parse_options() {
  [ $# -gt 0 ] || { usage >&2; exit 2; }
  case "$1" in
    -h|--help) usage; exit 0 ;;
    create|delete) ACTION="$1"; shift ;;
    *) printf '%s: the first argument is create or delete, not %q (see --help)\n' "$ME" "$1" >&2
       exit 2 ;;
  esac
  while [ $# -gt 0 ]; do
    case "$1" in
      --name|--region|--release|--sessions-release|--instance-type|--subnet-id|--out)
        [ $# -ge 2 ] || { printf '%s: %s needs a value\n' "$ME" "$1" >&2; exit 2; }
        case "$1" in
          --name) NAME="$2" ;; --region) REGION="$2" ;; --release) RELEASE="$2" ;;
          --sessions-release) SESSIONS_RELEASE="$2" ;;
          --instance-type) INSTANCE_TYPE="$2" ;; --subnet-id) SUBNET_ID="$2" ;; --out) OUT="$2" ;;
        esac
        shift 2 ;;
      --no-wait) WAIT=0; shift ;;
      --dry-run) DRY_RUN=1; shift ;;
      -h|--help) usage; exit 0 ;;
      *) printf '%s: unknown option %q (see --help)\n' "$ME" "$1" >&2; exit 2 ;;
    esac
  done
  # The bucket is NAME-ACCOUNT-REGION, and a bucket name has at most 63 characters.
  [[ "$NAME" =~ ^[a-z0-9][a-z0-9-]{0,29}$ ]] || {
    printf '%s: --name %q must be 1 to 30 lowercase letters, digits or hyphens (it names a bucket and IAM roles)\n' \
      "$ME" "$NAME" >&2; exit 2; }
  OUT="${OUT:-./$NAME}"
}

# aws_read ARGS...: a call that changes nothing; it runs in a dry run too.
aws_read() {
  local output
  if ! output="$(aws --region "$REGION" "$@" 2>&1)"; then
    fail "\`aws $*\` failed: $(tr '\n' ' ' <<<"$output")"
  fi
  printf '%s' "$output"
}

# quoted WORD: WORD as a shell reads it back, in single quotes where it needs any.
quoted() {
  if [[ "$1" =~ ^[A-Za-z0-9_./:=,@+-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

# aws_change ARGS...: a call that changes the account; a dry run prints it instead.
aws_change() {
  if [ "$DRY_RUN" = 1 ]; then
    printf 'would run: aws --region %s' "$(quoted "$REGION")" >&2
    local word
    for word in "$@"; do printf ' %s' "$(quoted "$word")" >&2; done
    printf '\n' >&2
    return 0
  fi
  aws_read "$@"
}

# aws_quiet ARGS...: a read whose failure means "nothing there"; prints what it found.
aws_quiet() {
  aws --region "$REGION" "$@" 2>/dev/null | tr '\t' '\n' | grep -v '^None$' || true
}

# aws_remove ARGS...: a deletion for which "already gone" is success.
aws_remove() {
  local output
  [ "$DRY_RUN" = 0 ] || { aws_change "$@"; return 0; }
  if ! output="$(aws --region "$REGION" "$@" 2>&1)"; then
    grep -qE 'NoSuchEntity|NotFound|NoSuchBucket|does not exist|InvalidRequestException.*not (valid|found)' \
      <<<"$output" || fail "\`aws $*\` failed: $(tr '\n' ' ' <<<"$output")"
  fi
}

say() { printf '==> %s\n' "$*" >&2; }

set_names() {
  local caller
  caller="$(aws_read sts get-caller-identity --query Arn --output text)"
  ACCOUNT="$(cut -d: -f5 <<<"$caller")"
  PARTITION="$(cut -d: -f2 <<<"$caller")"
  BUCKET="$NAME-$ACCOUNT-$REGION"
  PROFILE_ROLE="$NAME-ec2"
  SERVICE_ROLE="$NAME-service"
  LOCATION_ROLE="$NAME-grants-location"
  RUNTIME_ROLES=("$NAME-sales" "$NAME-marketing")
  PREFIXES=("sales" "marketing")
  PERMISSIONS=("READ" "READWRITE")
  ROLE_ARN_PREFIX="arn:$PARTITION:iam::$ACCOUNT:role"
}

active_clusters() {
  aws_read emr list-clusters --active \
    --query "Clusters[?Name=='$NAME' || Name=='$NAME-sessions'].Id" --output text |
    tr '\t' '\n' | grep -v '^None$' || true
}

trust_of() {
  jq -cn --arg service "$1" '{Version: "2012-10-17", Statement: [{Effect: "Allow",
    Principal: {Service: $service}, Action: "sts:AssumeRole"}]}'
}

make_bucket() {
  say "bucket s3://$BUCKET with sample data and the cluster's TLS certificate"
  if [ "$REGION" = "us-east-1" ]; then
    aws_change s3api create-bucket --bucket "$BUCKET" >/dev/null
  else
    aws_change s3api create-bucket --bucket "$BUCKET" \
      --create-bucket-configuration "LocationConstraint=$REGION" >/dev/null
  fi
  printf 'region,amount\nnorth,120\nsouth,80\n' >"$OUT/sales.csv"
  printf 'campaign,clicks\nspring,311\nautumn,207\n' >"$OUT/marketing.csv"
  local prefix
  for prefix in "${PREFIXES[@]}"; do
    aws_change s3api put-object --bucket "$BUCKET" --key "$prefix/$prefix.csv" \
      --body "$OUT/$prefix.csv" >/dev/null
  done
  make_certificate
  aws_change s3api put-object --bucket "$BUCKET" --key certs/livy-certs.zip \
    --body "$OUT/certs.zip" >/dev/null
}

# The certificate EMR installs on every node for in-transit TLS, Livy's among them: it must
# name the nodes' private DNS names, which is what jupyter-emr-roles connects to.
make_certificate() {
  local domain="ec2.internal" work
  [ "$REGION" = "us-east-1" ] || domain="$REGION.compute.internal"
  work="$(mktemp -d)"
  openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=*.$domain" \
    -addext "subjectAltName=DNS:*.$domain" -keyout "$work/privateKey.pem" \
    -out "$work/certificateChain.pem" 2>/dev/null || fail "openssl could not make a certificate"
  cp "$work/certificateChain.pem" "$work/trustedCertificates.pem"
  cp "$work/certificateChain.pem" "$OUT/livy-ca.pem"
  (cd "$work" && zip -q "certs.zip" privateKey.pem certificateChain.pem trustedCertificates.pem)
  mv "$work/certs.zip" "$OUT/certs.zip"
  rm -rf "$work"
}

make_cluster_roles() {
  say "roles $SERVICE_ROLE (EMR) and $PROFILE_ROLE (the nodes' instance profile)"
  aws_change iam create-role --role-name "$SERVICE_ROLE" \
    --assume-role-policy-document "$(trust_of elasticmapreduce.amazonaws.com)" >/dev/null
  # The v1 service policy works in a default VPC; AmazonEMRServicePolicy_v2 needs the VPC's
  # resources tagged for-use-with-amazon-emr-managed-policies=true.
  aws_change iam attach-role-policy --role-name "$SERVICE_ROLE" \
    --policy-arn "arn:$PARTITION:iam::aws:policy/service-role/AmazonElasticMapReduceRole"
  aws_change iam create-role --role-name "$PROFILE_ROLE" \
    --assume-role-policy-document "$(trust_of ec2.amazonaws.com)" >/dev/null
  aws_change iam attach-role-policy --role-name "$PROFILE_ROLE" \
    --policy-arn "arn:$PARTITION:iam::aws:policy/service-role/AmazonElasticMapReduceforEC2Role"
  # instance-profile-policy.json: the profile role may assume the runtime roles, tag the session
  # and set its source identity (EMR's prerequisite besides the roles' trust).
  aws_change iam put-role-policy --role-name "$PROFILE_ROLE" --policy-name assume-runtime-roles \
    --policy-document "$(jq -c --arg a "$ROLE_ARN_PREFIX/${RUNTIME_ROLES[0]}" \
      --arg b "$ROLE_ARN_PREFIX/${RUNTIME_ROLES[1]}" '.Statement |= map(.Resource = [$a, $b])' \
      "$HERE/instance-profile-policy.json")"
  aws_change iam create-instance-profile --instance-profile-name "$PROFILE_ROLE" >/dev/null
  aws_change iam add-role-to-instance-profile --instance-profile-name "$PROFILE_ROLE" \
    --role-name "$PROFILE_ROLE"
  [ "$DRY_RUN" = 1 ] || aws_read iam wait instance-profile-exists \
    --instance-profile-name "$PROFILE_ROLE"
}

# The security configuration of security-configuration.json, with this stack's certificate.
make_security_configuration() {
  say "security configuration $NAME"
  jq --arg zip "s3://$BUCKET/certs/livy-certs.zip" \
    '.EncryptionConfiguration.InTransitEncryptionConfiguration.TLSCertificateConfiguration.S3Object = $zip' \
    "$HERE/security-configuration.json" >"$OUT/security-configuration.json"
  aws_change emr create-security-configuration --name "$NAME" \
    --security-configuration "file://$OUT/security-configuration.json" >/dev/null
  say "security configuration $NAME-sessions (the same without Lake Formation, for sessions)"
  jq 'del(.AuthorizationConfiguration.LakeFormationConfiguration)' \
    "$OUT/security-configuration.json" >"$OUT/security-configuration-sessions.json"
  aws_change emr create-security-configuration --name "$NAME-sessions" \
    --security-configuration "file://$OUT/security-configuration-sessions.json" >/dev/null
}

# The ExternalIds that EMR gives the two security configurations, which the trust policies
# demand, as a JSON list (empty in a dry run, or where EMR gave none).
external_ids() {
  [ "$DRY_RUN" = 0 ] || { printf '[]'; return 0; }
  local name
  for name in "$NAME" "$NAME-sessions"; do
    aws_read emr describe-security-configuration --name "$name" \
      --query SecurityConfiguration --output text
  done | jq -sc 'map(.AuthorizationConfiguration.IAMConfiguration
    .ApplicationScopedIAMRoleConfiguration.ExternalId // empty)'
}

# runtime-role-trust-policy.json for this account's instance profile role and ExternalIds, and
# EMR Serverless of this account.
runtime_trust() {
  jq -c --arg principal "$ROLE_ARN_PREFIX/$PROFILE_ROLE" --argjson external "$1" \
    --arg account "$ACCOUNT" '
    .Statement |= map(
      if .Principal.Service then .Condition.StringEquals["aws:SourceAccount"] = $account
      else .Principal.AWS = $principal
        | if .Condition == null then .
          elif $external == [] then del(.Condition)
          else .Condition.StringEquals["sts:ExternalId"] = $external end
      end)' \
    "$HERE/runtime-role-trust-policy.json"
}

make_runtime_roles() {
  local trust index role
  trust="$(runtime_trust "$(external_ids)")"
  jq . <<<"$trust" >"$OUT/runtime-role-trust-policy.json"
  for index in 0 1; do
    role="${RUNTIME_ROLES[$index]}"
    say "runtime role $role (S3 through its Access Grant on s3://$BUCKET/${PREFIXES[$index]}/)"
    aws_change iam create-role --role-name "$role" --assume-role-policy-document "$trust" \
      --description "jupyter-emr-roles demo runtime role" >/dev/null
    aws_change iam put-role-policy --role-name "$role" --policy-name s3-access-grants \
      --policy-document "$(jq -cn '{Version: "2012-10-17", Statement: [{Effect: "Allow",
        Action: ["s3:GetDataAccess", "s3:GetAccessGrantsInstanceForPrefix"],
        Resource: "*"}]}')"
  done
}

# start_cluster NAME RELEASE SECURITY_CONFIGURATION ARGS...: a cluster of one primary and one
# core node with the stack's roles and ARGS (its applications, ...); prints its ID.
start_cluster() {
  local name="$1" release="$2" security="$3" attributes="InstanceProfile=$PROFILE_ROLE" id
  shift 3
  [ -z "$SUBNET_ID" ] || attributes="$attributes,SubnetId=$SUBNET_ID"
  id="$(aws_change emr create-cluster --name "$name" --release-label "$release" \
    --security-configuration "$security" "$@" \
    --service-role "$SERVICE_ROLE" --ec2-attributes "$attributes" \
    --instance-groups "InstanceGroupType=MASTER,InstanceCount=1,InstanceType=$INSTANCE_TYPE" \
    "InstanceGroupType=CORE,InstanceCount=1,InstanceType=$INSTANCE_TYPE" \
    --tags "jupyter-emr-roles:stack=$NAME" --query ClusterId --output text)"
  printf '%s' "${id:-j-DRYRUN}"
}

make_clusters() {
  say "cluster $NAME ($RELEASE, Spark and Livy, S3 Access Grants on)"
  CLUSTER_ID="$(start_cluster "$NAME" "$RELEASE" "$NAME" --applications Name=Spark Name=Livy \
    --configurations "file://$HERE/cluster-configurations-s3-access-grants.json")"
  # As AWS's example session cluster: the Spark application only (no Livy), sessions enabled.
  say "cluster $NAME-sessions ($SESSIONS_RELEASE, Spark, Spark Connect sessions enabled)"
  SESSIONS_ID="$(start_cluster "$NAME-sessions" "$SESSIONS_RELEASE" "$NAME-sessions" \
    --applications Name=Spark --session-enabled)"
  if [ "$WAIT" = 1 ] && [ "$DRY_RUN" = 0 ]; then
    say "waiting for $CLUSTER_ID and $SESSIONS_ID to start (about ten minutes on AWS)"
    aws_read emr wait cluster-running --cluster-id "$CLUSTER_ID"
    aws_read emr wait cluster-running --cluster-id "$SESSIONS_ID"
  fi
}

has_grants_instance() {
  aws --region "$REGION" s3control get-access-grants-instance --account-id "$ACCOUNT" \
    >/dev/null 2>&1
}

make_grants() {
  say "S3 Access Grants: a location for s3://$BUCKET/ and one grant per runtime role"
  has_grants_instance ||
    aws_change s3control create-access-grants-instance --account-id "$ACCOUNT" >/dev/null
  aws_change iam create-role --role-name "$LOCATION_ROLE" \
    --assume-role-policy-document "$(trust_of access-grants.s3.amazonaws.com)" >/dev/null
  aws_change iam put-role-policy --role-name "$LOCATION_ROLE" --policy-name bucket \
    --policy-document "$(jq -cn --arg bucket "arn:aws:s3:::$BUCKET" '{Version: "2012-10-17",
      Statement: [{Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
      Resource: [$bucket, ($bucket + "/*")]}]}')"
  local location index
  location="$(aws_change s3control create-access-grants-location --account-id "$ACCOUNT" \
    --location-scope "s3://$BUCKET/" --iam-role-arn "$ROLE_ARN_PREFIX/$LOCATION_ROLE" \
    --query AccessGrantsLocationId --output text)"
  for index in 0 1; do
    aws_change s3control create-access-grant --account-id "$ACCOUNT" \
      --access-grants-location-id "${location:-LOCATION_ID}" \
      --access-grants-location-configuration "S3SubPrefix=${PREFIXES[$index]}/*" \
      --grantee "GranteeType=IAM,GranteeIdentifier=$ROLE_ARN_PREFIX/${RUNTIME_ROLES[$index]}" \
      --permission "${PERMISSIONS[$index]}" >/dev/null
  done
}

write_roles_file() {
  jq -n --arg account "$ACCOUNT" --arg sales "$ROLE_ARN_PREFIX/${RUNTIME_ROLES[0]}" \
    --arg marketing "$ROLE_ARN_PREFIX/${RUNTIME_ROLES[1]}" \
    --arg ca "$(cd "$OUT" && pwd)/livy-ca.pem" '{version: 1, accounts: {($account): {
      ca_bundle: $ca, roles: [{arn: $sales, label: "Sales", default: true},
                              {arn: $marketing, label: "Marketing"}]}}}' >"$OUT/roles.json"
}

create() {
  mkdir -p "$OUT"
  set_names
  [ -z "$(active_clusters)" ] ||
    fail "the account already has an active cluster named $NAME; run \`$ME delete --name $NAME\` first, or pick another --name."
  [ "$DRY_RUN" = 0 ] || say "dry run: nothing in account $ACCOUNT changes; the documents are written to $OUT"
  CREATING=1
  make_bucket
  make_cluster_roles
  make_security_configuration
  make_runtime_roles
  make_clusters
  make_grants
  write_roles_file
  CREATING=0
  say "done: clusters $CLUSTER_ID (Livy) and $SESSIONS_ID (Spark Connect sessions) in" \
    "$REGION, account $ACCOUNT"
  local cluster_id
  for cluster_id in "$SESSIONS_ID" "$CLUSTER_ID"; do
    printf 'JUPYTER_EMR_ROLES_FILE=%q jupyter-emr-roles doctor --cluster-id %s\n' \
      "$(cd "$OUT" && pwd)/roles.json" "$cluster_id"
  done
}

delete_grants() {
  has_grants_instance || return 0
  local role grant location
  for role in "${RUNTIME_ROLES[@]}"; do
    for grant in $(aws_quiet s3control list-access-grants --account-id "$ACCOUNT" \
        --grantee-type IAM --grantee-identifier "$ROLE_ARN_PREFIX/$role" \
        --query 'AccessGrantsList[].AccessGrantId' --output text); do
      aws_remove s3control delete-access-grant --account-id "$ACCOUNT" --access-grant-id "$grant"
    done
  done
  for location in $(aws_quiet s3control list-access-grants-locations --account-id "$ACCOUNT" \
      --location-scope "s3://$BUCKET/" --output text \
      --query 'AccessGrantsLocationsList[].AccessGrantsLocationId'); do
    aws_remove s3control delete-access-grants-location --account-id "$ACCOUNT" \
      --access-grants-location-id "$location"
  done
}

delete_role() {
  local policy
  for policy in $(aws_quiet iam list-role-policies --role-name "$1" --query 'PolicyNames[]' \
      --output text); do
    aws_remove iam delete-role-policy --role-name "$1" --policy-name "$policy"
  done
  for policy in $(aws_quiet iam list-attached-role-policies --role-name "$1" \
      --query 'AttachedPolicies[].PolicyArn' --output text); do
    aws_remove iam detach-role-policy --role-name "$1" --policy-arn "$policy"
  done
  aws_remove iam delete-role --role-name "$1"
}

delete() {
  set_names
  local cluster_id role
  for cluster_id in $(active_clusters); do
    say "terminating cluster $cluster_id"
    aws_change emr terminate-clusters --cluster-ids "$cluster_id"
    if [ "$WAIT" = 1 ] && [ "$DRY_RUN" = 0 ]; then
      aws_read emr wait cluster-terminated --cluster-id "$cluster_id"
    fi
  done
  say "S3 Access Grants of ${RUNTIME_ROLES[*]} and the location s3://$BUCKET/"
  delete_grants
  say "security configurations $NAME and $NAME-sessions"
  aws_remove emr delete-security-configuration --name "$NAME"
  aws_remove emr delete-security-configuration --name "$NAME-sessions"
  say "roles and the instance profile"
  aws_remove iam remove-role-from-instance-profile --instance-profile-name "$PROFILE_ROLE" \
    --role-name "$PROFILE_ROLE"
  aws_remove iam delete-instance-profile --instance-profile-name "$PROFILE_ROLE"
  for role in "${RUNTIME_ROLES[@]}" "$PROFILE_ROLE" "$SERVICE_ROLE" "$LOCATION_ROLE"; do
    delete_role "$role"
  done
  say "bucket s3://$BUCKET"
  if aws --region "$REGION" s3api head-bucket --bucket "$BUCKET" >/dev/null 2>&1; then
    aws_change s3 rb "s3://$BUCKET" --force >/dev/null
  fi
  say "deleted the stack $NAME"
}

main() {
  parse_options "$@"
  local tool
  for tool in aws jq openssl zip; do
    command -v "$tool" >/dev/null || fail "$tool is not installed; this script needs aws (the AWS CLI), jq, openssl and zip."
  done
  [ -n "$REGION" ] || REGION="$(aws configure get region 2>/dev/null || true)"
  [ -n "$REGION" ] || fail "no region: give --region, or set AWS_REGION."
  "$ACTION"
}

main "$@"
