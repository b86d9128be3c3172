"""Container options: the checks of each value, merging volumes, what each platform refuses,
and the CPU architecture of an instance type."""

from __future__ import annotations

import json
from typing import Any

import pytest
from snakemake_interface_common.exceptions import WorkflowError

from snakemake_executor_plugin_aws_batch.jobspec import container
from snakemake_executor_plugin_aws_batch.jobspec.platform import Platform
from snakemake_executor_plugin_aws_batch.settings import container_options as c
from snakemake_executor_plugin_aws_batch.settings.container_options import (
    ContainerOptions,
    Efs,
    Ulimit,
    Volume,
)
from snakemake_executor_plugin_aws_batch.settings.validation import Origin

FS = "fs-0123456789abcdef0"
FSAP = "fsap-0123456789abcdef0"
SHM = "aws_batch_shared_memory_mb"
VOLUMES = "aws_batch_volumes"
ULIMITS = "aws_batch_ulimits"
PRIVILEGED = "aws_batch_privileged"
ARCH = "aws_batch_cpu_architecture"


def error_of(check, name, value, rule="x") -> str:
    with pytest.raises(WorkflowError) as info:
        check(Origin(name, rule), value)
    return str(info.value)


def efs_volume(**changes: Any) -> dict[str, Any]:
    """A volume entry as the user writes it: EFS file system FS at /refs."""
    entry: dict[str, Any] = {"name": "refs", "containerPath": "/refs", "efs": {"fileSystemId": FS}}
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


