"""`--help` in plain words: a value named by its kind (TEXT, PATH, INTEGER, a choice), a flag with no value name,
an argument by its name in capitals (`webmem run [OPTIONS] FLOW`), and a command's first sentence in the list.

Typer names values after Python types (`<bool>` for every flag, `<list[str]>` for a repeatable option, `{flow}`
for a required argument); these classes give each parameter a metavar instead, so every command of `webmem`
reads alike."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

# Typer's type label (the text inside its `<...>`) → the word shown for the value.
_WORDS = {"str": "TEXT", "path": "PATH", "int": "INTEGER", "float": "NUMBER", "bool": "BOOLEAN",
          "int range": "INTEGER", "float range": "NUMBER"}  # a range is shown after it, e.g. [1<=x<=65535]


def _word(param: Any, ctx: Any) -> str:
    label = param.display_type(ctx).strip("<>")
    if label.startswith("list[") and label.endswith("]"):
        label = label[5:-1]  # a repeatable option: name one value; the help says "(repeatable)"
    if "|" in label:
        return f"[{label}]"  # a choice, as click writes it
    return _WORDS.get(label, label.upper())


def _metavar(param: Any, ctx: Any) -> str:
    if isinstance(param, TyperArgument):
        word = _word(param, ctx)
        # the type column of an argument is not its metavar in Typer: name it the same way on the instance
        setattr(param, "display_type_rich", lambda ctx: word)  # noqa: B010 (mypy: assigning to a method)
        return str(param.name).upper()
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""  # a flag takes no value: show none
    return _word(param, ctx)


def _name_values(params: list[Any], ctx: Any) -> None:
    for param in params:
        if param.metavar is None and isinstance(param, TyperArgument | TyperOption):
            param.metavar = _metavar(param, ctx)


def _usage(command: Any, ctx: Any) -> list[str]:
    pieces = [command.options_metavar] if command.options_metavar else []
    for param in command.get_params(ctx):
        if isinstance(param, TyperArgument):
            name = str(param.metavar) + ("..." if param.nargs != 1 else "")
            pieces.append(name if param.required else f"[{name}]")
    return pieces


class Command(TyperCommand):
    """A `webmem` command whose help names values in words."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)  # includes --help, made on first use
        _name_values(params, ctx)
        return params

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return _usage(self, ctx)


class Group(TyperGroup):
    """`webmem` itself: its options named like the commands', each command listed by its first sentence."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        _name_values(params, ctx)
        return params

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [*_usage(self, ctx), self.subcommand_metavar]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        for command in self.commands.values():
            if command.short_help is None and command.help:
                command.short_help = first_sentence(command.help)
        super().format_help(ctx, formatter)


def first_sentence(text: str) -> str:
    """The first sentence of a help text, on one line (the list of commands shows only this)."""
    flat = " ".join(text.split())
    head, dot, _ = flat.partition(". ")
    return head + "." if dot else flat


class App(typer.Typer):
    """`typer.Typer` whose commands are `Command`s (so no command can forget to be one)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cls=Group, **kwargs)

    def command(self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any) -> Any:
        return super().command(name, cls=cls or Command, **kwargs)
