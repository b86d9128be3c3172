"""Pure checks of settings and rule resources, with messages that say how to fix them.

Every check takes a :class:`Origin` (which rule and resource, or which setting, a
value came from) and returns the value in the form AWS Batch expects, or raises a
:class:`WorkflowError` that names the origin, the value given and what is allowed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from snakemake_interface_common.exceptions import WorkflowError

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SECRETS_MANAGER_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d+:secret:.+")
SSM_PARAMETER_ARN = re.compile(r"arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d+:parameter/?.+")
SSM_PARAMETER_NAME = re.compile(r"/?[A-Za-z0-9_.\-/]{1,2048}")
EXIT_CODE_PATTERN = re.compile(r"[0-9]*\*?")
# AWS documents a trailing '*'; the user guide's examples also use a leading one
# ("*timeout*"), so both ends may hold one.
REASON_PATTERN = re.compile(r"\*?[A-Za-z0-9.:\s]*\*?")
SHARE_IDENTIFIER = re.compile(r"[A-Za-z0-9]{1,255}\*?")
MAX_RETRY_RULES = 5
MAX_PATTERN_LENGTH = 512
MAX_TAGS = 50
MAX_DIGITS = 4000  # below Python's limit for int(); longer strings are refused as they are
DIGITS = re.compile(rf"\s*-?\d{{1,{MAX_DIGITS}}}\s*")
MAX_SHOWN = 2000  # characters of a refused value shown in an error
MIN_TIMEOUT_SECONDS = 60
MAX_SCHEDULING_PRIORITY = 9999


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a value came from: a rule's resource, or a command-line setting."""

    name: str
    rule: str | None = None

    def __str__(self) -> str:
        if self.rule is None:
            variable = setting_variable(self.name)
            return f"setting {self.name}" + (f" ({variable})" if variable else "")
        return f"rule {self.rule!r}, resource {self.name}"


def setting_variable(option: str) -> str | None:
    """The environment variable of a plugin setting: ``SNAKEMAKE_AWS_BATCH_JOB_QUEUE``."""
    if not option.startswith("--aws-batch-"):
        return None
    return "SNAKEMAKE_" + option.removeprefix("--").upper().replace("-", "_")


def invalid(origin: Origin, value: object, allowed: str) -> WorkflowError:
    """The error for a value that breaks a rule: names origin, value and what is allowed."""
    try:
        shown = repr(value)
    except ValueError:  # an int too long for Python to print
        shown = f"a number of {value.bit_length()} bits" if isinstance(value, int) else "?"
    if len(shown) > MAX_SHOWN:
        shown = f"{shown[:MAX_SHOWN]}... ({len(shown)} characters)"
    return WorkflowError(f"Invalid value for {origin}: {shown}. {allowed}")


def parse_json(origin: Origin, value: object, expected: type, example: str) -> Any:
    """Decode a JSON string resource (Snakemake resources cannot hold lists or dicts)."""
    if isinstance(value, expected):
        return value
    if not isinstance(value, str):
        raise invalid(origin, value, f"Expected a JSON string, for example {example}.")
    try:
        decoded = json.loads(value)
    except json.JSONDecodeError as exc:
        raise invalid(
            origin, value, f"It is not valid JSON ({exc.msg}); expected e.g. {example}."
        ) from exc
    except RecursionError:
        raise invalid(origin, value, f"It is nested too deeply; expected e.g. {example}.") from None
    if not isinstance(decoded, expected):
        kind = "array" if expected is list else "object"
        raise invalid(origin, value, f"Expected a JSON {kind}, for example {example}.")
    return decoded


def integer(origin: Origin, value: object, *, minimum: int, maximum: int | None = None) -> int:
    """An integer within bounds; digit strings are accepted (resources may be strings)."""
    bounds = f"at least {minimum}" if maximum is None else f"from {minimum} to {maximum}"
    allowed = f"Expected a whole number {bounds}."
    if isinstance(value, bool):
        raise invalid(origin, value, allowed)
    if isinstance(value, str) and DIGITS.fullmatch(value):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if (
        not isinstance(value, int)
        or value < minimum
        or (maximum is not None and value > maximum)
        or value.bit_length() > 63  # far beyond every AWS limit
    ):
        raise invalid(origin, value, allowed)
    return value


def positive_number(origin: Origin, value: object, what: str) -> float:
    """A number above zero, e.g. a rate."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise invalid(origin, value, f"Expected a positive number {what}.")
    if value == float("inf"):
        raise invalid(origin, value, f"Expected a positive number {what}.")
    return float(value)


def timeout_seconds(origin: Origin, value: object) -> int:
    """A job attempt timeout: whole seconds, at least AWS Batch's minimum of 60."""
    return integer(origin, value, minimum=MIN_TIMEOUT_SECONDS)


