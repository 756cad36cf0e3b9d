"""quantize: int8 products never further from the exact ones than the bound they come with."""
from __future__ import annotations

import numpy as np
import pytest

from matcher.config import MatchConfig
from matcher.index import MemberIndex
from matcher.quantize import approximate_products, quantize
from matcher.ranking import rank
from tests.matcher.factories import WEEK, make_member


def test_int8_products_stay_within_their_bound_and_the_bound_is_small():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(500, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[7] = 0                                    # a removed row
    vectors[8] = np.eye(384, dtype=np.float32)[3]     # all weight on one component
    vectors[9] = -vectors[10]
    codes, scales, residuals = quantize(vectors)
    assert codes.dtype == np.int8 and np.abs(codes.astype(int)).max() == 127
    rows = rng.permutation(500)[:333]
    for query in (vectors[11], vectors[9], 3.5 * rng.normal(size=384).astype(np.float32)):   # unit, and not
        approximate, error = approximate_products(codes, scales, residuals, rows, query, chunk=64)
        exact = vectors[rows].astype(np.float64) @ query.astype(np.float64)
        assert (np.abs(exact - approximate) <= error).all()
        assert np.median(error) < 0.012 * np.linalg.norm(query) + 1e-4   # ~4x smaller than a typical top-10 gap
    assert residuals[7] == 0 and residuals[8] == 0


@pytest.mark.parametrize("k", [1, 10])
def test_ranking_reads_float32_vectors_only_near_the_top_and_stays_exact(monkeypatch, k):
    rng = np.random.default_rng(1)
    index = MemberIndex(32, week_start=WEEK)
    centres = rng.normal(size=(4, 32))
    for i in range(1, 2001):
        vector = centres[i % 4] + 0.8 * rng.normal(size=32)
        member = make_member(i, role="seeker" if i % 2 else "supporter", topics=())
        index.upsert(member, vector / np.linalg.norm(vector))
    read = []
    similarities = index.similarities
    monkeypatch.setattr(index, "similarities",
                        lambda rows, q, **kw: read.append(rows.size) or similarities(rows, q, **kw))
    for qid in (1, 3, 5):
        read.clear()
        got = rank(index.get(qid), index.embedding(qid), index, MatchConfig(), k=k)
        assert got.candidates == 1000 and sum(read) <= 64 + k            # float32 rows read: a batch or two
        exact = index.embeddings[1:2000:2] @ index.embedding(qid)          # supporters: rows 1, 3, ...
        want = (np.argsort(-exact, kind="stable")[:k] * 2 + 2).tolist()   # every pair has the same fit and topics
        assert [s.member_id for s in got.suggestions] == want
