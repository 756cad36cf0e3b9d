"""Group programmes and their groups: form groups, review one side by side, approve, reject, move, add, end, remove."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from api import services
from api.auth import caller
from api.pages import blp, coordinator_zone, page_login_required
from matcher.service import formation, group_pages, group_review
from matcher.service.errors import DomainError, NotFoundError
from matcher.service.programmes import list_programmes
from matcher.states import GroupRole

NEEDS_REASON = ("reject", "end", "withdraw", "remove")


@blp.route("/programmes")
@page_login_required
def programmes():
    """Every group programme, with a link to its groups."""
    return render_template("programmes.html", programmes=list_programmes(g.db, 1, 100).items)


@blp.route("/programmes/<int:programme_id>")
@page_login_required
def programme(programme_id: int):
    """The programme's proposed groups first, then approved and closed ones, then who the last run left out."""
    view = group_pages.programme_page(g.db, programme_id, coordinator_zone())
    g.db.commit()   # invitations that expired on the way
    return render_template("programme.html", **vars(view), tz=coordinator_zone())


@blp.route("/programmes/<int:programme_id>/formations", methods=["POST"])
@page_login_required
def form_groups(programme_id: int):
    run = _attempt(lambda: formation.run_formation(g.db, services(), programme_id, caller().actor))
    if run is not None:
        flash(f"Formation {run.formation_id}: {len(run.groups)} groups proposed, {len(run.left_out)} members "
              "left out.", "info")
    return redirect(url_for("pages.programme", programme_id=programme_id))


@blp.route("/groups/<int:group_id>")
@page_login_required
def group(group_id: int):
    """Members side by side with the sentence of each narrative that fits the group best, the slot, the score."""
    view = group_pages.group_page(g.db, services(), group_id, coordinator_zone())
    g.db.commit()   # invitations that expired on the way
    return render_template("group.html", **vars(view), tz=coordinator_zone())


@blp.route("/groups/<int:group_id>/<any(approve, reject, end, withdraw, move, add, remove):action>", methods=["POST"])
@page_login_required
def change_group(group_id: int, action: str):
    reason = request.form.get("reason", "").strip() or None
    if action in NEEDS_REASON and not reason:
        flash("Give a reason; it is kept in the group's history.", "error")
        return redirect(url_for("pages.group", group_id=group_id))
    done = _attempt(lambda: _apply(group_id, action, reason))
    if done is not None:
        flash(done, "info")
    return redirect(url_for("pages.group", group_id=group_id))


def _apply(group_id: int, action: str, reason: str | None) -> str:
    """Run one change through the same service as the API; returns what to tell the coordinator."""
    actor = caller().actor
    if action in ("approve", "reject", "end", "withdraw"):
        view = group_review.decide(g.db, group_id, action, actor, reason)
        return f"Group {group_id} is now {view.status}."
    member_id = _form_id("member_id")
    if action == "add":
        group_review.add_member(g.db, group_id, member_id, actor, GroupRole(request.form.get("role", "member")))
        return f"Member {member_id} joined group {group_id}."
    if action == "remove":
        change = group_review.remove_member(g.db, group_id, member_id, actor, reason or "")
    else:
        target = request.form.get("to_group_id", "")
        change = group_review.move_member(g.db, group_id, member_id, int(target) if target.isdigit() else None,
                                          actor, reason)
    lacks = " ".join(w["message"] for w in change.warnings)
    return f"Member {member_id} left group {group_id}." + (f" The group now: {lacks}" if lacks else "")


def _form_id(name: str) -> int:
    value = request.form.get(name, "").strip()
    if not value.isdigit():
        raise DomainError("Choose a member.", name)
    return int(value)


def _attempt(work):
    """Run `work` and commit; a refusal is rolled back and shown as a message (a missing thing stays a 404)."""
    try:
        result = work()
        g.db.commit()
        return result
    except NotFoundError:
        raise
    except DomainError as exc:
        g.db.rollback()
        flash(exc.message, "error")
        return None


@blp.route("/groups/<int:group_id>/history")
@page_login_required
def group_history(group_id: int):
    events, names = group_pages.history_page(g.db, group_id)
    return render_template("group_history.html", group_id=group_id, events=events, names=names)
