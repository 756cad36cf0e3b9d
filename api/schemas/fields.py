"""Fields that validate once, in the schema, with the core's rules: text people write, codes, tags, times, ids.

Every string a client sends passes `Text` (valid Unicode, no control characters, not blank where
that matters); every number is a real JSON number and every flag a real JSON boolean (``"2"``,
``1.5``, ``"yes"`` are refused, never coerced). The patterns are written into the OpenAPI
document, so a client can check before sending.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

from marshmallow import ValidationError, fields, validate

from matcher.availability import known_zones, validate_timezone
from matcher.profiles import ISO_639_1, ProfileError, check_text, parse_hhmm, validate_languages, validate_topics

MAX_ID = 2**31 - 1   # ids are 32-bit integers in every supported database
_SPACES = r"\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"   # what `str.strip` removes, controls aside
_INVISIBLE = r"\u200b-\u200d\u2060\ufeff"
_LINE_OK = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"       # refused in text with line breaks
_ONE_LINE_OK = r"\u0000-\u001f\u007f-\u009f"                              # refused in one line
PATTERNS = {   # (multiline, not blank) -> the ECMA-262 pattern of what `check_text` accepts
    (False, False): rf"^[^{_ONE_LINE_OK}]*$",
    (True, False): rf"^[^{_LINE_OK}]*$",
    (False, True): rf"^[{_SPACES}{_INVISIBLE}]*[^{_ONE_LINE_OK}{_SPACES}{_INVISIBLE}][^{_ONE_LINE_OK}]*$",
    (True, True): rf"^[{_SPACES}{_INVISIBLE}\t\n\r]*[^{_ONE_LINE_OK}{_SPACES}{_INVISIBLE}][^{_LINE_OK}]*$",
}


def _run(rule: Callable[..., Any], value: Any, *args: Any, **kwargs: Any) -> Any:
    """A core rule's result, its `ProfileError` turned into marshmallow's `ValidationError`."""
    try:
        return rule(value, *args, **kwargs)
    except ProfileError as exc:
        raise ValidationError(exc.message) from exc


class Text(fields.String):
    """A string a person wrote: `matcher.profiles.check_text` (see there), documented as a pattern."""

    def __init__(self, *, multiline: bool = False, not_blank: bool = False, **kwargs: Any) -> None:
        metadata = {"pattern": PATTERNS[(multiline, not_blank)], **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)
        self.multiline, self.not_blank = multiline, not_blank

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        return _run(check_text, text, attr or "text", multiline=self.multiline, required=self.not_blank)


class StrictInteger(fields.Integer):
    """A JSON integer: never a string, a float or a boolean."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBoolean(fields.Boolean):
    """A JSON true or false: never "yes", 1 or "true"."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(truthy={True}, falsy={False}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):   # 1 == True, so the truthy set alone would take it
            raise self.make_error("invalid")
        return value


class Id(StrictInteger):
    """A stored row's id: 1..2**31-1."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=validate.Range(1, MAX_ID), **kwargs)


class ClockTime(Text):
    """A time of day, "HH:MM" in 24-hour form (nothing after it)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metadata = {**self.metadata, "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "18:00"}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        _run(parse_hhmm, text, attr or "time")
        return text


class TimeZone(Text):
    """An IANA time zone name such as "Europe/Berlin" (not the server's "localtime"); the document lists them."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metadata = {**self.metadata, "enum": sorted(known_zones())}

    def _deserialize(self, value, attr, data, **kwargs):
        return _run(validate_timezone, super()._deserialize(value, attr, data, **kwargs), attr or "timezone")


class LanguageCode(Text):
    """One ISO 639-1 code, lower-case, as the standard writes it (the document lists them all)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(metadata={"enum": sorted(ISO_639_1), "example": "en"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        code = super()._deserialize(value, attr, data, **kwargs)
        if code not in ISO_639_1:
            raise ValidationError(f"{code!r} is not an ISO 639-1 language code (two lower-case letters, e.g. \"es\").")
        return code


class LanguageCodes(fields.List):
    """ISO 639-1 codes, de-duplicated in the order given."""

    def __init__(self, *, at_least_one: bool = True, **kwargs: Any) -> None:
        super().__init__(LanguageCode(), validate=validate.Length(1 if at_least_one else 0, 10), **kwargs)
        self.at_least_one = at_least_one

    def _deserialize(self, value, attr, data, **kwargs):
        codes = _at_most(super()._deserialize(value, attr, data, **kwargs), 10)
        return list(_run(validate_languages, codes, attr or "languages", required=self.at_least_one))


class TopicTags(fields.List):
    """Short topic tags, lower-cased and de-duplicated."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Text(not_blank=True, validate=validate.Length(1, 50)), validate=validate.Length(0, 20),
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        tags = _at_most(super()._deserialize(value, attr, data, **kwargs), 20)
        return list(_run(validate_topics, tags, attr or "topics"))


def _at_most(items: list, most: int) -> list:
    """`items`, if there are at most `most` of them as sent (before duplicates are dropped)."""
    if len(items) > most:
        raise ValidationError(f"Give at most {most}.")
    return items


class UtcDateTime(fields.DateTime):
    """A stored (naive, UTC) timestamp written with its offset, as OpenAPI's date-time requires."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class MeetingFormats(fields.List):
    """How a member wants to meet: ["pair"], ["group"] or both; de-duplicated in the order given."""

    def __init__(self, **kwargs: Any) -> None:
        from matcher.states import MemberFormat

        super().__init__(fields.String(validate=validate.OneOf(tuple(MemberFormat))), validate=validate.Length(1, 2),
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return list(dict.fromkeys(super()._deserialize(value, attr, data, **kwargs)))


MIN_GROUP_SIZE, MAX_GROUP_SIZE = 3, 12


class GroupSizes(fields.List):
    """Group sizes (members, facilitator included) someone is comfortable with: sorted, de-duplicated."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(StrictInteger(validate=validate.Range(MIN_GROUP_SIZE, MAX_GROUP_SIZE)),
                         validate=validate.Length(1, MAX_GROUP_SIZE - MIN_GROUP_SIZE + 1), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return sorted(set(super()._deserialize(value, attr, data, **kwargs)))
