"""Turn a parsed filter expression (app.domain.filters) into a SQL condition."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, DateTime, and_, case, func, or_
from sqlalchemy.orm import InstrumentedAttribute

from app.domain.clock import parse_timestamp
from app.domain.filters import Comparison, Expression, Junction


class UnsupportedFilter(ValueError):
    """An attribute or operator the listing cannot filter on; ``field`` names
    the query parameter (``filter`` or ``search``) it came from."""

    def __init__(self, message: str, field: str = "filter") -> None:
        super().__init__(message)
        self.field = field


ColumnFor = Callable[[str], Any]


def compile_filter(
    tree: Expression,
    columns: Mapping[str, InstrumentedAttribute[Any]],
    json_column: InstrumentedAttribute[Any] | None = None,
    json_prefix: str = "profile.",
    dialect: str = "sqlite",
) -> ColumnElement[bool]:
    """SQL for ``tree``. ``columns`` maps attribute names to columns; names
    starting with ``json_prefix`` are read from ``json_column``."""
    if isinstance(tree, Junction):
        parts = [
            compile_filter(op, columns, json_column, json_prefix, dialect) for op in tree.operands
        ]
        return and_(*parts) if tree.operator == "and" else or_(*parts)
    return _comparison(tree, columns, json_column, json_prefix, dialect)


def _comparison(
    cmp: Comparison,
    columns: Mapping[str, InstrumentedAttribute[Any]],
    json_column: InstrumentedAttribute[Any] | None,
    json_prefix: str,
    dialect: str,
) -> ColumnElement[bool]:
    value: Any = cmp.value
    if cmp.attribute in columns:
        column: Any = columns[cmp.attribute]
        if isinstance(column.type, DateTime) and cmp.operator != "pr":
            if not isinstance(value, str):
                raise UnsupportedFilter(f"{cmp.attribute} needs a quoted timestamp")
            try:
                value = parse_timestamp(value)
            except ValueError as exc:
                raise UnsupportedFilter(f"{cmp.attribute}: {exc}") from exc
        elif isinstance(value, str):
            column, value = func.lower(column), value.lower()
    elif json_column is not None and cmp.attribute.startswith(json_prefix):
        key = cmp.attribute[len(json_prefix) :]
        if not key.replace("_", "").isalnum():
            raise UnsupportedFilter(f"unknown attribute {cmp.attribute}")
        if isinstance(value, bool | float):
            column = _typed_json(json_column, key, value, dialect)
        else:
            column = func.lower(json_column[key].as_string())
            value = value.lower() if isinstance(value, str) else value
    else:
        raise UnsupportedFilter(f"unknown attribute {cmp.attribute}")
    return _apply(column, cmp.operator, value)


def _typed_json(json_column: Any, key: str, value: bool | float, dialect: str) -> Any:
    """A JSON attribute as a number or boolean, NULL where it holds another type
    (so one user's odd value never matches by accident or breaks the query)."""
    element = json_column[key]
    typed = element.as_boolean() if isinstance(value, bool) else element.as_float()
    if dialect == "postgresql":
        wanted = ["boolean"] if isinstance(value, bool) else ["number"]
        kind = func.json_typeof(element)
    else:  # SQLite
        wanted = ["true", "false"] if isinstance(value, bool) else ["integer", "real"]
        kind = func.json_type(json_column, f'$."{key}"')
    return case((kind.in_(wanted), typed), else_=None)


def _apply(column: Any, operator: str, value: Any) -> ColumnElement[bool]:
    if operator == "pr":
        return column.is_not(None)  # type: ignore[no-any-return]
    if value is None and operator in ("eq", "ne"):
        return column.is_(None) if operator == "eq" else column.is_not(None)  # type: ignore[no-any-return]
    if operator in ("sw", "co"):
        if not isinstance(value, str):
            raise UnsupportedFilter(f"'{operator}' needs a string")
        escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = escaped + "%" if operator == "sw" else "%" + escaped + "%"
        return column.like(pattern, escape="\\")  # type: ignore[no-any-return]
    ops = {
        "eq": column.__eq__,
        "ne": column.__ne__,
        "gt": column.__gt__,
        "ge": column.__ge__,
        "lt": column.__lt__,
        "le": column.__le__,
    }
    return ops[operator](value)  # type: ignore[no-any-return]