def host_volume(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": "scratch", "containerPath": "/scratch", "hostPath": "/mnt"}
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


def with_efs(**efs: Any) -> dict[str, Any]:
    return efs_volume(efs={"fileSystemId": FS, **efs})


def volumes_json(*entries: Any) -> str:
    return json.dumps(list(entries))


def ulimit(name: str = "nofile", soft: Any = 1024, hard: Any = 4096) -> dict[str, Any]:
    return {"name": name, "softLimit": soft, "hardLimit": hard}


# Values that are refused -----------------------------------------------------------------
# Each row: the check, the resource, the value given, what the message shows of it (the
# whole value, or the entry of an array that is at fault), and fragments saying what is
# allowed.

INVALID: list[tuple[Any, str, object, str | None, list[str]]] = [
    # shared memory
    (c.shared_memory_mb, SHM, 0, None, ["whole number at least 1"]),
    (c.shared_memory_mb, SHM, -1, None, ["whole number at least 1"]),
    (c.shared_memory_mb, SHM, "x", None, ["whole number at least 1"]),
    (c.shared_memory_mb, SHM, True, None, ["whole number at least 1"]),
    (c.shared_memory_mb, SHM, 1.5, None, ["whole number at least 1"]),
    # privileged
    (c.privileged, PRIVILEGED, "yes", None, ["Expected True or False."]),
    (c.privileged, PRIVILEGED, 1, None, ["Expected True or False."]),
    (c.privileged, PRIVILEGED, 0, None, ["Expected True or False."]),
    (c.privileged, PRIVILEGED, "", None, ["Expected True or False."]),
    # CPU architecture
    (c.cpu_architecture, ARCH, "amd64", None, ["Expected X86_64 or ARM64."]),
    (c.cpu_architecture, ARCH, "x86", None, ["Expected X86_64 or ARM64."]),
    (c.cpu_architecture, ARCH, "aarch64", None, ["Expected X86_64 or ARM64."]),
    (c.cpu_architecture, ARCH, 64, None, ["Expected X86_64 or ARM64."]),
    # volumes: the array
    (c.volumes, VOLUMES, "not json", None, ["not valid JSON", FS]),
    (c.volumes, VOLUMES, json.dumps(efs_volume()), None, ["Expected a JSON array", FS]),
    (c.volumes, VOLUMES, 5, None, ["Expected a JSON string"]),
    (c.volumes, VOLUMES, "[1]", "1", ["Each volume must be a JSON object."]),
    (c.volumes, VOLUMES, '["refs"]', "'refs'", ["Each volume must be a JSON object."]),
    # volumes: one entry
    (
        c.volumes,
        VOLUMES,
        volumes_json(efs_volume(size=10)),
        repr(efs_volume(size=10)),
        [
            "Unknown key(s) size in a volume",
            "allowed: name, containerPath, readOnly, hostPath, efs",
        ],
    ),
    (
        c.volumes,
        VOLUMES,
        volumes_json(efs_volume(name=None)),
        repr(efs_volume(name=None)),
        ["A volume's name must be 1 to 255 letters, digits, '-' and '_'."],
    ),
    *(
        (
            c.volumes,
            VOLUMES,
            volumes_json(efs_volume(name=name)),
            repr(efs_volume(name=name)),
            ["A volume's name must be 1 to 255"],
        )
        for name in ("", "my refs", "refs/1", "r" * 256, 7)
    ),
    *(
        (
            c.volumes,
            VOLUMES,
            volumes_json(efs_volume(containerPath=path)),
            repr(efs_volume(containerPath=path)),
            ["containerPath must be an absolute path, e.g. /refs."],
        )
        for path in ("refs", "./refs", "", None, 5)
    ),
    (
        c.volumes,
        VOLUMES,
        volumes_json(efs_volume(hostPath="/mnt/refs")),
        repr(efs_volume(hostPath="/mnt/refs")),
        ['exactly one of "hostPath"', '"efs" (an EFS file system)'],
    ),
    (
        c.volumes,
        VOLUMES,
        volumes_json(efs_volume(efs=None)),
        repr(efs_volume(efs=None)),
        ['exactly one of "hostPath"', '"efs" (an EFS file system)'],
    ),
    (
        c.volumes,
        VOLUMES,
        volumes_json(host_volume(hostPath="mnt/scratch")),
        repr(host_volume(hostPath="mnt/scratch")),
        ["hostPath must be an absolute path"],
    ),
    (
        c.volumes,
        VOLUMES,
        volumes_json(efs_volume(readOnly="yes")),
        repr(efs_volume(readOnly="yes")),
        ["readOnly must be true or false."],
    ),
    # volumes: EFS
    (
        c.volumes,
        VOLUMES,
        volumes_json(efs_volume(efs=FS)),
        repr(FS),
        ["Each efs object must be a JSON object."],
    ),
    (
        c.volumes,
        VOLUMES,
        volumes_json(with_efs(path="/")),
        repr({"fileSystemId": FS, "path": "/"}),
        ["Unknown key(s) path in a efs object", "allowed: fileSystemId, rootDirectory"],
    ),
    *(
        (
            c.volumes,
            VOLUMES,
            volumes_json(efs_volume(efs={"fileSystemId": system})),
            repr(efs_volume(efs={"fileSystemId": system})),
            ["efs.fileSystemId must be an EFS id, e.g. fs-0123456789abcdef0."],
        )
        for system in ("fs-xyz", "0123456789abcdef0", "fs-0123456", "FS-0123456789ABCDEF0", 12)
    ),
    (
        c.volumes,
        VOLUMES,
        volumes_json(efs_volume(efs={})),
        repr(efs_volume(efs={})),
        ["efs.fileSystemId must be an EFS id"],
    ),
    *(
        (
            c.volumes,
            VOLUMES,
            volumes_json(with_efs(accessPointId=point, transitEncryption=True)),
            repr(with_efs(accessPointId=point, transitEncryption=True)),
            ["efs.accessPointId must be an access point id, e.g. fsap-0123456789abcdef0."],
        )
        for point in (FS, "fsap-xyz", "ap-0123456789abcdef0", "")
    ),
    (
        c.volumes,
        VOLUMES,
        volumes_json(with_efs(accessPointId=FSAP)),
        repr(with_efs(accessPointId=FSAP)),
        ['An EFS access point needs "transitEncryption": true.'],
    ),
    (
        c.volumes,
        VOLUMES,
        volumes_json(with_efs(accessPointId=FSAP, transitEncryption=False)),
        repr(with_efs(accessPointId=FSAP, transitEncryption=False)),
        ['An EFS access point needs "transitEncryption": true.'],
    ),
    (
        c.volumes,
        VOLUMES,
        volumes_json(with_efs(accessPointId=FSAP, transitEncryption=True, rootDirectory="/data")),
        repr(with_efs(accessPointId=FSAP, transitEncryption=True, rootDirectory="/data")),
        ["root directory is the access point's", 'leave efs.rootDirectory out (or "/")'],
    ),
    (
        c.volumes,
        VOLUMES,
        volumes_json(with_efs(iam=True)),
        repr(with_efs(iam=True)),
        ['EFS IAM authorization needs "transitEncryption": true.'],
    ),
    (
        c.volumes,
        VOLUMES,
        volumes_json(with_efs(transitEncryptionPort=2999)),
        repr(with_efs(transitEncryptionPort=2999)),
        ['efs.transitEncryptionPort needs "transitEncryption": true.'],
    ),
    (
        c.volumes,
        VOLUMES,
        volumes_json(with_efs(transitEncryption=True, transitEncryptionPort=70000)),
        "70000",
        ["from 1 to 65535"],
    ),
    (
        c.volumes,
        VOLUMES,
        volumes_json(with_efs(transitEncryption="ENABLED")),
        repr(with_efs(transitEncryption="ENABLED")),
        ["efs.transitEncryption must be true or false."],
    ),
    (
        c.volumes,
        VOLUMES,
        volumes_json(with_efs(iam="ENABLED", transitEncryption=True)),
        repr(with_efs(iam="ENABLED", transitEncryption=True)),
        ["efs.iam must be true or false."],
    ),
    (
        c.volumes,
        VOLUMES,
        volumes_json(with_efs(rootDirectory="data")),
        repr(with_efs(rootDirectory="data")),
        ["efs.rootDirectory must be an absolute path"],
    ),
    # volumes: the array as a whole
    (
        c.volumes,
        VOLUMES,
        volumes_json(efs_volume(), host_volume(name="refs")),
        None,
        ["The volume name 'refs' is used twice."],
    ),
    (
        c.volumes,
        VOLUMES,
        volumes_json(efs_volume(), host_volume(containerPath="/refs")),
        None,
        ["Two volumes are mounted at /refs."],
    ),
    (
        c.volumes,
        VOLUMES,
        volumes_json(efs_volume(), host_volume(containerPath="/refs/")),
        None,
        ["Two volumes are mounted at /refs/."],
    ),
    # ulimits
    (c.ulimits, ULIMITS, "nofile=1024", None, ["not valid JSON", "nofile"]),
    (c.ulimits, ULIMITS, json.dumps(ulimit()), None, ["Expected a JSON array"]),
    (c.ulimits, ULIMITS, "[7]", "7", ["Each ulimit must be a JSON object."]),
    (
        c.ulimits,
        ULIMITS,
        json.dumps([ulimit("files")]),
        repr(ulimit("files")),
        ["A ulimit's name must be one of core, cpu, data,", "nofile", "stack"],
    ),
    (
        c.ulimits,
        ULIMITS,
        json.dumps([ulimit("NOFILE")]),
        repr(ulimit("NOFILE")),
        ["A ulimit's name must be one of"],
    ),
    (
        c.ulimits,
        ULIMITS,
        json.dumps([ulimit(soft=10, hard=5)]),
        repr(ulimit(soft=10, hard=5)),
        ["softLimit 10 is above hardLimit 5."],
    ),
    (
        c.ulimits,
        ULIMITS,
        json.dumps([ulimit(soft=4097, hard=4096)]),
        repr(ulimit(soft=4097, hard=4096)),
        ["softLimit 4097 is above hardLimit 4096."],
    ),
    (
        c.ulimits,
        ULIMITS,
        json.dumps([{"name": "nofile", "softLimit": 1}]),
        repr({"name": "nofile", "softLimit": 1}),
        ["A ulimit needs softLimit and hardLimit."],
    ),
    (
        c.ulimits,
        ULIMITS,
        json.dumps([{"name": "nofile", "hardLimit": 1}]),
        repr({"name": "nofile", "hardLimit": 1}),
        ["A ulimit needs softLimit and hardLimit."],
    ),
    (
        c.ulimits,
        ULIMITS,
        json.dumps([{**ulimit(), "limit": 3}]),
        repr({**ulimit(), "limit": 3}),
        ["Unknown key(s) limit in a ulimit", "allowed: name, softLimit, hardLimit"],
    ),
    (
        c.ulimits,
        ULIMITS,
        json.dumps([ulimit(), ulimit(soft=1, hard=1)]),
        None,
        ["The ulimit nofile is given twice."],
    ),
    (c.ulimits, ULIMITS, json.dumps([ulimit(soft=-1, hard=-1)]), "-1", ["at least 0"]),
    (c.ulimits, ULIMITS, json.dumps([ulimit(soft=1, hard=-5)]), "-5", ["at least 0"]),
    (c.ulimits, ULIMITS, json.dumps([ulimit(soft="lots")]), "'lots'", ["whole number"]),
]


@pytest.mark.parametrize(
    ("check", "resource", "value", "shown", "fragments"),
    INVALID,
    ids=[f"{row[1]}-{index}" for index, row in enumerate(INVALID)],
)
def test_a_bad_value_is_refused_naming_rule_resource_value_and_what_is_allowed(
    check, resource, value, shown, fragments
):
    message = error_of(check, resource, value, rule="align")
    assert message.startswith(f"Invalid value for rule 'align', resource {resource}: ")
    assert f": {shown if shown is not None else repr(value)}" in message
    for fragment in fragments:
        assert fragment in message


SETTINGS_INVALID = [
    (c.log_group, "--aws-batch-log-group", "", ["CloudWatch Logs group name", "1 to 512"]),
    (c.log_group, "--aws-batch-log-group", "my group", ["1 to 512 letters, digits"]),
    (c.log_group, "--aws-batch-log-group", " /aws/batch/job", ["1 to 512"]),
    (c.log_group, "--aws-batch-log-group", "a" * 513, ["1 to 512"]),
    (c.log_group, "--aws-batch-log-group", "group:1", ["'_', '-', '/', '.', '#'"]),
    (c.log_group, "--aws-batch-log-group", None, ["e.g. /aws/batch/snakemake"]),
    (c.fargate_platform_version, "--aws-batch-fargate-platform-version", "1.4", ["1.4.0"]),
    (
        c.fargate_platform_version,
        "--aws-batch-fargate-platform-version",
        "latest-ish",
        ["Expected LATEST or a version such as 1.4.0."],
    ),
    (c.fargate_platform_version, "--aws-batch-fargate-platform-version", "v1.4.0", ["LATEST"]),
    (c.fargate_platform_version, "--aws-batch-fargate-platform-version", "", ["LATEST"]),
    (c.fargate_platform_version, "--aws-batch-fargate-platform-version", 1.4, ["LATEST"]),
    (c.volumes, "--aws-batch-volumes", "[{]", ["not valid JSON"]),
]


@pytest.mark.parametrize(("check", "setting", "value", "fragments"), SETTINGS_INVALID)
def test_a_bad_setting_is_refused_naming_the_setting_its_variable_and_the_value(
    check, setting, value, fragments
):
    variable = "SNAKEMAKE_" + setting[2:].upper().replace("-", "_")
    with pytest.raises(WorkflowError) as info:
        check(Origin(setting), value)
    message = str(info.value)
    assert message.startswith(f"Invalid value for setting {setting} ({variable}): {value!r}. ")
    assert "rule" not in message
    for fragment in fragments:
        assert fragment in message


# Values that are accepted ------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [(1, 1), ("2048", 2048), (64.0, 64), (" 8 ", 8)])
def test_shared_memory_is_a_whole_number_of_mib_from_1(value, expected):
    assert c.shared_memory_mb(Origin(SHM, "r"), value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), ("true", True), ("False", False), (" TRUE ", True)],
)
def test_privileged_is_a_boolean_or_its_name(value, expected):
    assert c.privileged(Origin(PRIVILEGED, "r"), value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("X86_64", "X86_64"), ("ARM64", "ARM64"), ("arm64", "ARM64"), (" x86_64 ", "X86_64")],
)
def test_cpu_architecture_is_x86_64_or_arm64_in_any_case(value, expected):
    assert c.cpu_architecture(Origin(ARCH, "r"), value) == expected


