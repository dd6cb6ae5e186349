"""The AWS side: boto3 sessions and clients (profile, region, access roles, source identity),
the settings they take, and every way an AWS call fails as one paragraph."""
