"""The ``hedgerow`` command: one sub-command per module in this package.

Example:
    $ hedgerow --help
"""

from __future__ import annotations

import click

from hedgerow import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hedgerow")
def main() -> None:
    """Hedgerow: find attacks in and out of your IoT devices, and what makes them vulnerable."""


def _register() -> None:
    """Attach the sub-commands; each lives in its own module under ``hedgerow.cli``."""
    from importlib import import_module

    for module_name, command_name in _COMMANDS:
        module = import_module(f"hedgerow.cli.{module_name}")
        main.add_command(getattr(module, command_name))


_COMMANDS: list[tuple[str, str]] = [
    ("flows", "flows"),
    ("info", "info"),
    ("scan", "scan"),
    ("rules", "rules"),
    ("eval", "eval_cmd"),
    ("sense", "sense"),
    ("decisions", "decisions"),
    ("hub", "hub"),
    ("agent", "agent"),
    ("inventory", "inventory"),
    ("inventory", "html"),
    ("baseline", "baseline"),
]

_register()
