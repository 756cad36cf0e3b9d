"""The review queue at the size of a real round: filters, sorting and pages kept in the URL, decisions in bulk."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from api import services
from api.auth import caller
from api.pages import blp, page_login_required, safe_next
from matcher.service import coordination
from matcher.service.queue import MAX_PER_PAGE, QueueQuery, QueueSort, decide_many, proposals_page
from matcher.states import Decision, PairingKind


class QueueArgsSchema(Schema):
    """The queue's query string; a value that does not parse is named in the page, never a 500."""

    class Meta:
        unknown = EXCLUDE

    kind = fields.Enum(PairingKind, by_value=True, load_default=None)
    language = fields.String(load_default=None, validate=validate.Regexp(r"^[a-z]{2}$"))
    round_id = fields.Integer(load_default=None, strict=False, validate=validate.Range(1, 2**31 - 1))
    min_score = fields.Float(load_default=None, validate=validate.Range(-10, 10))
    max_score = fields.Float(load_default=None, validate=validate.Range(-10, 10))
    repeat_requested = fields.Boolean(load_default=False, truthy={"1", "on", "yes"}, falsy={"", "0", "off"})
    sort = fields.Enum(QueueSort, by_value=True, load_default=QueueSort.SCORE)
    page = fields.Integer(load_default=1, validate=validate.Range(1, 10**6))
    per_page = fields.Integer(load_default=25, validate=validate.Range(1, MAX_PER_PAGE))
    held_page = fields.Integer(load_default=1, validate=validate.Range(1, 10**6))


def queue_query(args) -> tuple[QueueQuery, int, list[str]]:
    """The proposals' query and the page of held members the URL asks for, and what was ignored as wrong."""
    raw = {k: v for k, v in args.items() if v != ""}
    try:
        loaded, ignored = QueueArgsSchema().load(raw), []
    except ValidationError as exc:
        messages = exc.normalized_messages()
        loaded = QueueArgsSchema().load({k: v for k, v in raw.items() if k not in messages})
        ignored = [f"Ignored {name}: {' '.join(map(str, msgs))}" for name, msgs in messages.items()]
    held_page = loaded.pop("held_page")
    return QueueQuery(**loaded), held_page, ignored


@blp.route("/")
@page_login_required
def queue():
    """Held members first, then a page of the proposals awaiting a decision, then who the last round left out."""
    query, held_page, problems = queue_query(request.args)
    for problem in problems:
        flash(problem, "error")
    view = coordination.review_queue(g.db, held_page)
    g.db.commit()   # invitations that expired on the way
    return render_template("queue.html", **vars(view),
                           page=proposals_page(g.db, query), kinds=list(PairingKind), sorts=list(QueueSort),
                           args={k: v for k, v in request.args.items() if k != "page"})


def _posted_ids(name: str) -> list[int]:
    return [int(v) for v in request.form.getlist(name) if v.isdigit() and len(v) < 11]


@blp.route("/pairings/bulk", methods=["POST"])
@page_login_required
def bulk():
    """Approve or reject several proposals; each is re-checked under the lock, and the page says what happened."""
    action, back = request.form.get("action", ""), safe_next(request.form.get("next"))
    reason = request.form.get("reason", "").strip() or None
    min_score, ids = None, _posted_ids("ids")
    if action == "approve_above":
        try:
            min_score = float(request.form.get("min_score", ""))
        except ValueError:
            flash("Give the lowest score to approve, as a number such as 0.6.", "error")
            return redirect(back)
        ids, action = _posted_ids("page_ids"), Decision.APPROVE
    if action not in (Decision.APPROVE, Decision.REJECT):
        flash("Choose approve or reject.", "error")
        return redirect(back)
    if not ids:
        flash("Select at least one proposal.", "error")
        return redirect(back)
    if action == Decision.REJECT and not reason:
        flash("Give a reason for rejecting; it is kept in each pairing's history.", "error")
        return redirect(back)
    outcomes = decide_many(g.db, services().config, ids, Decision(action), caller().actor, reason, min_score)
    return render_template("bulk.html", outcomes=outcomes, back=back, decision=Decision(action),
                           min_score=min_score)


@blp.app_template_global()
def queue_url(args: dict, **changes) -> str:
    """This queue URL with some query arguments changed (sorting and paging keep the filters)."""
    merged = {**args, **{k: v for k, v in changes.items()}}
    return url_for("pages.queue", **{k: v for k, v in merged.items() if v not in (None, "")})
