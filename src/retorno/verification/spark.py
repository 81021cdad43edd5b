"""Splink on Apache Spark: the same model, rules and normalisation as on DuckDB, where one machine is not enough.

`SparkEngine` scores the candidate pairs of a run on Spark and hands them back; the ranking
of candidates and the decisions are then drawn by `linkage.link_with_stats`, the same code as
on DuckDB, so the two engines cannot decide differently from the same match weights. The pairs
are found and scored as on DuckDB (`narrowing`): the same blocking SQL (transpiled), and
Splink's scoring SQL over the candidates only, joined on integer ids.

On Spark the requests are normalised by the same SQL as on DuckDB (`normalise.spellings_sql`
and `people_sql`, transpiled by `normalise.to_spark`), the registry is read from a prepared
directory (`prepared`, on storage every executor reaches), and the term frequencies are the
prepared registry's own, given to Splink as lookups: the very numbers DuckDB is given.
Splink's Spark backend needs its similarity functions (damerau_levenshtein among them) from
the jar it ships, which the session sends to every executor (`spark.jars`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from retorno.verification import narrowing
from retorno.verification.normalise import people_sql, spellings_sql, to_spark

DEFAULT_MASTER = "local[*]"
# Spark 4 needs Java 17 or later; Debian's openjdk-17-jre-headless puts it here.
DEBIAN_JAVA_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"


def session(master: str = DEFAULT_MASTER, conf: dict[str, str] | None = None) -> Any:
    """A Spark session for linkage: Splink's similarity jar shipped to the executors, quiet, sized for the master.

    On a local master the shuffles get a few partitions per core instead of Spark's 200 (a
    run's pairs are few) and the driver, which is the executor too, 4 GB; on a cluster,
    Spark's settings (or `conf`) decide.
    """
    if "JAVA_HOME" not in os.environ and Path(DEBIAN_JAVA_HOME).is_dir():
        os.environ["JAVA_HOME"] = DEBIAN_JAVA_HOME
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    builder = (SparkSession.builder.master(master).appName("retorno-linkage")
               .config("spark.jars", similarity_jar_location())
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC"))
    if master.startswith("local"):
        cores = (os.cpu_count() or 1) if master in ("local[*]", "local") else int(master[6:-1] or 1)
        builder = (builder.config("spark.sql.shuffle.partitions", str(max(2, 2 * cores)))
                   .config("spark.driver.memory", "4g").config("spark.buffer.pageSize", "2m"))
    for name, value in (conf or {}).items():
        builder = builder.config(name, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


@dataclass
class SparkEngine:
    """Scores a run's candidate pairs on Spark (`linkage.Engine`).

    `master` is a Spark master URL (local[*], spark://host:7077, yarn, k8s://...);
    `checkpoint_dir`, on storage every executor reaches, is where Splink writes its
    intermediate tables on a cluster (by default they are kept in the executors' memory).
    """

    master: str = DEFAULT_MASTER
    conf: dict[str, str] = field(default_factory=dict)
    checkpoint_dir: str | None = None
    name: str = "spark"

    def predict(self, requests: pa.Table, prepared_path: str | Path, model: dict[str, Any],
                lookups: dict[str, pa.Table]) -> pa.Table:
        """Score the requests against a prepared registry with a Splink model; the pairs as Arrow."""
        from splink import Linker, SparkAPI

        spark = session(self.master, self.conf)
        normalised = _normalise_requests(spark, requests)
        columns = normalised.columns
        registry = (spark.read.option("basePath", str(Path(prepared_path) / "registry"))
                    .parquet(str(Path(prepared_path) / "registry"))
                    .selectExpr(*("false AS is_request" if name == "is_request" else name for name in columns)))
        if self.checkpoint_dir:
            spark.sparkContext.setCheckpointDir(self.checkpoint_dir)
            api = SparkAPI(spark_session=spark, break_lineage_method="parquet")
        else:
            api = SparkAPI(spark_session=spark, break_lineage_method="persist")
        linker = Linker([api.register(normalised, dataset_display_name="requests"),
                         api.register(registry, dataset_display_name="registry")], model)
        for column, table in lookups.items():
            linker.table_management.register_term_frequency_lookup(api.register(table, table_name=f"rt_tf_{column}"),
                                                                    column)
        try:
            predictions = _predict(spark, linker, model, columns).as_spark_dataframe()
            return predictions.select("source_dataset_l", "unique_id_l", "unique_id_r", "match_weight").toArrow()
        finally:
            # The session outlives the run (a service links again): nothing of this run stays in it.
            for view in ("requests", "registry", "rt_requests_raw", "rt_requests_spellings", *_VIEWS,
                         *(f"rt_tf_{column}" for column in lookups)):
                spark.catalog.dropTempView(view)
            spark.catalog.clearCache()


_VIEWS = ("rt_pairs", "rt_score_g", "rt_score_q")


def _predict(spark: Any, linker: Any, model: dict[str, Any], columns: list[str]) -> Any:
    """The run's pairs scored as on DuckDB (`narrowing`): blocked on integer ids, Splink's SQL scoring them.

    The blocking SQL is DuckDB's, transpiled (`normalise.to_spark`); the pairs are kept in
    memory until the run's cache is cleared (a run's pairs are few), and the registry's records
    scored are the candidates only.
    """
    rules = [rule["blocking_rule"] for rule in model["blocking_rules_to_generate_predictions"]]
    pairs = spark.sql(to_spark(narrowing.block_sql("registry", "requests", rules))).persist()
    pairs.createOrReplaceTempView("rt_pairs")
    chosen = ", ".join(columns)
    spark.sql(f"""SELECT 'registry' AS source_dataset, {chosen} FROM registry
        WHERE unique_id IN (SELECT g FROM rt_pairs)""").createOrReplaceTempView("rt_score_g")
    spark.sql(f"SELECT 'requests' AS source_dataset, {chosen} FROM requests").createOrReplaceTempView("rt_score_q")
    return narrowing.score(linker, "rt_pairs", "rt_score_g", "rt_score_q")


def _normalise_requests(spark: Any, requests: pa.Table) -> Any:
    """The requests normalised on Spark by the SQL DuckDB runs, transpiled (`normalise.to_spark`).

    Each step is computed and handed back as data (a run's requests are few): left as a plan,
    the phonetic key's forty nested calls would be analysed again in every one of Splink's
    queries that reads the requests, which costs Spark's optimiser minutes.
    """
    spark.createDataFrame(requests).createOrReplaceTempView("rt_requests_raw")
    spellings = spark.createDataFrame(spark.sql(to_spark(spellings_sql("rt_requests_raw"))).toArrow())
    spellings.createOrReplaceTempView("rt_requests_spellings")
    people = spark.sql(to_spark(people_sql("rt_requests_raw", "rt_requests_spellings")))
    return spark.createDataFrame(people.selectExpr("*", "true AS is_request").toArrow())


def normalise_on_spark(spark: Any, requests: pa.Table) -> pa.Table:
    """Requests normalised on Spark, as Arrow: for checking that both engines normalise alike."""
    return _normalise_requests(spark, requests).toArrow()
