"""Every error the package raises for its user, under one base class.

A caller that shows errors to a person (the ``cnnbook`` command, the
examples) catches :class:`CnnbookError` alone: its message is one sentence
meant for that person, never a traceback. Each subclass names the part
that failed, so a program can still tell them apart.

The user-input errors also subclass ``ValueError``, so code written
against the builtin keeps working.
"""

from __future__ import annotations


class CnnbookError(Exception):
    """Base class: the message is one sentence for the user."""


class ConfigError(CnnbookError, ValueError):
    """An invalid setting (a training option, a model option, a size)."""


class ModelError(ConfigError):
    """A model that cannot be built as asked: unknown name, option, channels or size."""


class DataError(CnnbookError, ValueError):
    """Bad or missing data."""


class CheckpointError(CnnbookError, ValueError):
    """A checkpoint is missing, unreadable or does not fit the model or run."""


class DeviceError(CnnbookError, ValueError):
    """The requested device does not exist here."""


class DistributedError(CnnbookError, RuntimeError):
    """A problem launching or running several processes."""


class TrainingDiverged(CnnbookError, RuntimeError):
    """The loss became NaN or infinite; the run stopped (the last good checkpoint survives)."""
