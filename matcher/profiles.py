"""Plain data about members: who they are, when they are free, whom they can help."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from matcher.states import MemberStatus


class Role(StrEnum):
    """What a member comes for: to be supported, to support, or both (a peer)."""

    SEEKER = "seeker"
    SUPPORTER = "supporter"
    PEER = "peer"


ROLES = tuple(Role)
STATUSES = tuple(MemberStatus)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_NARRATIVE_CHARS = 5000
MAX_WINDOWS = 28

_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")   # matched whole (fullmatch): no trailing newline
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")          # Unicode's Cc characters
LINE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")   # the same but tab and line breaks
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"

# ISO 639-1 codes (two letters); the languages a member can meet in.
ISO_639_1 = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv
    cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht
    hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la
    lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj
    om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv
    sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu""".split()
)


class ProfileError(ValueError):
    """A member field that cannot be accepted; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def parse_hhmm(value: object, field: str = "time") -> int:
    """Minutes after midnight for a "HH:MM" string."""
    match = _HHMM.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise ProfileError(field, f"{value!r} is not a time of day in 24-hour HH:MM form.")
    return int(match.group(1)) * 60 + int(match.group(2))


@dataclass(frozen=True)
class Window:
    """A weekly window in the member's local time; `end <= start` means it crosses midnight, so a window
    that ends when it starts lasts the whole 24 hours from then."""

    day: str
    start: int
    end: int

    @classmethod
    def parse(cls, raw: dict, field: str = "availability") -> Window:
        if not isinstance(raw, dict):
            raise ProfileError(field, "Each window must be an object with day, start and end.")
        day = raw.get("day")
        if day not in DAYS:
            raise ProfileError(f"{field}.day", f"{day!r} is not a day; use one of {', '.join(DAYS)}.")
        start = parse_hhmm(raw.get("start"), f"{field}.start")
        end = parse_hhmm(raw.get("end"), f"{field}.end")
        return cls(day, start, end)

    @property
    def minutes(self) -> int:
        return (self.end - self.start) % 1440 or 1440

    def to_dict(self) -> dict:
        return {"day": self.day, "start": format_hhmm(self.start), "end": format_hhmm(self.end)}


def format_hhmm(minutes: int) -> str:
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


@dataclass
class Member:
    """What the matching engine knows about one member."""

    id: int
    role: str
    narrative: str
    languages: tuple[str, ...]
    timezone: str
    availability: tuple[Window, ...]
    capacity: int = 1
    topics: tuple[str, ...] = ()
    status: str = "active"
    display_name: str = ""
    intro: str = ""
    preferred_languages: tuple[str, ...] = ()
    preferred_topics: tuple[str, ...] = ()
    active_pairings: int = 0
    needs_review: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def seeks(self) -> bool:
        return self.role in (Role.SEEKER, Role.PEER)

    @property
    def supports(self) -> bool:
        return self.role in (Role.SUPPORTER, Role.PEER)

    @property
    def free_capacity(self) -> int:
        return max(self.capacity - self.active_pairings, 0)


SEEKING_ROLES = (Role.SEEKER, Role.PEER)
SUPPORTING_ROLES = (Role.SUPPORTER, Role.PEER)


def roles_compatible(a: str, b: str) -> bool:
    """True when one side can seek support and the other can give it."""
    return ((a in SEEKING_ROLES and b in SUPPORTING_ROLES)
            or (a in SUPPORTING_ROLES and b in SEEKING_ROLES))


def validate_languages(codes: list[str], field: str = "languages", required: bool = True) -> tuple[str, ...]:
    """Lower-cased, de-duplicated ISO 639-1 codes, in the order given."""
    if not isinstance(codes, (list, tuple)) or (required and not codes):
        raise ProfileError(field, "Give at least one language as an ISO 639-1 code, e.g. \"en\".")
    out: list[str] = []
    for code in codes:
        norm = code.strip().lower() if isinstance(code, str) else code
        if norm not in ISO_639_1:
            raise ProfileError(field, f"{code!r} is not an ISO 639-1 language code (two letters, e.g. \"es\").")
        if norm not in out:
            out.append(norm)
    return tuple(out)


def validate_topics(topics: list[str], field: str = "topics") -> tuple[str, ...]:
    """Lower-cased, de-duplicated topic tags."""
    if not isinstance(topics, (list, tuple)):
        raise ProfileError(field, "Topics must be a list of short tags.")
    out: list[str] = []
    for tag in topics:
        if not isinstance(tag, str) or not tag.strip() or len(tag) > 50:
            raise ProfileError(field, "Each topic must be a non-empty tag of at most 50 characters.")
        norm = tag.strip().lower()
        if norm not in out:
            out.append(norm)
    if len(out) > 20:
        raise ProfileError(field, "Give at most 20 topics.")
    return tuple(out)


def check_text(value: str, field: str, *, multiline: bool = False, required: bool = False) -> str:
    """`value`, if it is text a person could have written and we can store.

    Raises
    ------
    ProfileError: a lone surrogate (not valid Unicode), a control character (tab and line breaks
        are allowed where `multiline`), or, when `required`, nothing but whitespace and zero-width
        characters.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ProfileError(field, "This text is not valid Unicode (it contains a lone surrogate).") from None
    bad = (LINE_CONTROL if multiline else CONTROL).search(value)
    if bad:
        raise ProfileError(field, f"This text contains the control character U+{ord(bad.group()):04X}, "
                                  "which is not allowed here.")
    if required and not value.strip().strip(ZERO_WIDTH).strip():
        raise ProfileError(field, "This must not be empty, or only spaces or invisible characters.")
    return value


def validate_narrative(text: str, field: str = "narrative") -> str:
    if not isinstance(text, str) or not text.strip():
        raise ProfileError(field, "The narrative must not be empty.")
    if len(text) > MAX_NARRATIVE_CHARS:
        raise ProfileError(field, f"The narrative has {len(text)} characters; the limit is {MAX_NARRATIVE_CHARS}.")
    return text.strip()


def parse_availability(raw: list[dict], field: str = "availability") -> tuple[Window, ...]:
    if not isinstance(raw, (list, tuple)) or not raw:
        raise ProfileError(field, "Give at least one weekly window, "
                                  "e.g. {\"day\": \"mon\", \"start\": \"18:00\", \"end\": \"20:00\"}.")
    if len(raw) > MAX_WINDOWS:
        raise ProfileError(field, f"Give at most {MAX_WINDOWS} weekly windows.")
    return tuple(Window.parse(w, f"{field}[{i}]") for i, w in enumerate(raw))