@pytest.mark.parametrize(
    "value", ["/aws/batch/job", "snakemake", "/aws/batch/snakemake-runs", "a.b_c#1", "a" * 512]
)
def test_log_group_accepts_cloudwatch_names(value):
    assert c.log_group(Origin("--aws-batch-log-group"), value) == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [("LATEST", "LATEST"), ("1.4.0", "1.4.0"), ("1.3.0", "1.3.0"), (" 1.4.0 ", "1.4.0")],
)
def test_fargate_platform_version_is_latest_or_three_numbers(value, expected):
    assert c.fargate_platform_version(Origin("--aws-batch-fargate-platform-version"), value) == (
        expected
    )


def test_volumes_example_of_the_message_is_itself_accepted():
    (volume,) = c.volumes(Origin(VOLUMES, "r"), c.VOLUMES_EXAMPLE)
    assert volume == Volume(
        name="refs",
        container_path="/refs",
        read_only=True,
        efs=Efs(file_system_id=FS, transit_encryption=True),
    )


def test_volumes_are_read_in_order_with_their_defaults():
    value = volumes_json(
        host_volume(),
        efs_volume(readOnly=True),
        {
            "name": "data_2",
            "containerPath": "/data",
            "efs": {
                "fileSystemId": "fs-abcdef01",
                "accessPointId": FSAP,
                "transitEncryption": True,
                "transitEncryptionPort": 2999,
                "iam": True,
            },
        },
        {
            "name": "hg38",
            "containerPath": "/hg38",
            "efs": {"fileSystemId": FS, "rootDirectory": "/genomes/hg38", "iam": False},
        },
    )
    assert c.volumes(Origin(VOLUMES, "r"), value) == (
        Volume("scratch", "/scratch", False, host_path="/mnt"),
        Volume("refs", "/refs", True, efs=Efs(FS)),
        Volume(
            "data_2",
            "/data",
            False,
            efs=Efs("fs-abcdef01", None, FSAP, True, 2999, True),
        ),
        Volume("hg38", "/hg38", False, efs=Efs(FS, root_directory="/genomes/hg38")),
    )


