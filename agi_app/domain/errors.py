"""One hierarchy for every refusal, each with a stable id for logs and tests."""


class CallbackError(Exception):
    """A request that cannot be taken. The caller hears the error prompt."""

    code = "callback-error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidOptions(CallbackError):
    code = "invalid-options"


class AnonymousCaller(CallbackError):
    code = "anonymous-caller"


class InvalidNumber(CallbackError):
    code = "invalid-number"


class BlockedNumber(CallbackError):
    code = "blocked-number"


class InvalidExtension(CallbackError):
    code = "invalid-extension"


class UnknownQueue(CallbackError):
    code = "unknown-queue"


class StoreUnavailable(CallbackError):
    code = "store-unavailable"


class RateLimited(CallbackError):
    code = "rate-limited"


class NotLeader(StoreUnavailable):
    """This process no longer serves: another one took over (a higher epoch), so its write
    was refused and rolled back. Serving stops; it is not retried."""

    code = "not-leader"


class StoreMissing(StoreUnavailable):
    """No store where the settings say, for a command that only reads (it creates none)."""

    code = "store-missing"


class StoreCorrupt(StoreUnavailable):
    """The store file is not a sound SQLite database: the service cannot start on it."""

    code = "store-corrupt"


class DriverMissing(StoreUnavailable):
    """The settings name a store whose driver this installation does not have."""

    code = "driver-missing"
