"""Exceptions the core raises, so adapters can turn them into clear messages."""


class RehabError(Exception):
    """Base class of every error the stack raises on purpose."""


class BackendUnavailableError(RehabError):
    """An inference backend's package is not installed (message names the package)."""


class ModelLoadError(RehabError):
    """A model file is missing, unreadable or of the wrong kind."""


class ShapeMismatchError(RehabError):
    """An input does not match the shape a model expects."""


class BadFrameError(RehabError):
    """A frame cannot be processed (empty, wrong encoding, wrong size); drop it."""


class InputSourceError(RehabError):
    """A video, bag or camera cannot be opened or read."""


class ConfigError(RehabError):
    """A parameter value is invalid."""
