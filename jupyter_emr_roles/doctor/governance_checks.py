"""The doctor's checks of what governs data beyond the role's own IAM policy: Lake
Formation's external data filtering and session tag, source identity for the audit trail
(seed 004), and S3 Access Grants (seeds 000 and 001: grants that an external policy engine
may create, with or without fallback to IAM).
"""

from __future__ import annotations

import json

from ..releases import GRANTS, label_of, parse_release
from .cluster_checks import configured
from .facts import Facts
from .report import Outcome
from .role_checks import profile_policy, profile_trust

LAKE_FORMATION_TAG = "aws:RequestTag/LakeFormationAuthorizedCaller"


def lake_formation(facts: Facts) -> Outcome:
    document = facts.security_configuration() or {}
    value = document.get("AuthorizationConfiguration", {}).get(
        "LakeFormationConfiguration", {}).get("AuthorizedSessionTagValue")
    if not value:
        return Outcome("pass", "Lake Formation is not enabled for this "
                       "cluster: tables are reached with the role's IAM and Glue permissions.")
    problem = _external_filtering(facts, value)
    if problem is not None:
        return Outcome("fail", f"The security configuration tags sessions "
                       f"{value!r} for Lake Formation, but {problem}, so Lake Formation refuses "
                       "the cluster's queries of governed tables.",
                       "Lake Formation console > Administration > Application integration "
                       "settings: allow external engines to filter data, with session tag value "
                       f"{value!r} and account {facts.target.account} (or `aws lakeformation "
                       "put-data-lake-settings` with AllowExternalDataFiltering, "
                       "AuthorizedSessionTagValueList and ExternalDataFilteringAllowList).")
    return _role_tags_session(facts, value)


def _external_filtering(facts: Facts, value: str) -> str | None:
    """What Lake Formation's data lake settings lack for EMR's runtime roles: external data
    filtering allowed, for the cluster's account, with the session tag; None when nothing."""
    settings = facts.data_lake_settings()
    accounts = [entry.get("DataLakePrincipalIdentifier") for entry in
                settings.get("ExternalDataFilteringAllowList") or []]
    tags = settings.get("AuthorizedSessionTagValueList") or []
    if settings.get("AllowExternalDataFiltering") is not True:
        return "Lake Formation does not allow external data filtering (AllowExternalDataFiltering)"
    if facts.target.account not in accounts:
        return (f"account {facts.target.account} is not in Lake Formation's external data "
                f"filtering allow list ({', '.join(map(str, accounts)) or 'empty'})")
    if value not in tags:
        return (f"Lake Formation's external data filtering does not accept that tag (it accepts "
                f"{', '.join(map(repr, tags)) or 'none'})")
    return None


def _role_tags_session(facts: Facts, value: str) -> Outcome:
    if facts.role_arn is None:
        return Outcome("unknown", f"Lake Formation accepts the session tag "
                       f"{value!r}; no role was given to check its trust policy.")
    found = profile_trust(facts)
    if found is None:
        return Outcome("unknown", f"Lake Formation accepts {value!r}; the "
                       "role's trust policy could not be read (see role-exists).")
    profile_arn, trust = found
    demanded = trust.condition_values("sts:TagSession", LAKE_FORMATION_TAG)
    if not trust.allows("sts:TagSession") or (demanded and value not in demanded):
        statement = {"Effect": "Allow", "Principal": {"AWS": profile_arn}, "Action":
                     "sts:TagSession", "Condition": {"StringEquals": {LAKE_FORMATION_TAG: value}}}
        return Outcome("fail", f"The trust policy of {facts.role_arn.name} "
                       f"does not let the cluster tag its session {value!r}, which Lake "
                       "Formation needs to apply table, column and row permissions.",
                       f"Add to its trust policy: {json.dumps(statement)}")
    return Outcome("pass", f"Sessions are tagged {value!r}, Lake Formation "
                   "accepts the tag, and the role's trust allows it.")


def source_identity(facts: Facts) -> Outcome:
    """Source identity reaches CloudTrail when the security configuration propagates it and
    the cluster may set it on the runtime role's session: sts:SetSourceIdentity in the role's
    trust and in the instance profile role's own policy (seed 004). Without them a caller whose
    credentials carry a source identity gets no session."""
    scoped = facts.iam_configuration().get("ApplicationScopedIAMRoleConfiguration", {})
    if scoped.get("PropagateSourceIdentity") is not True:
        why = "PropagateSourceIdentity is off" if facts.cluster.get("SecurityConfiguration") \
            else "The cluster has no security configuration"
        return Outcome("warn", f"{why}: CloudTrail shows the runtime role, "
                       "not the person who used it.",
                       '"ApplicationScopedIAMRoleConfiguration": {"PropagateSourceIdentity": '
                       "true} in the security configuration's IAMConfiguration, and "
                       "sts:SetSourceIdentity in the runtime roles' trust policies and the "
                       "instance profile role's policy")
    if facts.role_arn is None:
        return Outcome("unknown", "PropagateSourceIdentity is on; no runtime "
                       "role was given to check that the cluster may set it on.")
    found = profile_trust(facts)
    if found is None:
        return Outcome("unknown", "PropagateSourceIdentity is on; the role's "
                       "trust policy could not be read (see role-exists).")
    profile_arn, trust = found
    if not trust.allows("sts:SetSourceIdentity"):
        statement = {"Effect": "Allow", "Principal": {"AWS": profile_arn},
                     "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"]}
        return Outcome("fail", f"PropagateSourceIdentity is on, but the trust "
                       f"policy of {facts.role_arn.name} does not allow sts:SetSourceIdentity to "
                       f"{profile_arn}, so EMR cannot start a session or step for a caller with "
                       "a source identity.", f"Add to its trust policy: {json.dumps(statement)}")
    return profile_policy(facts, profile_arn, ("sts:SetSourceIdentity",)) \
        or Outcome("pass", "PropagateSourceIdentity is on, and the cluster "
                   "may set it: CloudTrail shows the person behind each session, not only the "
                   "runtime role.")


def s3_access_grants(facts: Facts) -> Outcome:
    enabled = (configured(facts, "fs.s3.s3AccessGrants.enabled") or "").lower() == "true"
    if not enabled:
        return Outcome("pass", "S3 Access Grants are not enabled on this "
                       "cluster: S3 is reached with the runtime role's IAM permissions.")
    label = facts.cluster.get("ReleaseLabel", "")
    found = parse_release(label)
    if found is not None and not found.at_least(GRANTS):
        return Outcome("fail", f"S3 Access Grants are configured, but "
                       f"release {label} predates them ({label_of(GRANTS)}).",
                       f"Use a cluster of {label_of(GRANTS)} or later.")
    fallback = (configured(facts, "fs.s3.s3AccessGrants.fallbackToIAM") or "").lower() == "true"
    how = ("with fallback to IAM: where no grant applies, the role's own S3 permissions decide"
           if fallback else "without fallback to IAM: only grants give S3 access")
    if facts.access_grants_instance() is None:
        return Outcome("fail", f"S3 Access Grants are enabled ({how}), but "
                       f"account {facts.target.account} has no Access Grants instance.",
                       f"aws s3control create-access-grants-instance --account-id "
                       f"{facts.target.account}")
    return Outcome("pass", f"S3 Access Grants are enabled ({how}); see "
                   "`jupyter-emr-roles grants --role-arn ARN` for the role's grants.")
