"""The member directory (search, pages) and one member's page: hold, pairings over time, feedback, history."""
from __future__ import annotations

from flask import flash, g, render_template, request, url_for
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from api.pages import blp, page_login_required
from matcher.profiles import Role
from matcher.service.directory import MemberSearch, member_record, search_members
from matcher.states import MemberStatus


class MemberSearchSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String(load_default=None, validate=validate.Length(max=80))
    role = fields.Enum(Role, by_value=True, load_default=None)
    status = fields.Enum(MemberStatus, by_value=True, load_default=None)
    held = fields.Boolean(load_default=None, truthy={"yes", "1"}, falsy={"no", "0"})
    language = fields.String(load_default=None, validate=validate.Regexp(r"^[a-z]{2}$"))
    page = fields.Integer(load_default=1, validate=validate.Range(1, 10**6))
    per_page = fields.Integer(load_default=25, validate=validate.Range(1, 100))


def member_search(args) -> MemberSearch:
    """The search in the URL; a part that does not parse is named in a message and left out."""
    raw = {k: v for k, v in args.items() if v.strip() != ""}
    try:
        return MemberSearch(**MemberSearchSchema().load(raw))
    except ValidationError as exc:
        messages = exc.normalized_messages()
        for name, msgs in messages.items():
            flash(f"Ignored {name}: {' '.join(map(str, msgs))}", "error")
        return MemberSearch(**MemberSearchSchema().load({k: v for k, v in raw.items() if k not in messages}))


@blp.route("/members")
@page_login_required
def members():
    """Members found by name, role, status, hold and language, a page at a time."""
    search = member_search(request.args)
    found = search_members(g.db, search)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    pages = max(1, -(-found.total // found.per_page))
    return render_template("members.html", found=found, search=search, pages=pages, roles=list(Role),
                           statuses=list(MemberStatus),
                           page_url=lambda n: url_for("pages.members", **args, page=n))


@blp.route("/members/<int:member_id>")
@page_login_required
def member(member_id: int):
    """A member's story, why they are held (if they are), their pairings over time, feedback and history."""
    return render_template("member.html", record=member_record(g.db, member_id))