@pytest.mark.parametrize("root", [None, "/"])
def test_an_access_point_takes_no_root_directory_or_the_root(root):
    entry = with_efs(accessPointId=FSAP, transitEncryption=True, rootDirectory=root)
    entry["efs"] = {k: v for k, v in entry["efs"].items() if v is not None}
    (volume,) = c.volumes(Origin(VOLUMES, "r"), volumes_json(entry))
    assert volume.efs == Efs(FS, root, FSAP, transit_encryption=True)


def test_volumes_accept_an_empty_array_and_a_decoded_list():
    assert c.volumes(Origin(VOLUMES, "r"), "[]") == ()
    assert c.volumes(Origin(VOLUMES, "r"), [host_volume()]) == (
        Volume("scratch", "/scratch", host_path="/mnt"),
    )


def test_different_paths_that_share_a_prefix_are_distinct():
    found = c.volumes(
        Origin(VOLUMES, "r"),
        volumes_json(efs_volume(containerPath="/refs"), host_volume(containerPath="/refs2")),
    )
    assert [v.container_path for v in found] == ["/refs", "/refs2"]


def test_ulimits_are_read_in_order():
    value = json.dumps([ulimit("nofile", 65536, 65536), ulimit("core", 0, "0"), ulimit("stack")])
    assert c.ulimits(Origin(ULIMITS, "r"), value) == (
        Ulimit("nofile", 65536, 65536),
        Ulimit("core", 0, 0),
        Ulimit("stack", 1024, 4096),
    )
    assert c.ulimits(Origin(ULIMITS, "r"), c.ULIMITS_EXAMPLE) == (Ulimit("nofile", 65536, 65536),)
    assert c.ulimits(Origin(ULIMITS, "r"), "[]") == ()


