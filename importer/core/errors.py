"""The importer's exceptions.

Every failure a user can cause or meet is one of these, so the CLI can print one line and pick the
exit code without knowing where the failure came from::

    ImporterError                 base; ``exit_code`` tells the CLI how to end
    ├── InputError                exit 2: nothing was attempted
    │   ├── LocatedError          ... at a place in a file ("path, line N: what to do")
    │   │   ├── SourceError       the input file cannot be read (any format)
    │   │   └── MappingError      the mapping is wrong (the YAML line)
    │   ├── ConfigError           options, credentials or URL are unusable
    │   ├── StateLockedError      another run holds the state file (names its pid)
    │   └── NotConfirmed          the question before a real account was answered no
    ├── ApiError                  Help Scout answered with an error (status, message, field
    │   │                         errors, logRef)
    │   ├── AuthError             401 twice in a row, or 403: exit 3, check the credentials or plan
    │   └── RateLimitError        429 (carries the seconds to wait)
    ├── TransportError            no answer: connection refused or dropped, timeout
    │   └── CertificateError      exit 3: the server's TLS certificate was refused (never retried)
    └── RunStopped                exit 3: the run stopped early (interrupted or fatal answer);
        │                         the same command resumes it
        ├── SourceChangedError    the input file changed while it was read (still being written)
        └── OutputError           an output could not be written (the disk is full)

Messages never contain a token or secret: API errors keep only status, message, field errors and
logRef.
"""

from __future__ import annotations

from dataclasses import dataclass, field

EXIT_OK = 0
EXIT_ROWS_FAILED = 1
EXIT_USAGE = 2
EXIT_STOPPED = 3


class ImporterError(Exception):
    """Base class of every error the importer raises on purpose."""

    exit_code = EXIT_ROWS_FAILED


class InputError(ImporterError):
    """Bad usage or unusable input: nothing was attempted."""

    exit_code = EXIT_USAGE


class LocatedError(InputError):
    """An input error at a place in a file; the message starts with "path, line N:"."""

    what = ""
    """What to call the file when no path is known."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        self.path = path
        self.line = line
        self.detail = message
        """The message without the place (to say it of another name: a spooled file's)."""
        parts = [path or self.what, f"line {line}" if line is not None else ""]
        where = ", ".join(p for p in parts if p)
        super().__init__(f"{where}: {message}" if where else message)


class SourceError(LocatedError):
    """The input file cannot be read as a table of customers."""


class MappingError(LocatedError):
    """The mapping file is not valid YAML or does not fit the CSV."""

    what = "mapping"


class ConfigError(InputError):
    """Options, environment or credentials cannot be used as given."""


class StateLockedError(InputError):
    """Another run is using the same state file."""


class NotConfirmed(InputError):
    """Asked before sending to a real account, the user said no: nothing was sent."""


@dataclass(frozen=True)
class FieldError:
    """One field-level complaint from the API (``_embedded.errors[]``)."""

    path: str
    message: str
    rejected_value: object = None

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass
class ApiError(ImporterError):
    """Help Scout answered with an error status."""

    status: int
    message: str = ""
    log_ref: str | None = None
    field_errors: list[FieldError] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"HTTP {self.status}"
        if self.message:
            text += f" {self.message}"
        if self.field_errors:
            text += ": " + "; ".join(str(e) for e in self.field_errors)
        if self.log_ref:
            text += f" (logRef {self.log_ref})"
        return text


@dataclass
class AuthError(ApiError):
    """The credentials were refused (401 after a fresh token) or the account denies access (403)."""

    exit_code = EXIT_STOPPED


@dataclass
class RateLimitError(ApiError):
    """429: the account's per-minute budget is spent; ``retry_after`` seconds to wait."""

    retry_after: float = 60.0


class TransportError(ImporterError):
    """The request got no HTTP answer (refused, dropped, timed out); it may or may not have run."""


class CertificateError(TransportError):
    """The server's TLS certificate failed verification: the run stops, sending again cannot
    help."""

    exit_code = EXIT_STOPPED


class RunStopped(ImporterError):
    """The run stopped before every row was done; the same command resumes it."""

    exit_code = EXIT_STOPPED


class SourceChangedError(RunStopped):
    """The input file's size or modification time changed while it was read: it is still being
    written (the last line may be half of one), so the rows after the change are not sent."""


class OutputError(RunStopped):
    """An output (results, report, summary...) could not be written: the disk is full, say.
    What finished is in the state; the same command, with room, resumes it."""
