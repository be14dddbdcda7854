"""The one base class of the errors citeqa raises on purpose.

Each project error also keeps its usual base (ValueError, RuntimeError), so code that catches
those still works; interfaces catch `CiteqaError` to show its message as one line, while any
other exception is a bug and keeps its traceback. This module imports nothing, so the lightest
caller can use it.
"""

from __future__ import annotations


class CiteqaError(Exception):
    """An error citeqa raises on purpose; its message is written for the user to act on."""