@pytest.mark.parametrize("name", c.ULIMIT_NAMES)
def test_every_docker_ulimit_name_is_accepted(name):
    assert c.ulimits(Origin(ULIMITS, "r"), json.dumps([ulimit(name)])) == (
        Ulimit(name, 1024, 4096),
    )


# merge_volumes --------------------------------------------------------------------------

SETTING = Origin("--aws-batch-volumes")
REFS = Volume("refs", "/refs", True, efs=Efs(FS))
SCRATCH = Volume("scratch", "/scratch", host_path="/mnt/scratch")


def test_a_rule_volume_replaces_the_settings_volume_of_the_same_name():
    own_refs = Volume("refs", "/data/refs", False, host_path="/mnt/refs")
    merged = c.merge_volumes((REFS, SCRATCH), (own_refs,), Origin(VOLUMES, "r"), "rule value")
    assert merged == (own_refs, SCRATCH)


def test_volumes_of_other_names_are_joined_setting_first():
    data = Volume("data", "/data", host_path="/mnt/data")
    assert c.merge_volumes((REFS,), (data, SCRATCH), Origin(VOLUMES, "r"), "v") == (
        REFS,
        data,
        SCRATCH,
    )
    assert c.merge_volumes((), (REFS,), Origin(VOLUMES, "r"), "v") == (REFS,)
    assert c.merge_volumes((REFS,), (), SETTING, None) == (REFS,)
    assert c.merge_volumes((), (), SETTING, None) == ()


