"""The ``hedgerow`` command: one sub-command per module in this package.

Example:
    $ hedgerow --help
"""

from __future__ import annotations

import gc

import click

from hedgerow import __version__


class _LazyGroup(click.Group):
    """Imports a sub-command's module only when it is run (or listed, for ``--help``).

    ``hedgerow flows`` then does not pay for importing every other sub-command's stack. A
    command that needs the compiled packet/flow engine when it is not built says so in one
    line (exit code 2) instead of a traceback.
    """

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ModuleNotFoundError as exc:
            _fail_without_engine(ctx, ctx.invoked_subcommand or "", exc)
            raise

    def list_commands(self, ctx: click.Context) -> list[str]:
        _register()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        try:
            command = super().get_command(ctx, cmd_name)
            if command is None:
                _register(only=cmd_name)
                command = super().get_command(ctx, cmd_name)
            if command is None:
                _register()
                command = super().get_command(ctx, cmd_name)
        except ModuleNotFoundError as exc:
            _fail_without_engine(ctx, cmd_name, exc)
            raise
        return command


def _fail_without_engine(ctx: click.Context, command: str, exc: ModuleNotFoundError) -> None:
    """Exit (code 2) with one line if ``exc`` says the compiled engine is not built."""
    from hedgerow.native import missing_engine

    message = missing_engine(exc)
    if message is not None:
        click.echo(f"hedgerow {command}: error: {message}", err=True)
        ctx.exit(2)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hedgerow")
def main() -> None:
    """Hedgerow: find attacks in and out of your IoT devices, and what makes them vulnerable."""


def _register(only: str | None = None) -> None:
    """Attach the sub-commands (all, or those whose attribute is ``only``); each lives in its
    own module under ``hedgerow.cli``."""
    from importlib import import_module

    # A command's stack is ~100,000 objects that live as long as the process (and ~1,000
    # garbage). The cyclic collector's passes over them while importing, and the full ones
    # later, would free next to nothing: they are left out (frozen), as `hedgerow scan` and
    # `hedgerow flows` did at their start anyway. About 50 ms less CPU to start a scan.
    enabled = gc.isenabled()
    gc.disable()
    try:
        for module_name, command_name in _COMMANDS:
            if only is not None and command_name != only:
                continue
            module = import_module(f"hedgerow.cli.{module_name}")
            main.add_command(getattr(module, command_name))
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


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

