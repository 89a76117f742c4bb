"""Request bodies parsed without importing pydantic on the usual path (issue 17: pydantic is
~60 ms of a submit function's cold start, ~500 ms on a loaded machine).

A `Body` subclass declares its fields as annotations, as a pydantic model would. `parse(data)`
takes a fast path for the values well-behaved clients send: a string where a string belongs
(or an int, which pydantic's `coerce_numbers_to_str` turns into `str(int)`), an int, a bool, a
list of those strings, a known enum value, a nested object of the same kinds, null, or the field
left out. On those, pydantic gives exactly the same values (tests/unit/test_body.py compares
both on a corpus of odd inputs). Anything else (a float, a string where an int belongs, "yes"
for a bool, ...) goes to a pydantic twin of the same declaration, built on first use, so its
lax-mode rules and errors stay pydantic's own without being copied here.
"""

from __future__ import annotations

import enum
import types
import typing
from typing import Any, ClassVar

_MISSING = object()


class BodyError(ValueError):
    """The body does not fit the declared types (HTTP 400); the message is pydantic's."""


class _Slow(Exception):
    """A value the fast path does not decide: the whole body goes to pydantic."""


def _optional_inner(hint: Any) -> Any:
    """`X | None` -> X (every field here is optional)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (types.UnionType, typing.Union) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    raise TypeError(f"unsupported field type {hint!r}: fields are `X | None`")


def _str(value: Any) -> str:
    if type(value) is str:
        return value
    if type(value) is int:  # coerce_numbers_to_str; bool is not a number there
        return str(value)
    raise _Slow


def _checker(inner: Any) -> Any:
    """A function value -> parsed value for the fast path (raises _Slow when undecided)."""
    if inner is str:
        return _str
    if inner is int or inner is bool:

        def exact(value: Any) -> Any:
            if type(value) is inner:
                return value
            raise _Slow

        return exact
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        members = {m.value: m for m in inner}

        def member(value: Any) -> Any:
            if type(value) is str and value in members:
                return members[value]
            raise _Slow

        return member
    if isinstance(inner, type) and issubclass(inner, Body):

        def nested(value: Any) -> Any:
            if type(value) is dict:
                return inner._fast(value)
            raise _Slow

        return nested
    if typing.get_origin(inner) is list:
        (item,) = typing.get_args(inner)
        nullable = item is not str
        if nullable and _optional_inner(item) is not str:
            raise TypeError(f"unsupported list item {item!r}")

        def items(value: Any) -> list[Any]:
            if type(value) is not list:
                raise _Slow
            return [None if v is None and nullable else _str(v) for v in value]

        return items
    raise TypeError(f"unsupported field type {inner!r}")


class Body:
    """Base of the request bodies (mjproxy.api.models). Unknown fields are ignored."""

    # (name, type hint, default, fast-path check) per field, built on first parse.
    _spec: ClassVar[tuple[tuple[str, Any, Any, Any], ...] | None] = None
    _twin: ClassVar[Any] = None

    def __init__(self, **values: Any) -> None:
        for name, _hint, default, _check in self._fields():
            setattr(self, name, values.get(name, default))

    @classmethod
    def _fields(cls) -> tuple[tuple[str, Any, Any, Any], ...]:
        spec = cls.__dict__.get("_spec")
        if spec is None:
            hints = typing.get_type_hints(cls)
            spec = tuple(
                (name, hint, getattr(cls, name, None), _checker(_optional_inner(hint)))
                for name, hint in hints.items()
                if not name.startswith("_")
            )
            cls._spec = spec
        return spec

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Any:
        """`data` (a JSON object) as this body; BodyError when pydantic would refuse it."""
        try:
            return cls._fast(data)
        except _Slow:
            return cls._from_pydantic(data)

    @classmethod
    def _fast(cls, data: dict[str, Any]) -> Any:
        out = cls.__new__(cls)
        for name, _hint, default, check in cls._fields():
            value = data.get(name, _MISSING)
            if value is _MISSING:
                value = default
            elif value is not None:
                value = check(value)
            setattr(out, name, value)
        return out

    @classmethod
    def _from_pydantic(cls, data: dict[str, Any]) -> Any:
        from pydantic import ValidationError

        try:
            parsed = cls.pydantic_model().model_validate(data)
        except ValidationError as exc:
            raise BodyError(str(exc.errors(include_url=False)[0].get("msg"))) from exc
        return cls._from_model(parsed)

    @classmethod
    def _from_model(cls, parsed: Any) -> Any:
        out = cls.__new__(cls)
        for name, hint, _default, _check in cls._fields():
            value = getattr(parsed, name)
            inner = _optional_inner(hint)
            if value is not None and isinstance(inner, type) and issubclass(inner, Body):
                value = inner._from_model(value)
            setattr(out, name, value)
        return out

    @classmethod
    def pydantic_model(cls) -> Any:
        """The pydantic model of the same declaration (extra fields ignored, numbers accepted
        where strings belong): the reference the fast path must agree with."""
        twin = cls.__dict__.get("_twin")
        if twin is None:
            from pydantic import ConfigDict, create_model

            fields: dict[str, Any] = {}
            for name, hint, default, _check in cls._fields():
                inner = _optional_inner(hint)
                if isinstance(inner, type) and issubclass(inner, Body):
                    hint = inner.pydantic_model() | None
                fields[name] = (hint, default)
            config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)
            twin = create_model(cls.__name__, __config__=config, **fields)
            cls._twin = twin
        return twin

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n, *_ in self._fields())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n, *_ in self._fields())
        return f"{type(self).__name__}({shown})"
