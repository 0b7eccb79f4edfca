"""Rolls clinic visits up to one row per clinic and week for the capacity-planning extract.

Runs on EMR from the job's container image:
    spark-submit jobs/visit_rollup/job.py --input s3://.../visits/ --output s3://.../visit_rollup/
Inputs and outputs are declared in job.yaml next to this file.
"""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

COMPLETED = "completed"


def weekly_rollup(visits: DataFrame) -> DataFrame:
    """Completed visits per clinic and ISO week, with distinct patients and billed total."""
    completed = visits.where(F.col("visit_status") == COMPLETED)
    return (
        completed.withColumn("week_start", F.date_trunc("week", F.col("visited_at")).cast("date"))
        .groupBy("clinic_code", "week_start")
        .agg(
            F.count(F.lit(1)).alias("visit_count"),
            F.countDistinct("patient_id").alias("patient_count"),
            F.round(F.sum("billed_amount"), 2).alias("billed_amount"),
        )
        .orderBy("clinic_code", "week_start")
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="weekly clinic visit rollup")
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    spark = SparkSession.builder.appName("visit_rollup").getOrCreate()
    weekly_rollup(spark.read.parquet(args.input)).write.mode("overwrite").parquet(args.output)


if __name__ == "__main__":
    main()
