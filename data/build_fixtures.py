"""Build data/fixtures/members.json from the hand-written narratives in data/fixtures/narratives/.

The narratives, names, intros and topics are this project's own writing (one file per theme).
This script adds what a form would also collect: languages, time zone, weekly availability,
capacity, status and the formats a member wants (`formats`: "pair", "group" or both; optional
`group_sizes`), drawn from seeded generators so re-running it reproduces the file exactly.

    python data/build_fixtures.py
"""
from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent / "fixtures"
SEED = 20261125

# (IANA zone, language most people there would meet in)
ZONES = [
    ("America/New_York", "en"), ("America/Chicago", "en"), ("America/Los_Angeles", "en"),
    ("America/Mexico_City", "es"), ("Europe/London", "en"), ("Europe/Madrid", "es"),
    ("Europe/Paris", "fr"), ("Europe/Berlin", "de"), ("Africa/Johannesburg", "en"),
    ("Asia/Kolkata", "en"), ("Australia/Sydney", "en"),
]
OTHER_LANGUAGES = ("es", "fr", "de")

# Weekly habits in local time: (probability, windows)
HABITS = [
    (0.35, [("mon", "18:30", "21:00"), ("wed", "18:30", "21:00"), ("thu", "19:00", "21:30")]),
    (0.20, [("tue", "12:00", "13:30"), ("thu", "12:00", "13:30")]),
    (0.30, [("sat", "09:00", "13:00"), ("sun", "10:00", "12:30")]),
    (0.25, [("sat", "14:00", "20:00"), ("sun", "15:00", "19:00")]),
    (0.15, [("fri", "22:00", "01:00"), ("sun", "21:30", "00:30")]),
    (0.08, [("tue", "02:00", "05:00"), ("wed", "02:00", "05:00")]),  # night shifts
    (0.20, [("mon", "07:00", "08:30"), ("fri", "07:00", "08:30")]),
]


def pick_languages(rng: random.Random, local: str) -> list[str]:
    if local == "en":
        extra = [code for code in OTHER_LANGUAGES if rng.random() < 0.1]
        return ["en", *extra]
    languages = [local]
    if rng.random() < 0.8:
        languages.append("en")
    return languages


def pick_availability(rng: random.Random) -> list[dict]:
    chosen = [windows for p, windows in HABITS if rng.random() < p] or [rng.choice(HABITS)[1]]
    days_used: set[str] = set()
    out = []
    for windows in chosen:
        for day, start, end in windows:
            if day not in days_used:
                days_used.add(day)
                out.append({"day": day, "start": start, "end": end})
    return out


def capacity_for(rng: random.Random, role: str) -> int:
    return {"seeker": 1, "supporter": rng.randint(1, 4), "peer": rng.randint(1, 2)}[role]


def pick_formats(rng: random.Random) -> tuple[list[str], list[int] | None]:
    """Pairs, groups or both (about half want a group), and, for some, the group sizes they accept."""
    draw = rng.random()
    formats = ["pair"] if draw < 0.5 else (["group"] if draw < 0.75 else ["pair", "group"])
    sizes = sorted(rng.sample(range(4, 9), 3)) if "group" in formats and rng.random() < 0.15 else None
    return formats, sizes


def build() -> list[dict]:
    rng = random.Random(SEED)
    group_rng = random.Random(SEED + 14)   # its own stream: the fields drawn before groups stay as they were
    members = []
    for path in sorted((HERE / "narratives").glob("*.json")):
        theme = path.stem
        for entry in json.loads(path.read_text(encoding="utf-8")):
            zone, local = rng.choice(ZONES)
            members.append({
                "key": f"m{len(members) + 1:03d}", "theme": theme, "display_name": entry["display_name"],
                "intro": entry["intro"], "role": entry["role"], "narrative": entry["narrative"],
                "topics": entry["topics"], "languages": pick_languages(rng, local), "timezone": zone,
                "availability": pick_availability(rng), "capacity": capacity_for(rng, entry["role"]),
                "status": "paused" if rng.random() < 0.05 else "active",
            })
            formats, sizes = pick_formats(group_rng)
            members[-1]["formats"] = formats
            if sizes:
                members[-1]["group_sizes"] = sizes
    return members


if __name__ == "__main__":
    members = build()
    (HERE / "members.json").write_text(json.dumps({"members": members}, indent=1, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    print(f"Wrote {len(members)} members.")
