"""Turning obstore's exceptions into cloudvol's, without leaking credentials."""

from __future__ import annotations

import re

from obstore.exceptions import PermissionDeniedError, UnauthenticatedError

from cloudvol.exceptions import AuthenticationError, StorageError
from cloudvol.secrets import Credentials, redact

__all__ = ["summarize", "translate"]

_AUTH_STATUS = re.compile(r"status code: (401|403)\b|\b(401 Unauthorized|403 Forbidden)\b")
_MAX_REASON = 300


def summarize(exc: BaseException, credentials: Credentials | None = None) -> str:
    """One line saying what went wrong: obstore's first line, secrets removed, capped."""
    text = str(exc).split("\n\nDebug source:", 1)[0].strip()
    line = " ".join(text.split())
    line = redact(line, credentials) if credentials is not None else redact(line)
    if len(line) > _MAX_REASON:
        line = line[: _MAX_REASON - 3] + "..."
    return line or type(exc).__name__


def translate(
    exc: BaseException, *, op: str, where: str, credentials: Credentials | None
) -> StorageError:
    """A :class:`StorageError` (or :class:`AuthenticationError` for 401/403) for a
    failed ``op`` on ``where`` (the object's URL), naming no credentials.

    The obstore exception is attached as ``__cause__`` only when its full text is
    free of secrets; otherwise the chain is cut.
    """
    reason = summarize(exc, credentials)
    if isinstance(exc, (PermissionDeniedError, UnauthenticatedError)) or _AUTH_STATUS.search(
        reason
    ):
        error: StorageError = AuthenticationError(
            f"{op} {where}: access denied; check the credentials for this bucket ({reason})"
        )
    else:
        error = StorageError(f"{op} {where} failed: {reason}")
    full = str(exc)
    clean = redact(full, credentials) if credentials is not None else redact(full)
    error.__cause__ = exc if clean == full else None
    error.__suppress_context__ = True
    return error
