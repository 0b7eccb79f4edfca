from datetime import datetime

from jobs.visit_rollup.job import weekly_rollup

COLUMNS = ["visit_id", "patient_id", "clinic_code", "visited_at", "billed_amount", "visit_status"]


def test_rollup_counts_completed_visits_per_clinic_and_week(spark):
    visits = spark.createDataFrame(
        [
            (1, 501, "NRT", datetime(2026, 11, 2, 8, 0), 125.0, "completed"),
            (2, 502, "NRT", datetime(2026, 11, 4, 9, 0), 80.0, "completed"),
            (3, 501, "NRT", datetime(2026, 11, 5, 9, 0), 43.0, "completed"),
            (4, 503, "STH", datetime(2026, 11, 3, 9, 0), 159.0, "completed"),
        ],
        COLUMNS,
    )
    rows = [r.asDict() for r in weekly_rollup(visits).collect()]
    assert [(r["clinic_code"], r["visit_count"], r["patient_count"]) for r in rows] == [("NRT", 3, 2), ("STH", 1, 1)]
    assert rows[0]["billed_amount"] == 248.0


def test_rollup_ignores_cancelled_and_no_show_visits(spark):
    visits = spark.createDataFrame(
        [
            (1, 501, "EST", datetime(2026, 11, 2, 8, 0), 61.0, "completed"),
            (2, 502, "EST", datetime(2026, 11, 2, 9, 0), 0.0, "no_show"),
            (3, 503, "EST", datetime(2026, 11, 2, 10, 0), 43.0, "cancelled"),
        ],
        COLUMNS,
    )
    rows = weekly_rollup(visits).collect()
    assert [(r["clinic_code"], r["visit_count"]) for r in rows] == [("EST", 1)]
