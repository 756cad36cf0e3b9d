"""The blueprint every API resource uses: flask-smorest's, with query strings as strict as bodies.

webargs ignores unknown query parameters by default; here every schema's own ``unknown = RAISE``
holds for the query too, so ``?pgae=2`` is a 422 naming the parameter, never silently page 1.
"""
from __future__ import annotations

import flask_smorest
from webargs.flaskparser import FlaskParser


class StrictParser(FlaskParser):
    DEFAULT_UNKNOWN_BY_LOCATION: dict = {}   # let each schema's `unknown` decide, in every location


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = StrictParser()
