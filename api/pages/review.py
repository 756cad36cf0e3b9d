"""The review queue, pairing rounds, a pair side by side with its history, and held members."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from api import services
from api.auth import caller
from api.pages import blp, coordinator_zone, page_login_required
from matcher.profiles import DAYS
from matcher.service import coordination, review
from matcher.service.errors import DomainError, NotFoundError
from matcher.service.rounds import run_round as propose
from matcher.states import Decision


@blp.route("/rounds", methods=["POST"])
@page_login_required
def run_round():
    round_row, pairings = propose(g.db, services(), caller().actor)
    g.db.commit()
    flash(f"Round {round_row.id}: {len(pairings)} proposals, {len(round_row.unmatched)} members left unmatched.",
          "info")
    return redirect(url_for("pages.queue"))


@blp.route("/pairings/<int:pairing_id>")
@page_login_required
def pair(pairing_id: int):
    """Both narratives side by side, the best-matching sentences marked, and the week as a grid."""
    tz = coordinator_zone()
    view = coordination.pair_view(g.db, services(), pairing_id, tz)
    g.db.commit()
    return render_template("pair.html", **vars(view), tz=tz, days=DAYS)


@blp.route("/pairings/<int:pairing_id>/<any(approve, reject, end, withdraw):action>", methods=["POST"])
@page_login_required
def decide(pairing_id: int, action: str):
    reason = request.form.get("reason", "").strip() or None
    if action != Decision.APPROVE and not reason:
        flash("Give a reason; it is kept in the pairing's history.", "error")
        return redirect(url_for("pages.pair", pairing_id=pairing_id))
    try:
        pairing = review.decide(g.db, services().config, pairing_id, Decision(action), caller().actor, reason)
        g.db.commit()
        flash(f"Pairing {pairing.id} is now {pairing.status}.", "info")
    except NotFoundError:
        raise
    except DomainError as exc:
        g.db.rollback()
        flash(exc.message, "error")
    return redirect(url_for("pages.pair", pairing_id=pairing_id))


@blp.route("/pairings/<int:pairing_id>/history")
@page_login_required
def history(pairing_id: int):
    events = review.history(g.db, pairing_id)
    pairing = review.get_pairing(g.db, pairing_id)
    return render_template("history.html", pairing=pairing, events=events,
                           names=coordination.pairing_names(g.db, pairing))


@blp.route("/members/<int:member_id>/release", methods=["POST"])
@page_login_required
def release(member_id: int):
    reason = request.form.get("reason", "").strip()
    row, _ = coordination.held_member(g.db, member_id)
    if not reason:
        flash("Say what you did before releasing the hold; it is kept in the audit trail.", "error")
        return redirect(url_for("pages.member", member_id=member_id))
    try:
        review.release_hold(g.db, row, caller().actor, reason)
        g.db.commit()
        flash(f"The hold on member {member_id} is released; the next round may pair them.", "info")
    except DomainError as exc:
        g.db.rollback()
        flash(exc.message, "error")
    return redirect(url_for("pages.queue"))
