"""Opening and changing a group programme from a page: one list of fields drives the form, its parsing and errors.

The form is checked by the API's own schema (`ProgrammeInSchema`) and saved by the same service, so a page
and a JSON client are refused for the same reasons; each refusal is shown as a sentence next to its field.
A new programme field is one more `FormField` in `PROGRAMME_FORM`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from api.auth import caller
from api.pages import blp, page_login_required
from api.schemas.groups import ProgrammeInSchema
from matcher.service import programmes
from matcher.service.consent import MAX_INVITATION_DAYS
from matcher.service.errors import DomainError


@dataclass(frozen=True)
class FormField:
    """One programme field on the page: `kind` is text, number, checkbox, list (comma-separated), date or select
    (`choices`: value and label of each option; a blank value sends nothing, so the API's default applies)."""

    name: str
    label: str
    kind: str = "text"
    hint: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    default: object = None


PROGRAMME_FORM = (
    FormField("name", "Name", hint="What coordinators and members call it."),
    FormField("languages", "Languages", "list", "ISO 639-1 codes separated by commas, e.g. en, es.", default=["en"]),
    FormField("min_size", "Smallest group", "number", "People, facilitator included (3-12).", default=4),
    FormField("max_size", "Largest group", "number", "People, facilitator included (3-12).", default=8),
    FormField("meeting_minutes", "Meeting length", "number", "Minutes, once a week (30-240).", default=90),
    FormField("needs_facilitator", "Every group needs a facilitator", "checkbox",
              "A supporter, or a peer with a free place, who facilitates it.", default=False),
    FormField("topics", "Topics", "list", "Optional, separated by commas. When given, only members who share one "
              "of them are grouped.", default=[]),
    FormField("start_date", "Start date", "date", "Optional: the first day groups may meet."),
    FormField("consent", "How members consent", "select",
              "Mutual: each member is invited and accepts or declines; a group starts once enough accepted. "
              "Coordinator: your approval starts the group.",
              choices=(("", "As the installation's default (a new programme) or as it is"),
                       ("mutual", "Mutual: members accept or decline"),
                       ("coordinator", "Coordinator: approval starts the group"))),
    FormField("invitation_days", "Days to answer an invitation", "number",
              f"With mutual consent, 1-{MAX_INVITATION_DAYS}. Blank: the installation's setting (a new programme) "
              "or as it is."),
)


def form_values(programme: Any) -> dict[str, object]:
    """What each field shows: the programme's values, or the defaults for a new one."""
    return {f.name: _shown(f, getattr(programme, f.name) if programme is not None else f.default)
            for f in PROGRAMME_FORM}


def _shown(field: FormField, value: Any) -> object:
    if field.kind == "list":
        return ", ".join(str(item) for item in value or ())
    if field.kind == "checkbox":
        return bool(value)
    return "" if value is None else str(value)


def parsed_form(form) -> dict[str, object]:
    """The submitted form as the JSON the API's schema reads (a blank number or date is left out or null)."""
    data: dict[str, object] = {}
    for field in PROGRAMME_FORM:
        raw = form.get(field.name, "").strip()
        if field.kind == "checkbox":
            data[field.name] = field.name in form
        elif field.kind == "list":
            data[field.name] = [item.strip() for item in raw.split(",") if item.strip()]
        elif field.kind == "number" and raw:
            data[field.name] = int(raw) if raw.lstrip("-").isdigit() else raw
        elif field.kind == "date":
            data[field.name] = raw or None
        elif field.kind == "select" and not raw:
            continue
        elif raw or field.kind != "number":
            data[field.name] = raw
    return data


def sentences(messages) -> list[str]:
    """Every message of a marshmallow error for one field (lists of items give nested dicts)."""
    if isinstance(messages, str):
        return [messages]
    if isinstance(messages, dict):
        return [s for value in messages.values() for s in sentences(value)]
    return [s for value in messages for s in sentences(value)]


def checked(form) -> tuple[dict | None, dict[str, list[str]]]:
    """The programme's fields from a submitted form, or None and the sentences to show next to each field."""
    try:
        return ProgrammeInSchema().load(parsed_form(form)), {}
    except ValidationError as exc:
        errors = exc.messages if isinstance(exc.messages, dict) else {"name": exc.messages}
        return None, {name: sentences(value) for name, value in errors.items()}


def _show(programme: Any, values: dict, errors: dict[str, list[str]], status: int = 200):
    return render_template("programme_form.html", programme=programme, fields=PROGRAMME_FORM, values=values,
                           errors=errors), status


def _save(programme: Any):
    """Check the submitted form and create or update the programme; errors show the form again as sent."""
    fields, errors = checked(request.form)
    saved = None
    if fields is not None:
        try:
            saved = (programmes.create_programme(g.db, fields, caller().actor) if programme is None
                     else programmes.update_programme(g.db, programme, _changed(programme, fields), caller().actor))
            g.db.commit()
        except DomainError as exc:
            g.db.rollback()
            saved, errors = None, {exc.field or "name": [exc.message]}
    if saved is None:
        sent = {f.name: (f.name in request.form if f.kind == "checkbox" else request.form.get(f.name, ""))
                for f in PROGRAMME_FORM}
        return _show(programme, sent, errors, 422)
    flash(f"Programme {saved.name} is saved.", "info")
    return redirect(url_for("pages.programme", programme_id=saved.id))


def _changed(programme: Any, fields: dict) -> dict:
    """The fields whose value the form changes (the audit event lists only those)."""
    return {name: value for name, value in fields.items() if getattr(programme, name) != value}


@blp.route("/programmes/new", methods=["GET", "POST"])
@page_login_required
def new_programme():
    """A form to open a group programme."""
    if request.method == "POST":
        return _save(None)
    return _show(None, form_values(None), {})


@blp.route("/programmes/<int:programme_id>/edit", methods=["GET", "POST"])
@page_login_required
def edit_programme(programme_id: int):
    """A form to change a programme; groups already formed keep their members until reviewed."""
    programme = programmes.get_programme(g.db, programme_id)
    if request.method == "POST":
        return _save(programme)
    return _show(programme, form_values(programme), {})
