"""The emulator's Spark Connect sessions (EMR's and EMR Serverless's StartSession and friends).

``SessionBook`` (``book.py``) keeps the sessions and answers the five EMR
calls (``serverless_sessions.py`` answers EMR Serverless's over the same book); each session is a real Spark Connect server of its own
(``server.py``, a process started with the runtime role's credentials) behind
an authenticating TLS front (``front.py``) that lets through exactly the
session's current, unexpired token.
"""
