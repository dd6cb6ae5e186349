"""The emulator's Livy: a Livy-compatible REST gateway with one worker process per session.

``LivyGateway`` (in ``gateway.py``) is loaded on first use rather than here,
because every session's worker process imports this package on its way to
``worker.py`` and has no use for tornado.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LivyGateway"]


def __getattr__(name: str) -> Any:
    if name == "LivyGateway":
        from .gateway import LivyGateway

        return LivyGateway
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
