"""A local AWS Batch for tests and demos: moto's server with jobs that really run.

The public API is what this module exports; its other modules are internal. The
executor plugin never imports this package.
"""

from __future__ import annotations

from .handle import LocalBatch
from .knobs import KNOB_NAMES
from .podman import PodmanService
from .resources import Resources

__all__ = ["KNOB_NAMES", "LocalBatch", "PodmanService", "Resources"]
