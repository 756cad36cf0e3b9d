"""WSGI entry point for gunicorn: `gunicorn api.wsgi:app`.

gunicorn preloads this module (`api/gunicorn_conf.py`), so the in-process index is loaded once, in
the master, and the forked workers share its arrays instead of each loading (and at a million
members, timing out on) their own; the version counter then keeps each worker current.
"""
from api import create_app, warm_index

app = create_app()
warm_index(app)
