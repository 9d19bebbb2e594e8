"""Placeholder: filled in by the work on this subcommand."""


def register(sub) -> None:
    pass
