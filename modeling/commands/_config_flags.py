"""Command-line flags generated from a config dataclass: one ``--flag`` per field, with its help."""
from __future__ import annotations

import argparse
import dataclasses


def _flagged(config_class, skip: set[str]) -> list[dataclasses.Field]:
    """The fields that are flags: not in ``skip``, and with a scalar default (a dict or list field, made by a
    default factory, is given some other way, e.g. ``--labeler-weights FILE``, or keeps its default)."""
    return [f for f in dataclasses.fields(config_class) if f.name not in skip and f.default is not dataclasses.MISSING]


def add_config_flags(parser: argparse.ArgumentParser, config_class, skip: set[str]) -> None:
    """One ``--flag`` per dataclass field, typed by its default, with the field's help; the class's own
    fields first, then those of a mixin such as :class:`modeling.models.lora.LoraFields`."""
    own = config_class.__dict__.get("__annotations__", {})
    fields = sorted(_flagged(config_class, skip), key=lambda f: f.name not in own)  # stable: keeps order
    for field in fields:
        flag = "--" + field.name.replace("_", "-")
        if isinstance(field.default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=field.default,
                                help=field.metadata["help"])
        else:
            parser.add_argument(flag, type=type(field.default), default=field.default,
                                help=f"{field.metadata['help']} (default: {field.default!r})")


def config_values(args: argparse.Namespace, config_class, skip: set[str]) -> dict:
    return {f.name: getattr(args, f.name) for f in _flagged(config_class, skip)}


def config_flags(config, skip: set[str]) -> list[str]:
    """The command line that :func:`add_config_flags` parses back into ``config`` (skipping ``skip``):
    how the web app hands a run's config to ``accelerate launch -m modeling ...``."""
    argv: list[str] = []
    for field in _flagged(type(config), skip):
        flag, value = "--" + field.name.replace("_", "-"), getattr(config, field.name)
        if isinstance(field.default, bool):
            argv.append(flag if value else "--no-" + flag[2:])
        elif not isinstance(value, (dict, list)):
            argv += [flag, str(value)]
    return argv
