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
