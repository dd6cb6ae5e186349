"""Names in the emulator's default world (jupyter_emr_roles/local/world.default.json) that tests
rely on: its accounts, the demo user's roles, and what Spark reports when it runs as them."""

ACCOUNT = "123456789012"
SALES = f"arn:aws:iam::{ACCOUNT}:role/sales-data-access"
MARKETING = f"arn:aws:iam::{ACCOUNT}:role/marketing-data-access"
# A role that exists but the demo user may not use.
ELECTRONICS = f"arn:aws:iam::{ACCOUNT}:role/electronics-data-access"
# A job role whose trust names no EMR Serverless: sessions and job runs as it fail.
NOT_TRUSTED_BY_SERVERLESS = f"arn:aws:iam::{ACCOUNT}:role/not-trusted-by-serverless"
SALES_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/sales-data-access/"
MARKETING_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/marketing-data-access/"
WHO_AM_I = 'import boto3\nprint(boto3.client("sts").get_caller_identity()["Arn"])'

# The partner account, whose cluster "partner-analytics" the demo user reaches through an access
# role there.
PARTNER_ACCOUNT = "210987654321"
PARTNER_ACCESS = f"arn:aws:iam::{PARTNER_ACCOUNT}:role/emr-notebook-access"
PARTNER_ROLE = f"arn:aws:iam::{PARTNER_ACCOUNT}:role/partner-analytics-access"
PARTNER_ARN = f"arn:aws:sts::{PARTNER_ACCOUNT}:assumed-role/partner-analytics-access/"
