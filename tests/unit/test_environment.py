"""The environment of a job's container: the workflow's variables without credentials."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from snakemake_interface_common.exceptions import WorkflowError

from snakemake_executor_plugin_aws_batch.jobspec.environment import (
    AWS_CREDENTIAL_VARIABLES,
    is_secret_name,
    job_environment,
)

from ..fakes import RecordingLogger

VARIABLES = {
    "MY_SETTING": "1",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "AWS_ACCESS_KEY_ID": "id",
    "AWS_SESSION_TOKEN": "token",
    "AWS_DEFAULT_REGION": "us-west-2",
    "SNAKEMAKE_STORAGE_S3_SECRET_KEY": "s3secret",
    "SNAKEMAKE_STORAGE_S3_ACCESS_KEY": "s3key",
    "SNAKEMAKE_STORAGE_S3_ENDPOINT_URL": "http://s3",
}
STORAGE = [
    "SNAKEMAKE_STORAGE_S3_SECRET_KEY",
    "SNAKEMAKE_STORAGE_S3_ACCESS_KEY",
    "SNAKEMAKE_STORAGE_S3_ENDPOINT_URL",
]


def environment(variables, *, storage=(), forward=False, logger=None):
    return job_environment(
        variables,
        storage_variables=storage,
        forward_storage_credentials=forward,
        logger=logger if logger is not None else RecordingLogger(),
    )


def test_credentials_and_storage_secrets_dropped_by_default(logger):
    env = environment(VARIABLES, storage=STORAGE, logger=logger)
    assert env == {
        "MY_SETTING": "1",
        "AWS_DEFAULT_REGION": "us-west-2",
        "SNAKEMAKE_STORAGE_S3_ENDPOINT_URL": "http://s3",
    }
    assert logger.at("warning") == []
    [info] = logger.at("info")
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "SNAKEMAKE_STORAGE_S3_ACCESS_KEY",
        "SNAKEMAKE_STORAGE_S3_SECRET_KEY",
    ):
        assert name in info
    assert "MY_SETTING" not in info
    assert "--aws-batch-job-role" in info


def test_dropped_names_are_listed_sorted(logger):
    environment({"B_TOKEN": "1", "A_KEY": "2"}, storage=["B_TOKEN", "A_KEY"], logger=logger)
    [info] = logger.at("info")
    assert "A_KEY, B_TOKEN." in info


def test_storage_credentials_forwarded_on_request_with_one_warning(logger):
    env = environment(VARIABLES, storage=STORAGE, forward=True, logger=logger)
    assert env["SNAKEMAKE_STORAGE_S3_SECRET_KEY"] == "s3secret"
    assert env["SNAKEMAKE_STORAGE_S3_ACCESS_KEY"] == "s3key"
    assert env["SNAKEMAKE_STORAGE_S3_ENDPOINT_URL"] == "http://s3"
    [warning] = logger.at("warning")
    assert "SNAKEMAKE_STORAGE_S3_ACCESS_KEY, SNAKEMAKE_STORAGE_S3_SECRET_KEY" in warning
    assert "ENDPOINT_URL" not in warning
    assert "--aws-batch-job-role" in warning


@pytest.mark.parametrize("forward", [False, True])
@pytest.mark.parametrize("name", sorted(AWS_CREDENTIAL_VARIABLES))
def test_aws_credentials_never_forwarded(name, forward, logger):
    env = environment({name: "x", "OTHER": "y"}, storage=[name], forward=forward, logger=logger)
    assert env == {"OTHER": "y"}
    assert name in logger.at("info")[0]
    assert logger.at("warning") == []


def test_all_four_credential_variables_are_known():
    assert {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
    } <= AWS_CREDENTIAL_VARIABLES


def test_secret_looking_names_outside_storage_are_the_users_own(logger):
    env = environment({"MY_API_TOKEN": "t", "DB_PASSWORD": "p"}, logger=logger)
    assert env == {"MY_API_TOKEN": "t", "DB_PASSWORD": "p"}
    assert logger.records == []


def test_nothing_dropped_means_nothing_logged(logger):
    env = environment({"A": "1"}, storage=["SNAKEMAKE_STORAGE_S3_ENDPOINT_URL"], logger=logger)
    assert env == {"A": "1"}
    assert logger.records == []


def test_empty_environment():
    assert environment({}) == {}


@pytest.mark.parametrize("name", ["AWS_BATCH_X", "AWS_BATCH", "aws_batch_job_id", "Aws_Batch_Y"])
def test_reserved_prefix_is_error(name):
    with pytest.raises(WorkflowError) as info:
        environment({"FINE": "1", name: "1"})
    message = str(info.value)
    assert name in message
    assert "reserved by AWS Batch" in message
    assert "--envvars" in message


@pytest.mark.parametrize("name", ["MY_AWS_BATCH", "AWS_BATC", "AWSBATCH_X"])
def test_names_merely_containing_the_prefix_are_fine(name):
    assert environment({name: "1"}) == {name: "1"}


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("SNAKEMAKE_STORAGE_S3_SECRET_KEY", True),
        ("SNAKEMAKE_STORAGE_S3_ACCESS_KEY", True),
        ("SNAKEMAKE_STORAGE_HTTP_TOKEN", True),
        ("db_password", True),
        ("GCP_CREDENTIALS_FILE", True),
        ("SNAKEMAKE_STORAGE_S3_ENDPOINT_URL", False),
        ("SNAKEMAKE_STORAGE_S3_RETRIES", False),
    ],
)
def test_is_secret_name(name, secret):
    assert is_secret_name(name) is secret


NAMES = st.text(alphabet=string.ascii_uppercase + "_", min_size=1, max_size=30).filter(
    lambda n: not n.startswith("AWS_BATCH")
)


@given(
    variables=st.dictionaries(
        NAMES | st.sampled_from(sorted(AWS_CREDENTIAL_VARIABLES)), st.text(max_size=5)
    ),
    storage_fraction=st.data(),
    forward=st.booleans(),
)
def test_result_is_a_credential_free_subset(variables, storage_fraction, forward):
    storage = storage_fraction.draw(st.lists(st.sampled_from(sorted(variables) or ["X"])))
    logger = RecordingLogger()
    env = environment(variables, storage=storage, forward=forward, logger=logger)
    assert not set(env) & AWS_CREDENTIAL_VARIABLES
    assert env.items() <= variables.items()
    for name in variables:
        kept = name not in AWS_CREDENTIAL_VARIABLES and (
            forward or name not in storage or not is_secret_name(name)
        )
        assert (name in env) is kept
    assert bool(logger.at("info")) is (len(env) < len(variables))
