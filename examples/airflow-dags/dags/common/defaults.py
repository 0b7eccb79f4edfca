"""Settings shared by every DAG of the clinic analytics repo.

Kept free of Airflow imports and of I/O so that DAG files parse fast and the helpers are unit-tested
without an Airflow installation.
"""

from datetime import timedelta

#: Dataset URIs that connect the ingestion DAG to its consumers.
RAW_VISITS_URI = "snowflake://analytics/raw/raw_visits"
DAILY_VISITS_URI = "snowflake://analytics/marts/fct_daily_visits"

DBT_PROJECT_DIR = "/usr/local/airflow/dags/dbt/clinic_analytics"


def default_args(owner: str, retries: int = 2) -> dict:
    """Default task arguments: a named owner, retries with a delay, no e-mail on retry."""
    if not owner or owner == "airflow":
        raise ValueError("owner must name the owning team, not the Airflow default")
    return {
        "owner": owner,
        "retries": retries,
        "retry_delay": timedelta(minutes=5),
        "email_on_retry": False,
    }


def dbt_command(verb: str, select: str) -> str:
    """The dbt command line that a BashOperator runs for the given selection."""
    if verb not in {"build", "run", "test", "source freshness"}:
        raise ValueError(f"unsupported dbt verb {verb!r}")
    return f"dbt {verb} --project-dir {DBT_PROJECT_DIR} --profiles-dir {DBT_PROJECT_DIR} --select {select}"
