"""Powertools observability shared by every function: JSON logs with a correlation id, X-Ray
traces, and CloudWatch metrics in the embedded metric format (EMF).

The Tracer imports the X-Ray SDK (about 0.2 s of a cold start, measured in bench/); the local
runtime turns tracing and metrics off (POWERTOOLS_TRACE_DISABLED / POWERTOOLS_METRICS_DISABLED).
"""

import os
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

NAMESPACE = "TriggerPlatform"

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=NAMESPACE)

# Read routes emit no business metric on most invocations; that is expected, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")

Handler = Callable[[Any, Any], Any]


def lambda_entry(correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
    """The fixed decorator stack of every handler: logger (with the correlation id), tracer,
    metrics flushed once per invocation."""

    def wrap(handler: Handler) -> Handler:
        flushed = metrics.log_metrics(handler)
        traced = tracer.capture_lambda_handler(flushed)
        return logger.inject_lambda_context(correlation_id_path=correlation_id_path)(traced)

    return wrap


METRICS_DISABLED = os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() in ("1", "true")


def count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count, **dimensions: str) -> None:
    """One metric data point. Dimensions (e.g. source="api") apply to every metric the invocation
    flushes, which is fine: each function emits metrics about one thing."""
    if METRICS_DISABLED:
        return  # Powertools would keep collecting them (and print every 100th) without flushing
    for key, dimension in dimensions.items():
        metrics.add_dimension(name=key, value=dimension)
    metrics.add_metric(name=name, unit=unit, value=value)
