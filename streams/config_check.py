"""The settings tree as variables: their names, errors in words, unknown ``POT_*`` names, a masked listing.

Pydantic reports ``kafka.sasl_mechanism: Input should be 'PLAIN', ...``; a
user set ``POT_KAFKA_SASL_MECHANISM``. :func:`explain` says which variable is
wrong, what it held (never a secret's value) and the form expected.
:func:`unknown_variables` finds what :class:`~streams.config.Settings`
would silently ignore (a misspelt ``POT_BROKERS`` would otherwise start the
embedded broker), with the closest known name.

>>> from streams.config import Settings
>>> "POT_KAFKA_SASL_PASSWORD" in variables(Settings) and "POT_BROKER" in variables(Settings)
True
>>> unknown_variables({"POT_BROKERS": "kafka://k:9092", "POT_BROKER_WAIT_S": "5", "HOME": "/root"}, Settings)
[('POT_BROKERS', 'POT_BROKER')]
"""

from __future__ import annotations

import difflib
import json
import re
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import SettingsError

__all__ = ["ConfigError", "MASK", "explain", "load", "expected_form", "flat_values", "unknown_variables", "variables"]

MASK = "********"
PREFIX = "POT_"


def _sections(model: type[BaseModel]) -> dict[str, type[BaseModel]]:
    return {name: f.annotation for name, f in model.model_fields.items()
            if isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel)}


def _env_names(name: str, field: FieldInfo) -> list[str]:
    alias = field.validation_alias
    choices = [c for c in getattr(alias, "choices", [alias]) if isinstance(c, str)] if alias else []
    return choices or [name]


def _satellites(model: type[BaseModel]) -> list[type[BaseModel]]:
    hook = getattr(model, "satellites", None)
    return list(hook()) if callable(hook) else []


def variables(model: type[BaseModel]) -> dict[str, tuple[tuple[str, ...], FieldInfo]]:
    """Every variable the tree reads: ``POT_<FIELD>`` → (path in the tree, field). Satellites (settings
    classes that read their own ``POT_*`` prefix, ``Settings.satellites()``) are listed under ``("~", class, field)``."""
    sections = _sections(model)
    found: dict[str, tuple[tuple[str, ...], FieldInfo]] = {}
    for satellite in _satellites(model):
        prefix = str(satellite.model_config.get("env_prefix", ""))
        for sub, sub_field in satellite.model_fields.items():
            found[f"{prefix}{sub}".upper()] = (("~", satellite.__name__, sub), sub_field)
    for name, field in model.model_fields.items():
        if name in sections:
            for sub, sub_field in sections[name].model_fields.items():
                for env in _env_names(sub, sub_field):
                    found[f"{PREFIX}{name}_{env}".upper()] = ((name, sub), sub_field)
        else:
            found[f"{PREFIX}{name}".upper()] = ((name,), field)
    return found


