"""Database plumbing: engine, unit of work, base classes, column types."""

from siyu.db.base import Base, IdPk, TimestampMixin
from siyu.db.engine import get_engine, make_engine, session_factory, unit_of_work
from siyu.db.types import UTCDateTime, utcnow

__all__ = [
    "Base",
    "IdPk",
    "TimestampMixin",
    "UTCDateTime",
    "get_engine",
    "make_engine",
    "session_factory",
    "unit_of_work",
    "utcnow",
]
