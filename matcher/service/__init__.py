"""Flask-free workflows: each takes a `Session` (the caller owns it and commits) and raises domain errors.

    context      `Services`: the model, config, safety screen, index and retrieval, built once per process
    database     `Database`: an engine for a URL, its migrations and sessions
    access       who is calling (`Caller`) and API keys
    onboarding   members join, change, block or decline, and are erased
    suggestions  peers for one member, through one `Retriever` (`retrieval`, `index_state`)
    rounds       pairing rounds; review: approvals, rejections, endings, feedback, holds
    coordination what the coordinator pages show; exports: analysts' pseudonymised CSV; health: readiness
    errors       the domain errors `api.errors` maps to HTTP

The HTTP views, the coordinator pages and the `peermatch` command all call these, so they check,
lock and audit the same way.
"""
