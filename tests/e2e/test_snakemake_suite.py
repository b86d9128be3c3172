"""Snakemake's own executor test suite, run through this plugin on the local endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from snakemake.common.tests import TestWorkflowsMinioPlayStorageBase

from snakemake_aws_batch_local import LocalBatch
from snakemake_executor_plugin_aws_batch import ExecutorSettings

pytestmark = pytest.mark.e2e


class TestWorkflows(TestWorkflowsMinioPlayStorageBase):
    __test__ = True
    latency_wait = 10

    @pytest.fixture(autouse=True)
    def _endpoint(self, local: LocalBatch, monkeypatch: pytest.MonkeyPatch) -> None:
        for key, value in local.env().items():
            monkeypatch.setenv(key, value)
        self.local = local

    @property
    def endpoint_url(self) -> str:
        return self.local.endpoint_url

    @property
    def access_key(self) -> str:
        return "local"

    @property
    def secret_key(self) -> str:
        return "local"

    def get_executor(self) -> str:
        return "aws-batch"

    def get_executor_settings(self) -> Any:
        return ExecutorSettings(job_queue=self.local.job_queue, region=self.local.region)

    def get_assume_shared_fs(self) -> bool:
        return False

    def get_remote_execution_settings(self) -> Any:
        from snakemake.settings.types import RemoteExecutionSettings

        return RemoteExecutionSettings(
            seconds_between_status_checks=1,
            envvars=self.get_envvars(),
            container_image="snakemake/snakemake:local",
        )
