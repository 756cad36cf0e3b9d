"""MatchConfig: every weight and threshold of the matching score, in one object analysts can change."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

CONFIG_ENV = "PEERMATCH_CONFIG"


@dataclass(frozen=True)
class MatchConfig:
    """Weights of the score and thresholds of the hard filters.

    score = w_similarity * similarity + w_availability * availability_fit
            + w_topics * topic_overlap + w_preferences * reciprocal_preference_fit
            - w_exposure * exposure
    """

    w_similarity: float = 0.65
    w_availability: float = 0.15
    w_topics: float = 0.10
    w_preferences: float = 0.10
    w_exposure: float = 0.10
    min_overlap_minutes: int = 60
    target_overlap_minutes: int = 240
    exposure_enabled: bool = True
    exposure_window_hours: int = 72
    name: str = "default"

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.startswith("w_") and (not isinstance(value, (int, float)) or value < 0):
                raise ValueError(f"{f.name} must be a number >= 0, got {value!r}.")
        if self.min_overlap_minutes < 0 or self.target_overlap_minutes <= 0:
            raise ValueError("min_overlap_minutes must be >= 0 and target_overlap_minutes > 0.")
        if self.exposure_window_hours <= 0:
            raise ValueError("exposure_window_hours must be > 0.")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> MatchConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"Unknown config keys: {', '.join(sorted(unknown))}.")
        return cls(**data)

    def with_weights(self, **changes) -> MatchConfig:
        return replace(self, **changes)

    def digest(self) -> str:
        """A short hash of every setting, reported with each suggestion."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> MatchConfig:
        return cls.from_dict(json.loads(Path(path).read_text()))


def load_config(path: str | None = None) -> MatchConfig:
    """The config at `path`, else at $PEERMATCH_CONFIG, else the defaults."""
    path = path or os.environ.get(CONFIG_ENV)
    return MatchConfig.load(path) if path else MatchConfig()
