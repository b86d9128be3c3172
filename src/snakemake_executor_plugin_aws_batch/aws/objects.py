"""Objects in the default storage (S3) that a detached run leaves: its sources, its logs.

The S3 side of the one boto3 boundary: calls go through ``aws.call`` with its retries,
and every failure becomes a ``WorkflowError`` naming the object.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import boto3
from snakemake_interface_common.exceptions import WorkflowError

from ..logs import Logger
from .boundary import AwsError, Health, call, client_config

T = TypeVar("T")
PATIENCE_SECONDS = 120.0


def split_url(url: str) -> tuple[str, str]:
    """``s3://bucket/key`` as (bucket, key); ``WorkflowError`` for anything else."""
    if not url.startswith("s3://") or not url.removeprefix("s3://").partition("/")[0]:
        raise WorkflowError(f"Not an S3 URL (s3://bucket/key): {url!r}.")
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bucket, key.strip("/")


def join(url: str, *parts: str) -> str:
    return "/".join([url.rstrip("/"), *(part.strip("/") for part in parts)])


class ObjectStore:
    """Puts and gets whole objects at ``s3://`` URLs, on AWS's S3 or at ``endpoint_url``
    (the S3 storage plugin's ``--storage-s3-endpoint-url``)."""

    def __init__(
        self, logger: Logger, *, region: str | None, endpoint_url: str | None = None
    ) -> None:
        self._s3 = boto3.session.Session().client(
            "s3",
            region_name=region,
            endpoint_url=endpoint_url,
            config=client_config(max_pool_connections=4),
        )
        self._health = Health(logger)

    def _call(self, operation: str, url: str, function: Callable[[], T]) -> T:
        try:
            return call(
                operation,
                function,
                health=self._health,
                deadline=time.monotonic() + PATIENCE_SECONDS,
            )
        except AwsError as exc:
            raise WorkflowError(
                f"S3 {operation} of {url} failed: {exc.code}: {exc.message}"
            ) from exc

    def check_bucket(self, url: str) -> None:
        bucket, _ = split_url(url)
        self._call("HeadBucket", f"s3://{bucket}", lambda: self._s3.head_bucket(Bucket=bucket))

    def put(self, url: str, body: bytes) -> None:
        bucket, key = split_url(url)
        self._call("PutObject", url, lambda: self._s3.put_object(Bucket=bucket, Key=key, Body=body))

    def get(self, url: str) -> bytes:
        bucket, key = split_url(url)
        answer = self._call("GetObject", url, lambda: self._s3.get_object(Bucket=bucket, Key=key))
        return bytes(answer["Body"].read())