def test_a_rule_volume_may_take_the_path_of_the_one_it_replaces():
    other = Volume("refs", "/refs", False, host_path="/mnt/refs")
    assert c.merge_volumes((REFS,), (other,), Origin(VOLUMES, "r"), "v") == (other,)


@pytest.mark.parametrize("path", ["/refs", "/refs/"])
def test_a_merge_that_puts_two_volumes_at_one_path_is_refused(path):
    clash = Volume("genomes", path, host_path="/mnt/genomes")
    with pytest.raises(WorkflowError) as info:
        c.merge_volumes((REFS,), (clash,), Origin(VOLUMES, "align"), "rule value")
    assert str(info.value) == (
        "Invalid value for rule 'align', resource aws_batch_volumes: 'rule value'. "
        f"Two volumes are mounted at {path}."
    )


# What each platform refuses ----------------------------------------------------------------

FARGATE_REFUSED = [
    (ContainerOptions(shared_memory_mb=64), SHM, "a shared memory size"),
    (ContainerOptions(volumes=(SCRATCH,)), VOLUMES, "host volumes"),
    (ContainerOptions(volumes=(REFS, SCRATCH)), VOLUMES, "host volumes"),
    (ContainerOptions(ulimits=(Ulimit("nofile", 1, 2),)), ULIMITS, "ulimits"),
    (ContainerOptions(privileged=True), PRIVILEGED, "privileged containers"),
]


@pytest.mark.parametrize(("options", "name", "what"), FARGATE_REFUSED)
def test_fargate_refuses_what_only_ec2_runs(options, name, what):
    assert container.platform_problem(options, Platform.FARGATE, None) == (
        name,
        f"Fargate does not support {what}; they need an EC2 queue.",
    )
    assert container.platform_problem(options, Platform.EC2, None) is None
    assert container.platform_problem(options, Platform.EC2, frozenset({"X86_64"})) is None


@pytest.mark.parametrize(
    "options",
    [
        ContainerOptions(),
        ContainerOptions(privileged=False),
        ContainerOptions(volumes=(REFS,)),
        ContainerOptions(volumes=(REFS,), fargate_platform_version="1.4.0"),
        ContainerOptions(volumes=(REFS,), fargate_platform_version="1.10.0"),
        ContainerOptions(volumes=(REFS,), fargate_platform_version="2.0.0"),
        ContainerOptions(cpu_architecture="ARM64", log_group="/aws/batch/snakemake"),
        ContainerOptions(fargate_platform_version="1.3.0"),
    ],
)
def test_fargate_runs_efs_volumes_logs_and_either_architecture(options):
    assert container.platform_problem(options, Platform.FARGATE, None) is None


