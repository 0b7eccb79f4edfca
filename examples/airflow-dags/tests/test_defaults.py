import pytest

from clinic_dags.common.defaults import dbt_command, default_args


def test_default_args_names_owner_and_retries():
    args = default_args(owner="clinic-analytics")
    assert args["owner"] == "clinic-analytics"
    assert args["retries"] == 2


@pytest.mark.parametrize("owner", ["", "airflow"])
def test_default_args_refuses_the_airflow_default_owner(owner):
    with pytest.raises(ValueError):
        default_args(owner=owner)


def test_dbt_command_selects_the_given_models():
    assert dbt_command("build", "marts").endswith("--select marts")
