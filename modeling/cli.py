"""``python -m modeling <command>``: one sub-command per module in ``modeling/commands/``.

Each command module defines ``NAME`` (the sub-command), ``HELP`` (one line), ``add_arguments(parser)``
and ``run(args) -> int``. Bad input raises :class:`modeling.errors.InputError`, which the CLI prints as
one line on stderr and turns into exit status 2, having written nothing.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from modeling import commands
from modeling.errors import InputError


def _command_modules():
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"modeling.commands.{info.name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m modeling",
        description="The RLHF loop's machine learning on JSONL files, without a database.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _command_modules():
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        _close_process_group()


_left_process_group = False


def _close_process_group() -> None:
    """Under ``accelerate launch``: leave the process group before exiting. A process that exits with
    gloo's threads still running can abort ("terminate called without an active exception", SIGABRT),
    which failed a two-process run now and then after it had finished its work."""
    global _left_process_group
    if "torch" not in sys.modules:
        return
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
        _left_process_group = True


def exit_now_if_distributed(code: int) -> None:
    """After a run under ``accelerate launch``: flush and end the process at once, without the
    interpreter's teardown. Leaving the group is not always enough: a C++ thread of torch.distributed
    still joinable when static objects are destroyed aborts the process (SIGABRT, exit -6) after the
    work was done and the files written, which failed a two-process job about one run in twenty on a
    busy machine. Everything this process writes is closed by then."""
    if _left_process_group:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