def variable_for(model: type[BaseModel], loc: Iterable[Any]) -> str:
    """The variable behind an error location: ``("kafka", "sasl_mechanism")`` → ``POT_KAFKA_SASL_MECHANISM``."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in _sections(model) and len(parts) > 1:
        section = _sections(model)[parts[0]]
        field = section.model_fields.get(parts[1])
        env = _env_names(parts[1], field)[0] if field else parts[1]
        return f"{PREFIX}{parts[0]}_{env}".upper()
    return f"{PREFIX}{parts[0]}".upper() if parts else f"{PREFIX}*"


def _bounds(field: FieldInfo) -> str:
    limits = {key: getattr(item, key) for item in field.metadata for key in ("ge", "gt", "le", "lt")
              if getattr(item, key, None) is not None}
    low = f"at least {limits['ge']:g}" if "ge" in limits else (f"above {limits['gt']:g}" if "gt" in limits else "")
    high = f"at most {limits['le']:g}" if "le" in limits else (f"below {limits['lt']:g}" if "lt" in limits else "")
    return f" ({', '.join(part for part in (low, high) if part)})" if low or high else ""


def expected_form(field: FieldInfo) -> str:
    """What a value of this field looks like, in words a user can act on."""
    annotation = field.annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in typing.get_args(annotation))
    if annotation is bool:
        return "true or false"
    if annotation is int:
        return "a whole number" + _bounds(field)
    if annotation is float:
        return "a number" + _bounds(field)
    if annotation is Path:
        return "a file or folder path"
    if origin is list:
        return 'a JSON list, e.g. ["console", "jsonl"]'
    if origin is dict:
        return 'a JSON object, e.g. {"complaint": 3600}'
    if annotation is SecretStr:
        return "a secret (text)"
    return "text"


def _shown(value: Any, field: FieldInfo | None) -> str:
    if field is not None and SecretStr in (field.annotation, *typing.get_args(field.annotation)):
        return MASK
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return repr(text[:120])


def explain(exc: ValidationError, model: type[BaseModel]) -> list[str]:
    """One sentence per error: the variable, what it held, what is expected (and why, from the field)."""
    known = {path: field for path, field in variables(model).values()}
    lines = []
    for error in exc.errors(include_url=False):
        loc = tuple(str(p) for p in error["loc"])
        field = known.get(loc[:2]) or known.get(loc[:1])
        message = error["msg"].removeprefix("Value error, ")
        if message.startswith(PREFIX):
            lines.append(message)
            continue
        variable = variable_for(model, loc)
        held = "" if error["type"] == "missing" else f"={_shown(error.get('input'), field)}"
        form = expected_form(field) if field is not None else "a valid value"
        why = f" ({field.description.rstrip('.')})" if field is not None and field.description else ""
        detail = f": {message}" if error["type"] in ("value_error", "assertion_error") else ""
        lines.append(f"{variable}{held} is not valid{detail}; expected {form}{why}")
    return lines


def unknown_variables(environ: Mapping[str, str], model: type[BaseModel]) -> list[tuple[str, str | None]]:
    """``POT_*`` names no setting reads, each with the closest known name (or ``None``)."""
    known = list(variables(model))
    out = []
    for name in sorted(environ):
        upper = name.upper()
        if upper.startswith(PREFIX) and upper not in known:
            close = difflib.get_close_matches(upper, known, n=1, cutoff=0.75)
            out.append((name, close[0] if close else None))
    return out


def _text(value: Any, reveal: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, SecretStr):
        return value.get_secret_value() if reveal else MASK
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def flat_values(settings: BaseModel, reveal: bool = False) -> dict[str, str]:
    """Variable → effective value as text; secrets masked unless ``reveal`` (for handing to sinks)."""
    out = {}
    satellites = {cls.__name__: cls for cls in _satellites(type(settings))}
    loaded: dict[str, Any] = {}
    for variable, (path, _) in variables(type(settings)).items():
        if path[0] == "~":
            if path[1] not in loaded:
                try:
                    loaded[path[1]] = satellites[path[1]]()
                except ValidationError:
                    loaded[path[1]] = None
            value = getattr(loaded[path[1]], path[2], None)
            out.setdefault(variable, _text(value, reveal))
            continue
        value: Any = settings
        for part in path:
            value = getattr(value, part)
        out.setdefault(variable, _text(value, reveal))
    return {name: out[name] for name in sorted(out)}


class ConfigError(ValueError):
    """The settings are invalid; ``lines`` says why, one variable per line, without secret values."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("; ".join(lines))
        self.lines = lines


def load(model: type[BaseModel], **overrides: Any) -> Any:
    """``model(**overrides)`` (environment, ``.env``, then overrides), or :class:`ConfigError` in words."""
    try:
        return model(**overrides)
    except ValidationError as exc:
        raise ConfigError(explain(exc, model)) from None
    except SettingsError as exc:  # a JSON value that does not parse: pydantic-settings names the field
        match = re.search(r'field "([^"]+)"', str(exc))
        name = match.group(1) if match else ""
        field = model.model_fields.get(name)
        form = expected_form(field) if field is not None else "valid JSON"
        raise ConfigError([f"{variable_for(model, [name])} is not valid JSON; expected {form}"]) from None
