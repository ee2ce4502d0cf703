"""Domain errors. Each carries a stable machine `code` that the API maps to problem+json
and the kiosk shows as a message, so a rule is named the same way everywhere."""


class DomainError(Exception):
    code = "domain-error"
    status = 422  # the HTTP status the API uses for this error

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    code = "not-found"
    status = 404


class UnknownSku(NotFound):
    code = "unknown-sku"
    status = 422


class UnknownLocation(NotFound):
    code = "unknown-location"
    status = 422


class UnknownOrder(NotFound):
    code = "unknown-order"


class UnknownBarcode(NotFound):
    code = "unknown-barcode"
    status = 422


class InvalidQuantity(DomainError):
    code = "invalid-quantity"


class ValidationFailed(DomainError):
    code = "validation-error"


class IllegalTransition(DomainError):
    code = "illegal-transition"
    status = 409


class InsufficientStock(DomainError):
    code = "insufficient-stock"
    status = 409


class Conflict(DomainError):
    code = "conflict"
    status = 409


class WrongItem(DomainError):
    code = "wrong-item"
    status = 409


class ExtraItem(DomainError):
    code = "extra-item"
    status = 409


class NotAllowed(DomainError):
    code = "not-allowed"
    status = 403


class StorageFull(DomainError):
    """The database cannot write: the disk is full or the storage has gone (SQLite SQLITE_FULL or
    SQLITE_IOERR). Nothing of the command was stored. 507 Insufficient Storage (RFC 4918) says
    exactly that, where 503 would only say "try later"; the API adds Retry-After."""

    code = "storage-full"
    status = 507
    retry_after_s = 60
    MESSAGE = "Storage full — call a supervisor"

    def __init__(self, message: str = MESSAGE, **details):
        super().__init__(message, **details)


def require_positive(qty, what: str = "qty") -> int:
    """Quantities are whole units > 0; anything else is refused before it touches stock."""
    if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
        raise InvalidQuantity(f"{what} must be a whole number above zero, got {qty!r}", field=what)
    return qty


class AlreadyApplied(DomainError):
    """A floor request whose id was already recorded: its write is in the database, nothing is
    booked again."""
    code = "already-applied"
    status = 200
