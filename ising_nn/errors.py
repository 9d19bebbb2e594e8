"""User-facing errors.

Every error that a user can cause by bad input (an unknown model, a corrupt file, a fraction outside
[0, 1], ...) is raised as :class:`IsingNNError` with a one-line message that says what was wrong and what is
accepted. The CLI prints that line and exits non-zero without a traceback.
"""

__all__ = ["IsingNNError"]


class IsingNNError(ValueError):
    """Bad input: the message names the problem and what is accepted."""
