"""The instance folder: this deployment's own files, the secret key first.

The secret key signs coordinators' session cookies and keys the analysts' pseudonyms, so it is
never in the source: it comes from ``PEERMATCH_SECRET_KEY``, or from ``<instance>/secret_key``,
which `ensure_secret_key` creates once (random, file mode 0600). The folder is ``instance/`` in
the working directory (where the default SQLite database lives too), or ``PEERMATCH_INSTANCE``.
"""
from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

SECRET_ENV, INSTANCE_ENV = "PEERMATCH_SECRET_KEY", "PEERMATCH_INSTANCE"
SECRET_FILE = "secret_key"
MIN_SECRET_LENGTH = 32

log = logging.getLogger(__name__)


def instance_dir() -> Path:
    return Path(os.environ.get(INSTANCE_ENV, "instance"))


def secret_key_path() -> Path:
    return instance_dir() / SECRET_FILE


def configured_secret_key() -> str | None:
    """``PEERMATCH_SECRET_KEY``, else the instance folder's secret file, else None."""
    from_env = os.environ.get(SECRET_ENV, "").strip()
    if from_env:
        return from_env
    path = secret_key_path()
    if not path.is_file():
        return None
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s can be read by other users of this machine; `chmod 600` it", path)
    secret = path.read_text(encoding="utf-8").strip()
    return secret or None


def ensure_secret_key() -> tuple[Path | None, bool]:
    """Make sure a secret key is configured: (the file holding it or None for the environment, created now?).

    A new key is 48 random bytes (URL-safe text) in a file only its owner may read or write.
    """
    if os.environ.get(SECRET_ENV, "").strip():
        return None, False
    path = secret_key_path()
    if path.is_file() and path.read_text(encoding="utf-8").strip():
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(secrets.token_urlsafe(48) + "\n")
    os.chmod(path, 0o600)
    return path, True


def missing_secret_message() -> str:
    return (f"No secret key is configured: set {SECRET_ENV} (at least {MIN_SECRET_LENGTH} random characters) "
            f"or run `peermatch init-db`, which creates {secret_key_path()} once.")
