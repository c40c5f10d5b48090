"""Errors the storage layer raises to its callers."""


class StorageError(Exception):
    """Base of storage errors."""


class NotFound(StorageError):
    """The record asked for does not exist."""


class Conflict(StorageError):
    """The write would break a uniqueness rule or a state rule."""


class Unavailable(StorageError):
    """The database did not answer within the time allowed."""
