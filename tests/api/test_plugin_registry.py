"""Snakemake discovers the plugin and parses its settings (Snakemake's own registry tests)."""

from __future__ import annotations

from snakemake_interface_common.plugin_registry.tests import TestRegistryBase
from snakemake_interface_executor_plugins.registry import ExecutorPluginRegistry


class TestRegistry(TestRegistryBase):
    __test__ = True

    def get_registry(self) -> ExecutorPluginRegistry:
        ExecutorPluginRegistry._instance = None  # type: ignore[attr-defined]
        return ExecutorPluginRegistry()

    def get_test_plugin_name(self) -> str:
        return "aws-batch"

    def validate_plugin(self, plugin) -> None:  # type: ignore[no-untyped-def]
        assert plugin.settings_cls is not None
        assert plugin.common_settings.non_local_exec is True
        assert plugin.common_settings.implies_no_shared_fs is True
        assert plugin.common_settings.pass_envvar_declarations_to_cmd is False

    def validate_settings(self, settings, plugin) -> None:  # type: ignore[no-untyped-def]
        assert settings.job_queue == "my-queue"
        assert settings.task_timeout == 900
        assert settings.tags == "team=genomics"
        assert settings.assign_public_ip is True

    def get_example_args(self) -> list[str]:
        return [
            "--aws-batch-job-queue",
            "my-queue",
            "--aws-batch-task-timeout",
            "900",
            "--aws-batch-tags",
            "team=genomics",
            "--aws-batch-assign-public-ip",
        ]
