"""The embedded default: an emulated EMR control plane and a Livy-compatible gateway.

Nothing in the core imports this package: the core reaches it only by
endpoint URLs, exactly as it reaches real AWS.
"""
