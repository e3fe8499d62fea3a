"""The JSON on the topics: each record is an object with a version field, ``"v": 1``, and its fields.

This is the public contract of DESIGN.md ("Contracts"): downstream consumers
read plain JSON, and nothing on the wire names a Python module. Records
written before the contract (version 0) carried faust's blessed key,
``"__faust": {"ns": "streams.records.Alert"}``, at the top and in nested
records; :meth:`Record.from_wire` reads those too, so topics and changelogs
written by earlier workers are still understood (tests/test_wire_compat.py
replays bytes captured from them).

Reading is tolerant the way producers need it to be: unknown fields are
ignored, a missing optional field takes its default. A record from a newer
version than :data:`WIRE_VERSION`, or without a required field, raises
:class:`WireError`; agents dead-letter it whole.

>>> from streams.core.records import Author
>>> Author(id="u1").dumps()
b'{"v":1,"id":"u1","handle":null,"followers":0,"verified":false}'
>>> Author.loads(b'{"id": "u1", "followers": 3, "__faust": {"ns": "streams.records.Author"}}')
Author(id='u1', handle=None, followers=3, verified=False)
"""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from typing import Any, ClassVar, TypeVar

__all__ = ["BLESSED_KEY", "VERSION_KEY", "WIRE_VERSION", "Record", "WireError", "plain"]

WIRE_VERSION = 1
VERSION_KEY = "v"
BLESSED_KEY = "__faust"
"""faust's key naming the Record class; written by version 0 only, ignored when read."""

R = TypeVar("R", bound="Record")


class WireError(ValueError):
    """Bytes that are not a record of this type in a version this code reads."""


def plain(value: Any) -> Any:
    """A JSON value with version-0 blessed keys removed at every level (for dicts kept from old records)."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items() if key != BLESSED_KEY}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def _as_json(value: Any) -> Any:
    if isinstance(value, Record):
        return {f.name: _as_json(getattr(value, f.name)) for f in fields(value)}  # type: ignore[arg-type]
    if isinstance(value, dict):
        return {key: _as_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_json(item) for item in value]
    return value


class Record:
    """Base of the wire records (each a dataclass): JSON in and out, with the version field.

    ``nested`` names the fields that hold another record, so reading builds
    them too.
    """

    nested: ClassVar[dict[str, type[Record]]] = {}

    def as_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values, without the version field (a record nested in another)."""
        return _as_json(self)

    def to_wire(self) -> dict[str, Any]:
        """The record as it goes on a topic: ``{"v": 1, ...fields}``."""
        return {VERSION_KEY: WIRE_VERSION, **self.as_dict()}

    def dumps(self) -> bytes:
        return json.dumps(self.to_wire(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_wire(cls: type[R], data: Any) -> R:
        """Build the record from its JSON object, of this version or version 0."""
        if not isinstance(data, dict):
            raise WireError(f"{cls.__name__}: a JSON object is needed, got {type(data).__name__}")
        version = data.get(VERSION_KEY, 0)
        if not isinstance(version, int) or isinstance(version, bool) or not 0 <= version <= WIRE_VERSION:
            raise WireError(f"{cls.__name__}: wire version {version!r} is not one this worker reads (0..{WIRE_VERSION})")
        assert is_dataclass(cls)
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            inner = cls.nested.get(f.name)
            if inner is not None and isinstance(value, dict):
                value = inner.from_wire({**value, VERSION_KEY: version})
            elif isinstance(value, (dict, list)):
                value = plain(value)
            kwargs[f.name] = value
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise WireError(f"{cls.__name__}: {exc}") from None

    @classmethod
    def loads(cls: type[R], raw: bytes | str) -> R:
        """Parse bytes from a topic; :class:`WireError` when they are not this record."""
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise WireError(f"{cls.__name__}: not JSON ({exc})") from None
        return cls.from_wire(data)
