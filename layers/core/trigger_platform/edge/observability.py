"""Powertools observability shared by every function: JSON logs with a correlation id, and
CloudWatch metrics in the embedded metric format (EMF).

Tracing is Lambda's own (``Tracing: Active`` in template.yaml): Lambda and API Gateway record every
invocation's segments with no SDK in the function. The X-Ray SDK (Powertools Tracer) would add a
subsegment per call, at the price of about 0.25 s of every cold start, at import or on first use
(README: "Tracing and cold starts"; bench/bench_cold_start.py).
"""

import gc
import os
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

NAMESPACE = "TriggerPlatform"

logger = Logger()
metrics = Metrics(namespace=NAMESPACE)

# Read routes emit no business metric on most invocations; that is expected, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")

Handler = Callable[[Any, Any], Any]


def _correlation_id(event: Any, path: tuple[str, ...]) -> str | None:
    for key in path:
        event = event.get(key) if isinstance(event, dict) else None
    return str(event) if event is not None else None


def lambda_entry(correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
    """The fixed decorator stack of every handler: the logger (with the correlation id found at
    ``correlation_id_path``, a dotted path into the event), metrics flushed once per invocation."""
    path = tuple(correlation_id_path.split(".")) if correlation_id_path else ()

    def wrap(handler: Handler) -> Handler:
        logged = logger.inject_lambda_context(metrics.log_metrics(handler))

        def entry(event: Any, context: Any) -> Any:
            if path:
                logger.set_correlation_id(_correlation_id(event, path))
            return logged(event, context)

        # Everything imported so far lives as long as the instance: keeping it out of the garbage
        # collector's full passes removes the tens-of-milliseconds pauses they cause on large pages.
        gc.freeze()
        return entry

    return wrap


def metrics_disabled() -> bool:
    """Read at each call, not at import: the local runtime disables metrics once it has imported
    this module (through the wiring), before it loads the functions."""
    return os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() in ("1", "true")


def count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count, **dimensions: str) -> None:
    """One metric data point. Dimensions (e.g. source="api") apply to every metric the invocation
    flushes, which is fine: each function emits metrics about one thing."""
    if metrics_disabled():
        return  # Powertools would keep collecting them (and print every 100th) without flushing
    for key, dimension in dimensions.items():
        metrics.add_dimension(name=key, value=dimension)
    metrics.add_metric(name=name, unit=unit, value=value)
