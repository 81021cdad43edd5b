"""Benchmark of identity verification: synthetic registry and requests, train, link, score.

`run` generates (or reuses, cached by size and seed) a registry and a request list,
trains the model on a separate request sample, links the requests timing only the
linking, and scores the decisions against the ground truth.
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from retorno.verification.linkage import LinkDecision, Thresholds, link_with_stats, train
from retorno.verification.synth import ErrorModel, make_registry, make_requests

# The model is trained on requests drawn with another seed than the ones it is scored on.
TRAINING_SEED_OFFSET = 7919


def run(
    registry: int,
    requests: int,
    seed: int = 1,
    work_dir: str | None = None,
    *,
    memory_limit: str | None = None,
    thresholds: Thresholds = Thresholds(),
) -> dict[str, Any]:
    """Build the instance, train, link, and return the figures as a JSON-serialisable dict.

    `work_dir` holds the cached data (and, with `memory_limit`, the on-disk scratch
    database); by default a folder in the system temp directory.
    """
    cache = Path(work_dir or Path(tempfile.gettempdir()) / "retorno-bench-linkage")
    registry_path = cache / f"registry-{registry}-seed{seed}.parquet"
    requests_path = cache / f"requests-{requests}-from-{registry}-seed{seed}.parquet"
    training_path = cache / f"training-from-{registry}-seed{seed}.parquet"
    model_path = cache / f"model-{registry}-seed{seed}.json"
    started = time.perf_counter()
    if not registry_path.exists():
        make_registry(registry, seed, registry_path)
    if not requests_path.exists():
        make_requests(registry_path, requests, seed, ErrorModel(), requests_path)
    if not training_path.exists():
        training_size = min(5_000, registry)
        make_requests(registry_path, training_size, seed + TRAINING_SEED_OFFSET, ErrorModel(), training_path)
    generate_seconds = time.perf_counter() - started

    started = time.perf_counter()
    training = train(registry_path, model_path, sample_requests=training_path, seed=seed)
    train_seconds = time.perf_counter() - started

    started = time.perf_counter()
    decisions, stats = link_with_stats(
        requests_path, registry_path, model_path, thresholds,
        work_dir=cache / "scratch" if memory_limit else None, memory_limit=memory_limit,
    )
    seconds = time.perf_counter() - started

    truth = {row["request_id"]: row["true_registry_id"] for row in
             pq.read_table(requests_path, columns=["request_id", "true_registry_id"]).to_pylist()}
    return {
        "registry": registry,
        "requests": requests,
        "seconds": round(seconds, 3),
        "train_seconds": round(train_seconds, 3),
        "generate_seconds": round(generate_seconds, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **score(decisions, truth),
        "pairs_scored": stats["pairs_scored"],
        "prepare_seconds": stats["prepare_seconds"],
        "predict_seconds": stats["predict_seconds"],
        "labelled_pairs": training["labelled_pairs"],
        "thresholds": {"upper": thresholds.upper, "lower": thresholds.lower,
                       "national_share": thresholds.national_share},
    }


def score(decisions: list[LinkDecision], truth: dict[Any, Any]) -> dict[str, Any]:
    """Score decisions against ground truth (request id → true registry id, None for non-nationals).

    recall_with_review counts a national as found when auto-verified to the right record,
    or sent to review with the right record among the candidates the officer sees.
    """
    nationals = sum(1 for true_id in truth.values() if true_id is not None)
    verified = [d for d in decisions if d.outcome == "verified"]
    right = sum(1 for d in verified if d.registry_id == truth[d.request_id])
    reviewed_right = sum(
        1 for d in decisions
        if d.outcome == "review" and truth[d.request_id] is not None
        and any(c.registry_id == truth[d.request_id] for c in d.candidates)
    )
    return {
        "auto_precision": round(right / len(verified), 5) if verified else 1.0,
        "auto_recall": round(right / nationals, 5) if nationals else 1.0,
        "review_share": round(sum(1 for d in decisions if d.outcome == "review") / max(len(decisions), 1), 5),
        "false_verified_non_nationals": sum(1 for d in verified if truth[d.request_id] is None),
        "recall_with_review": round((right + reviewed_right) / nationals, 5) if nationals else 1.0,
        "verified": len(verified),
        "not_found_nationals": sum(
            1 for d in decisions if d.outcome == "not_found" and truth[d.request_id] is not None
        ),
    }
