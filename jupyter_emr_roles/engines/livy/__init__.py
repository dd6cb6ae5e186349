"""A Livy session through sparkmagic: GetClusterSessionCredentials and its renewal, the
endpoint and its TLS, and the bridge to sparkmagic (the one module that imports it)."""
