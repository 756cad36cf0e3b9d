"""Bulk onboarding: members per second into the database with their narratives embedded, against raw
``SentenceTransformer.encode`` of the same texts.

    python -m bench.onboard [--members 2000] [--batch 500] [--database sqlite|postgres] [--json]
                            [--models all-MiniLM-L6-v2 all-mpnet-base-v2] [--backends torch onnx onnxruntime]

The texts are new combinations of fixture sentences (~60-80 words, `bench.community`). The raw
baseline is the model's own ``encode`` on torch (batch 32, normalised, as `matcher.text.embedding` calls it;
onboarding encodes with the model's registered encoder, torch for both, or ``PEERMATCH_ENCODER``),
timed before and after the onboarding; the faster of the two counts, so the ratio is conservative.
Onboarding is `matcher.service.onboarding.add_new_members` in batches of ``--batch`` members, one transaction
each: embed them (through a fresh `Embedder`, so nothing is cached), stamp one new index version,
insert, commit; on PostgreSQL the pgvector store is written in the same transaction. Target: at
least 90% of the raw rate.

With several ``--models`` each is measured in turn in the same run, and ``raw_vs_first`` is its raw
encode rate as a ratio to the first model's. ``--backends onnx`` also loads each model with
sentence-transformers' ONNX backend and times its ``encode`` against the plain (torch) one in the same
run; when that backend cannot load, the report says why (the error) instead of a number.
``--backends onnxruntime`` exports the model to ONNX itself and times onnxruntime fp32 and dynamic int8
against torch on the same texts, with the largest change of any pairwise similarity (`bench.onnx_runtime`;
needs ``peermatch[onnx]``).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import time

from sqlalchemy.orm import Session

from bench.community import member_fields, synthetic_narratives, temporary_database
from matcher.service.onboarding import add_new_members
from matcher.store.engine import make_engine
from matcher.text.embedding import Embedder


def raw_encode_seconds(embedder: Embedder, texts: list[str]) -> float:
    start = time.perf_counter()
    embedder.model.encode(texts, batch_size=embedder.batch_size, convert_to_numpy=True, normalize_embeddings=True)
    return time.perf_counter() - start


def onboard_seconds(url: str, fields: list[dict], texts: list[str], embedder: Embedder, batch: int) -> float:
    """Store and embed every member, `batch` per transaction; returns the wall time."""
    engine = make_engine(url)
    fresh = embedder.fresh()
    start = time.perf_counter()
    for first in range(0, len(texts), batch):
        with Session(engine) as session:
            add_new_members(session, fresh, [{**f, "narrative": t}
                                             for f, t in zip(fields[first:first + batch], texts[first:first + batch])])
            session.commit()
    seconds = time.perf_counter() - start
    engine.dispose()
    return seconds


def onnx_ratio(embedder: Embedder, texts: list[str], torch_seconds: float) -> dict:
    """The ONNX backend's encode rate as a ratio to the torch one (or why it cannot run)."""
    try:
        from sentence_transformers import SentenceTransformer

        onnx = SentenceTransformer(embedder.model_name, backend="onnx", device="cpu")
    except Exception as exc:  # report any loader failure as the measurement's answer
        return {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    seconds = raw_encode_seconds(Embedder(model=onnx, model_name=embedder.model_name, encoder="torch"), texts)
    return {"texts_per_s": round(len(texts) / seconds, 1), "ratio_to_torch": round(torch_seconds / seconds, 3)}


def measure_model(name: str | None, args: argparse.Namespace, texts: list[str], warm_up: list[str],
                  fields: list[dict]) -> dict:
    embedder = Embedder(model_name=name)
    raw_encode_seconds(embedder, warm_up)
    before = raw_encode_seconds(embedder, texts)
    with temporary_database(args.database) as url:
        seconds = onboard_seconds(url, fields, texts, embedder, args.batch)
    after = raw_encode_seconds(embedder, texts)
    raw = min(before, after)
    report = {"model": embedder.model_id, "encoder": embedder.encoder.value, "dimension": embedder.dimension,
              "members": args.members,
              "database": args.database, "batch": args.batch,
              "members_per_s": round(args.members / seconds, 1), "raw_texts_per_s": round(args.members / raw, 1),
              "ratio": round(raw / seconds, 3), "seconds": round(seconds, 2),
              "raw_seconds": [round(before, 2), round(after, 2)],
              "words_per_text": round(sum(len(t.split()) for t in texts) / len(texts), 1),
              "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
              "load_avg_1m": round(os.getloadavg()[0], 2)}
    if "onnx" in args.backends:
        report["onnx"] = onnx_ratio(embedder, texts, raw)
    if "onnxruntime" in args.backends:
        from bench.onnx_runtime import compare_backends

        report["onnxruntime"] = compare_backends(embedder, texts)
    return report


def print_report(report: dict, args: argparse.Namespace) -> None:
    print(f"{report['model']}: {report['members']} members ({report['words_per_text']} words each) into "
          f"{args.database}, {args.batch} per transaction")
    print(f"  peermatch onboarding   {report['members_per_s']:>7} members/s  ({report['seconds']:.1f} s, "
          f"encoded with {report['encoder']})")
    print(f"  raw model.encode       {report['raw_texts_per_s']:>7} texts/s    "
          f"({report['raw_seconds'][0]:.1f} s before, {report['raw_seconds'][1]:.1f} s after)")
    print(f"  ratio                  {report['ratio']:>7.1%}   (target >= 90%)")
    if "raw_vs_first" in report:
        print(f"  raw rate vs first model {report['raw_vs_first']:>6.3f}x")
    if "onnx" in report:
        print(f"  onnx backend           {report['onnx']}")
    for backend, measured in report.get("onnxruntime", {}).items():
        print(f"  {backend:<22} {measured['texts_per_s']:>7} texts/s    ({measured['ratio_to_torch']:.2f}x torch; "
              f"similarities moved by up to {measured['max_similarity_change']:.4f})")
    print(f"  process max RSS        {report['max_rss_mb']:>7} MB   (load average {report['load_avg_1m']})")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.onboard", description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=1000, help="members per transaction")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", nargs="+", default=[None],
                        help="registered model names or folders (default: the configured model)")
    parser.add_argument("--backends", nargs="+", default=["torch"], choices=("torch", "onnx", "onnxruntime"))
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    texts = synthetic_narratives(args.members + 64, args.seed)
    warm_up, texts = texts[:min(64, args.members)], texts[64:]
    fields = [{k: v for k, v in f.items() if k != "id"} for f in member_fields(args.members, args.seed)]
    reports = [measure_model(name, args, texts, warm_up, fields) for name in args.models]
    for report in reports[1:]:
        report["raw_vs_first"] = round(report["raw_texts_per_s"] / reports[0]["raw_texts_per_s"], 3)
    result = reports[0] if len(reports) == 1 else {"models": reports}
    if args.json:
        print(json.dumps(result))
    else:
        for report in reports:
            print_report(report, args)
    return result


if __name__ == "__main__":
    main()
