"""Errors raised by the detector package."""

from __future__ import annotations


class DetectorError(Exception):
    """Root of every error raised by detector."""


class RuleSetError(DetectorError):
    """A rule set (file, dict or form values) is invalid; the message says where."""


class EventError(DetectorError):
    """An event cannot be scored; the message names the field and value."""


class EvaluationError(DetectorError, ValueError):
    """Arrays given to the evaluation maths are inconsistent; the message says which."""
