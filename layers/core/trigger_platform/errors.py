"""Domain errors: a small hierarchy with machine-readable codes, mapped to HTTP once at the edge
(where the code becomes the problem's ``type``)."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    """One invalid input: a dotted path into the request (``schedule.at``) and what is wrong."""

    field: str
    message: str


@dataclass
class DomainError(Exception):
    detail: str
    code: str = "error"  # each subclass names its kind

    def __str__(self) -> str:
        return self.detail


@dataclass
class NotFound(DomainError):
    code: str = "not-found"


@dataclass
class Conflict(DomainError):
    code: str = "conflict"


@dataclass
class QuotaExceeded(Conflict):
    """A tenant is at one of its quotas; ``quota`` names it, with its limit and the current count."""

    quota: str = ""
    limit: int = 0
    current: int = 0
    code: str = "quota-exceeded"


@dataclass
class PreconditionFailed(DomainError):
    code: str = "precondition-failed"


@dataclass
class InvalidInput(DomainError):
    errors: list[FieldError] = field(default_factory=list)
    code: str = "invalid-input"


@dataclass
class ServiceUnavailable(DomainError):
    """A dependency (database, scheduler) is down; the caller may retry after ``retry_after_s``."""

    retry_after_s: int = 5
    code: str = "service-unavailable"
    title: str | None = None  # the status phrase unless the kind of outage has a plainer name


@dataclass
class QueryTimeout(ServiceUnavailable):
    """A query ran past the statement timeout: the database is up, the question was too costly."""

    code: str = "query-timeout"
    title: str | None = "Query Took Too Long"


@dataclass
class Unauthenticated(DomainError):
    code: str = "unauthenticated"


class CacheUnavailable(Exception):
    """The cache could not answer; callers fall back to the database (``X-Cache: bypass``)."""
