"""gunicorn settings for `peermatch serve`: peermatch's own INFO lines (e.g. which retrieval serves
suggestions) reach stderr; everything else, SQLAlchemy included (at INFO it logs every statement),
stays at WARNING, and per-request access lines stay off. The app is preloaded: `api.wsgi` loads the
in-process index once, before the workers fork."""

preload_app = True

logconfig_dict = {
    "root": {"level": "WARNING", "handlers": ["error_console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"level": "WARNING", "handlers": ["console"], "propagate": False},
        "api": {"level": "INFO"},
        "matcher": {"level": "INFO"},
    },
}

# Let long URLs and large headers reach the app, which answers them in its JSON error shape
# (api/request_checks.py: 414 past 4,096 characters, 431 past 16 KiB of headers).
limit_request_line = 8190
limit_request_field_size = 16380

# `peermatch serve --deliver-webhooks`: the delivery worker runs beside gunicorn as its own process (a
# thread in the master would not survive the workers' fork, and one per worker would multiply it),
# started once the server is ready and stopped with it.
_delivery = None


def when_ready(_server) -> None:
    import os
    import subprocess
    import sys

    global _delivery
    if os.environ.get("PEERMATCH_DELIVER_WEBHOOKS") == "1" and _delivery is None:
        _delivery = subprocess.Popen([sys.executable, "-c", "from api.cli import main; main()", "deliver-webhooks"])


def on_exit(_server) -> None:
    global _delivery
    if _delivery is not None:
        _delivery.terminate()
        _delivery.wait(10)
        _delivery = None
