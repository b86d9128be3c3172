"""Resolve a job definition's ``secrets`` from the emulated Secrets Manager and SSM."""

from __future__ import annotations

import json
from typing import Any

from moto.secretsmanager.models import secretsmanager_backends
from moto.ssm.models import ssm_backends


class SecretError(Exception):
    """A secret could not be given to the container; the message is the job's status reason."""


def _from_secrets_manager(account: str, region: str, value_from: str) -> str:
    """``value_from`` is a secret ARN, optionally ending ``:json-key:version-stage:version-id``."""
    parts = value_from.split(":")
    if value_from.startswith("arn:"):
        region = parts[3] or region
        secret_id = ":".join(parts[:7])
        extra = [*parts[7:], "", "", ""][:3]
    else:
        secret_id, extra = value_from, ["", "", ""]
    json_key, stage, version = extra
    backend = secretsmanager_backends[account][region]
    try:
        answer = backend.get_secret_value(secret_id, version, stage)
    except Exception as err:
        raise SecretError(
            "ResourceInitializationError: unable to pull secrets or registry auth: "
            f"unable to retrieve secret from asm: secret {value_from} not found ({type(err).__name__})"
        ) from err
    text = str(answer.get("SecretString", ""))
    if not json_key:
        return text
    try:
        document = json.loads(text)
        return str(document[json_key])
    except (ValueError, KeyError, TypeError) as err:
        raise SecretError(
            "ResourceInitializationError: unable to pull secrets or registry auth: "
            f"secret {value_from}: the secret has no JSON key {json_key!r}"
        ) from err


def _from_parameter_store(account: str, region: str, value_from: str) -> str | None:
    name = value_from
    if value_from.startswith("arn:"):
        region = value_from.split(":")[3] or region
        name = value_from.split(":parameter", 1)[1] if ":parameter" in value_from else value_from
    backend = ssm_backends[account][region]
    candidates = [name, name.lstrip("/")] if name.startswith("/") else [name, f"/{name}"]
    for candidate in candidates:
        try:
            parameter = backend.get_parameter(candidate)
        except Exception:
            parameter = None
        if parameter is not None:
            value = parameter.decrypt(parameter.value)
            return None if value is None else str(value)
    return None


def resolve_secrets(
    secrets: list[dict[str, Any]], *, account: str, region: str, execution_role: str | None
) -> dict[str, str]:
    """Environment variables for ``secrets``, as the container agent would inject them."""
    if not secrets:
        return {}
    if not execution_role:
        raise SecretError(
            "ResourceInitializationError: unable to pull secrets: the job definition has "
            "secrets but no executionRoleArn; an execution role is required to retrieve them"
        )
    resolved: dict[str, str] = {}
    for secret in secrets:
        name, value_from = str(secret.get("name", "")), str(secret.get("valueFrom", ""))
        if value_from.startswith("arn:") and value_from.split(":")[2] == "secretsmanager":
            resolved[name] = _from_secrets_manager(account, region, value_from)
            continue
        value = _from_parameter_store(account, region, value_from)
        if value is None and not value_from.startswith("arn:"):
            try:
                value = _from_secrets_manager(account, region, value_from)
            except SecretError:
                value = None
        if value is None:
            raise SecretError(
                "ResourceInitializationError: unable to pull secrets or registry auth: "
                f"unable to retrieve secret {value_from}: the parameter or secret does not exist"
            )
        resolved[name] = value
    return resolved