def scheduling_priority(origin: Origin, value: object) -> int:
    return integer(origin, value, minimum=0, maximum=MAX_SCHEDULING_PRIORITY)


def share_identifier(origin: Origin, value: object) -> str:
    if not isinstance(value, str) or not SHARE_IDENTIFIER.fullmatch(value):
        raise invalid(
            origin,
            value,
            "Expected up to 255 letters and digits, optionally ending in '*' "
            "(the share identifier of a fair-share scheduling policy).",
        )
    return value


def non_empty_string(origin: Origin, value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid(origin, value, f"Expected {what}.")
    return value.strip()


SECRETS_EXAMPLE = (
    '\'[{"name": "API_KEY", "valueFrom": "arn:aws:secretsmanager:...:secret:api-key"}]\''
)


def secrets(origin: Origin, value: object) -> dict[str, str]:
    """A JSON array of ``{"name", "valueFrom"}`` objects, as ``{name: valueFrom}``."""
    entries = parse_json(origin, value, list, SECRETS_EXAMPLE)
    result: dict[str, str] = {}
    for index, entry in enumerate(entries):
        where = f"Entry {index} ({json.dumps(entry)})"
        if not isinstance(entry, dict) or set(entry) != {"name", "valueFrom"}:
            raise invalid(
                origin,
                value,
                f"{where} must be an object with exactly the keys "
                f"'name' and 'valueFrom', e.g. {SECRETS_EXAMPLE}.",
            )
        name, value_from = entry["name"], entry["valueFrom"]
        if not isinstance(name, str) or not ENV_NAME.fullmatch(name):
            raise invalid(
                origin,
                value,
                f"{where}: 'name' must be a valid environment variable "
                "name (letters, digits and '_', not starting with a digit).",
            )
        if name.upper().startswith("AWS_BATCH"):
            raise invalid(
                origin, value, f"{where}: names starting with AWS_BATCH are reserved by AWS Batch."
            )
        if name in result:
            raise invalid(
                origin, value, f"{where}: the name {name!r} appears twice; names must be unique."
            )
        if not isinstance(value_from, str) or not _is_secret_reference(value_from):
            raise invalid(
                origin,
                value,
                f"{where}: 'valueFrom' must be a Secrets Manager secret ARN "
                "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME), an SSM parameter ARN "
                "(arn:aws:ssm:REGION:ACCOUNT:parameter/NAME) or an SSM parameter name.",
            )
        result[name] = value_from
    return result


def _is_secret_reference(value_from: str) -> bool:
    if value_from.startswith("arn:"):
        return bool(
            SECRETS_MANAGER_ARN.fullmatch(value_from) or SSM_PARAMETER_ARN.fullmatch(value_from)
        )
    return bool(SSM_PARAMETER_NAME.fullmatch(value_from))


CONSUMABLE_EXAMPLE = '\'[{"consumableResource": "license-pool", "quantity": 2}]\''


def consumable_resources(origin: Origin, value: object) -> list[dict[str, Any]]:
    """A JSON array of ``{"consumableResource", "quantity"}`` objects."""
    entries = parse_json(origin, value, list, CONSUMABLE_EXAMPLE)
    if not entries:
        raise invalid(origin, value, f"Expected at least one entry, e.g. {CONSUMABLE_EXAMPLE}.")
    result: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        where = f"Entry {index} ({json.dumps(entry)})"
        if not isinstance(entry, dict) or set(entry) != {"consumableResource", "quantity"}:
            raise invalid(
                origin,
                value,
                f"{where} must be an object with exactly the keys "
                f"'consumableResource' and 'quantity', e.g. {CONSUMABLE_EXAMPLE}.",
            )
        resource, quantity = entry["consumableResource"], entry["quantity"]
        if not isinstance(resource, str) or not resource.strip():
            raise invalid(
                origin, value, f"{where}: 'consumableResource' must be a resource name or ARN."
            )
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise invalid(origin, value, f"{where}: 'quantity' must be a positive whole number.")
        result.append({"consumableResource": resource, "quantity": quantity})
    return result


RETRY_EXAMPLE = '\'{"attempts": 3, "evaluateOnExit": [{"action": "RETRY", "onExitCode": "137"}]}\''
_REASON_ALLOWED = "letters, digits, '.', ':' and spaces, optionally starting or ending with '*'"
_RETRY_RULE_KEYS = {"action", "onExitCode", "onStatusReason", "onReason"}


def retry_strategy(origin: Origin, value: object) -> dict[str, Any]:
    """A retry strategy as SubmitJob's ``retryStrategy``; actions upper-cased."""
    strategy = parse_json(origin, value, dict, RETRY_EXAMPLE)
    unknown = set(strategy) - {"attempts", "evaluateOnExit"}
    if unknown:
        raise invalid(
            origin,
            value,
            f"Unknown key(s) {sorted(unknown)}; allowed are 'attempts' "
            f"(1-10) and 'evaluateOnExit' (up to {MAX_RETRY_RULES} rules).",
        )
    result: dict[str, Any] = {}
    if "attempts" in strategy:
        attempts = strategy["attempts"]
        if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 10:
            raise invalid(
                origin, value, f"'attempts' must be a whole number from 1 to 10, not {attempts!r}."
            )
        result["attempts"] = attempts
    if "evaluateOnExit" in strategy:
        if "attempts" not in result:
            raise invalid(
                origin,
                value,
                "'evaluateOnExit' needs 'attempts' (1-10) beside it, as AWS Batch requires.",
            )
        result["evaluateOnExit"] = _retry_rules(origin, value, strategy["evaluateOnExit"])
    return result


def _retry_rules(origin: Origin, value: object, rules: object) -> list[dict[str, str]]:
    if not isinstance(rules, list) or len(rules) > MAX_RETRY_RULES:
        raise invalid(
            origin, value, f"'evaluateOnExit' must be an array of at most {MAX_RETRY_RULES} rules."
        )
    checked = []
    for index, rule in enumerate(rules):
        where = f"evaluateOnExit[{index}]"
        if not isinstance(rule, dict) or "action" not in rule or set(rule) - _RETRY_RULE_KEYS:
            raise invalid(
                origin,
                value,
                f"{where} must be an object with 'action' and optionally "
                "'onExitCode', 'onStatusReason', 'onReason'.",
            )
        action = rule["action"]
        if not isinstance(action, str) or action.upper() not in {"RETRY", "EXIT"}:
            raise invalid(
                origin, value, f"{where}: 'action' must be RETRY or EXIT, not {action!r}."
            )
        checked_rule = {"action": action.upper()}
        for key, pattern, allowed in (
            ("onExitCode", EXIT_CODE_PATTERN, "digits, optionally ending in '*'"),
            ("onStatusReason", REASON_PATTERN, _REASON_ALLOWED),
            ("onReason", REASON_PATTERN, _REASON_ALLOWED),
        ):
            if key not in rule:
                continue
            text = rule[key]
            if (
                not isinstance(text, str)
                or not text
                or len(text) > MAX_PATTERN_LENGTH
                or not pattern.fullmatch(text)
            ):
                raise invalid(
                    origin,
                    value,
                    f"{where}: {key} {text!r} must be 1-{MAX_PATTERN_LENGTH} "
                    f"characters of {allowed}.",
                )
            checked_rule[key] = text
        checked.append(checked_rule)
    return checked


TAGS_EXAMPLE = "'team=genomics,project=wgs'"


def tags(origin: Origin, value: object) -> dict[str, str]:
    """Tags as ``key=value,key2=value2`` or a JSON object; AWS tag rules enforced."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        parsed = parse_json(origin, value, dict, '\'{"team": "genomics"}\'')
    elif isinstance(value, str):
        parsed = {}
        for item in filter(None, (part.strip() for part in value.split(","))):
            key, sep, tag_value = item.partition("=")
            if not sep:
                raise invalid(
                    origin, value, f"{item!r} is not key=value; expected e.g. {TAGS_EXAMPLE}."
                )
            parsed[key.strip()] = tag_value.strip()
    else:
        raise invalid(
            origin, value, f"Expected key=value pairs separated by commas, e.g. {TAGS_EXAMPLE}."
        )
    return check_tags(origin, value, parsed)


def check_tags(origin: Origin, value: object, parsed: dict[str, Any]) -> dict[str, str]:
    """AWS's tag rules: at most 50; key 1-128 characters; value up to 256; no ``aws:``."""
    if len(parsed) > MAX_TAGS:
        raise invalid(origin, value, f"At most {MAX_TAGS} tags are allowed, got {len(parsed)}.")
    for key, tag_value in parsed.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise invalid(origin, value, f"Tag key {key!r} must be 1-128 characters.")
        if key.lower().startswith("aws:"):
            raise invalid(
                origin, value, f"Tag key {key!r} uses the prefix 'aws:', which AWS reserves."
            )
        if not isinstance(tag_value, str) or len(tag_value) > 256:
            raise invalid(
                origin, value, f"Tag value for {key!r} must be a string of at most 256 characters."
            )
    return dict(parsed)
