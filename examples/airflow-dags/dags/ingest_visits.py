"""Lands the clinics' visit extracts in the raw schema, then hands over to the dbt DAG."""

from datetime import datetime

from airflow import DAG
from airflow.datasets import Dataset
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator
from airflow.operators.trigger_dagrun import TriggerDagRunOperator

from clinic_dags.common.defaults import RAW_VISITS_URI, default_args

with DAG(
    dag_id="ingest_visits",
    schedule="0 5 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args=default_args(owner="clinic-data-eng"),
    tags=["ingest", "clinic"],
    max_active_runs=1,
) as dag:
    start = EmptyOperator(task_id="start")
    load_raw_visits = BashOperator(
        task_id="load_raw_visits",
        bash_command="python -m clinic_ingest.load --table raw_visits --date {{ ds }}",
        outlets=[Dataset(RAW_VISITS_URI)],
    )
    trigger_dbt = TriggerDagRunOperator(
        task_id="trigger_dbt_daily",
        trigger_dag_id="dbt_daily",
        logical_date="{{ logical_date }}",
        wait_for_completion=False,
    )
    start >> load_raw_visits >> trigger_dbt