@pytest.mark.parametrize("version", ["1.3.0", "1.0.9", "0.9.9"])
def test_efs_on_fargate_needs_platform_version_1_4_0(version):
    options = ContainerOptions(volumes=(REFS,), fargate_platform_version=version)
    assert container.platform_problem(options, Platform.FARGATE, None) == (
        VOLUMES,
        "EFS volumes on Fargate need platform version 1.4.0 or later "
        f"(--aws-batch-fargate-platform-version is {version}).",
    )
    # The platform version is Fargate's alone.
    assert container.platform_problem(options, Platform.EC2, None) is None


@pytest.mark.parametrize("version", ["1.3.0", "1.0.9"])
def test_arm64_on_fargate_needs_platform_version_1_4_0(version):
    options = ContainerOptions(cpu_architecture="ARM64", fargate_platform_version=version)
    assert container.platform_problem(options, Platform.FARGATE, None) == (
        ARCH,
        "ARM64 on Fargate needs platform version 1.4.0 or later "
        f"(--aws-batch-fargate-platform-version is {version}).",
    )
    x86 = ContainerOptions(cpu_architecture="X86_64", fargate_platform_version=version)
    assert container.platform_problem(x86, Platform.FARGATE, None) is None


@pytest.mark.parametrize(
    ("wanted", "offered"),
    [("ARM64", {"X86_64"}), ("X86_64", {"ARM64"})],
)
def test_ec2_refuses_an_architecture_no_compute_environment_offers(wanted, offered):
    options = ContainerOptions(cpu_architecture=wanted)
    name, why = container.platform_problem(options, Platform.EC2, frozenset(offered)) or ("", "")
    assert name == ARCH
    assert f"No compute environment of the queue runs {wanted} instances" in why
    assert f"their instance types are {next(iter(offered))}" in why


@pytest.mark.parametrize(
    ("wanted", "offered"),
    [
        ("ARM64", frozenset({"ARM64"})),
        ("ARM64", frozenset({"ARM64", "X86_64"})),
        ("X86_64", frozenset({"ARM64", "X86_64"})),
        ("ARM64", None),
        (None, frozenset({"ARM64"})),
    ],
)
def test_ec2_runs_an_architecture_that_is_offered_or_not_known(wanted, offered):
    assert container.platform_problem(
        ContainerOptions(cpu_architecture=wanted), Platform.EC2, offered
    ) is (None)


def test_the_architectures_refused_are_named_together():
    _, why = container.platform_problem(
        ContainerOptions(cpu_architecture="ARM64"), Platform.EC2, frozenset()
    ) or ("", "")
    assert "runs ARM64 instances" in why
    # Fargate does not ask the queue's instance types.
    assert (
        container.platform_problem(
            ContainerOptions(cpu_architecture="ARM64"), Platform.FARGATE, frozenset({"X86_64"})
        )
        is None
    )


# The CPU architecture of an instance type -------------------------------------------------


@pytest.mark.parametrize(
    "instance_type",
    [
        "m7g.large",
        "c7g",
        "c6gn",
        "r6gd.xlarge",
        "t4g.micro",
        "a1.medium",
        "x2gd",
        "im4gn",
        "g5g",
        "hpc7g",
        "default_arm64",
        "is4gen.xlarge",
        "m8g.48xlarge",
        " M6G.Large ",
    ],
)
def test_graviton_types_and_families_are_arm64(instance_type):
    assert container.architecture_of(instance_type) == "ARM64"


@pytest.mark.parametrize(
    "instance_type",
    [
        "m5.large",
        "c5n",
        "g4dn.xlarge",
        "g4ad.xlarge",
        "p4d.24xlarge",
        "optimal",
        "m7i",
        "m7a",
        "inf1",
        "r7iz",
        "default_x86_64",
        "x2iedn.xlarge",
        "u-6tb1.metal",
        "g6e",
    ],
)
def test_other_types_and_families_are_x86_64(instance_type):
    assert container.architecture_of(instance_type) == "X86_64"
