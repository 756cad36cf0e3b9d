"""Safety hold: a triage aid that flags narratives which may signal acute crisis for a human to review.

It is not a clinical tool and makes no diagnosis. A narrative is held when it contains one of a
configurable list of phrases, or when one of its sentences is close (cosine) to one of a few
crisis exemplars. Held members are never proposed automatically and come first in the
coordinator's queue, where a person decides.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from matcher.text.embedding import Embedder, split_sentences

DEFAULT_PHRASES = (
    "kill myself", "killing myself", "end my life", "ending my life", "take my own life",
    "taking my own life", "want to die", "wanna die", "suicide", "suicidal", "don't want to live",
    "do not want to live", "don't want to be alive", "better off dead", "no reason to live",
    "end it all", "ending it all", "overdose on", "slit my", "hang myself", "goodbye forever",
    "my suicide note", "not be here tomorrow", "plan to die",
)

DEFAULT_EXEMPLARS = (
    "I am going to kill myself tonight.",
    "I have a plan to end my life and I have the pills ready.",
    "I don't want to be alive anymore and I can't go on.",
    "Everyone would be better off if I was dead.",
    "I keep thinking about suicide and I'm scared I will act on it.",
    "This is my goodbye, I can't do this anymore.",
)


@dataclass(frozen=True)
class SafetyConfig:
    phrases: tuple[str, ...] = DEFAULT_PHRASES
    exemplars: tuple[str, ...] = DEFAULT_EXEMPLARS
    similarity_threshold: float = 0.62

    @classmethod
    def load(cls, path: str | Path) -> SafetyConfig:
        data = json.loads(Path(path).read_text())
        return cls(tuple(data.get("phrases", DEFAULT_PHRASES)), tuple(data.get("exemplars", DEFAULT_EXEMPLARS)),
                   float(data.get("similarity_threshold", 0.62)))

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SafetyResult:
    held: bool
    reasons: list[str] = field(default_factory=list)
    max_similarity: float = 0.0


class SafetyScreen:
    """Screens narratives against phrases and exemplar similarity (exemplars embedded once)."""

    def __init__(self, embedder: Embedder, config: SafetyConfig | None = None) -> None:
        self.embedder = embedder
        self.config = config or SafetyConfig()
        self._pattern = re.compile("|".join(re.escape(p) for p in self.config.phrases), re.IGNORECASE) \
            if self.config.phrases else None
        self._exemplars = embedder.encode(self.config.exemplars)

    def screen(self, narrative: str) -> SafetyResult:
        """Whether to hold `narrative` for review, and why (the matched phrase or the similarity)."""
        return self.screen_many([narrative])[0]

    def screen_many(self, narratives: list[str]) -> list[SafetyResult]:
        """Screen several narratives, embedding all their sentences in one batch."""
        sentences = [split_sentences(n) or [n] for n in narratives]
        flat = [s for group in sentences for s in group]
        sims = self.embedder.encode(flat) @ self._exemplars.T if len(self._exemplars) else np.zeros((len(flat), 0))
        best = sims.max(axis=1) if sims.size else np.zeros(len(flat))
        results, start = [], 0
        for narrative, group in zip(narratives, sentences):
            top = float(best[start:start + len(group)].max()) if group else 0.0
            start += len(group)
            reasons = []
            match = self._pattern.search(narrative) if self._pattern else None
            if match:
                reasons.append(f"phrase: {match.group(0).lower()}")
            if top >= self.config.similarity_threshold:
                reasons.append(f"close to a crisis example (similarity {top:.2f})")
            results.append(SafetyResult(bool(reasons), reasons, round(top, 4)))
        return results
