"""Builds the clinic_analytics dbt models once the day's raw visits have landed."""

from datetime import datetime

from airflow import DAG
from airflow.datasets import Dataset
from airflow.operators.bash import BashOperator
from airflow.sensors.external_task import ExternalTaskSensor

from clinic_dags.common.defaults import DAILY_VISITS_URI, dbt_command, default_args

with DAG(
    dag_id="dbt_daily",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args=default_args(owner="clinic-analytics"),
    tags=["dbt", "clinic"],
) as dag:
    wait_for_raw = ExternalTaskSensor(
        task_id="wait_for_raw_visits",
        external_dag_id="ingest_visits",
        external_task_id="load_raw_visits",
        mode="reschedule",
        timeout=60 * 60,
    )
    build_staging = BashOperator(task_id="build_staging", bash_command=dbt_command("build", "staging"))
    build_marts = BashOperator(
        task_id="build_marts",
        bash_command=dbt_command("build", "marts"),
        outlets=[Dataset(DAILY_VISITS_URI)],
    )
    wait_for_raw >> build_staging >> build_marts
