"""Refreshes the clinic operations report whenever fct_daily_visits is rebuilt."""

from datetime import datetime

from airflow import DAG
from airflow.datasets import Dataset
from airflow.operators.bash import BashOperator

from clinic_dags.common.defaults import DAILY_VISITS_URI, default_args

with DAG(
    dag_id="clinic_report",
    schedule=[Dataset(DAILY_VISITS_URI)],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args=default_args(owner="clinic-analytics", retries=1),
    tags=["reporting", "clinic"],
) as dag:
    BashOperator(
        task_id="refresh_report",
        bash_command="python -m clinic_reports.refresh --report clinic_operations --date {{ ds }}",
    )
