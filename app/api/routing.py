"""Path ids that never match the literal segment beside them.

``/api/v1/users/{id}/factors/catalog`` and ``/factors/{factorId}`` (or
``/auth/factors/enroll`` and ``/auth/factors/{id}``) share a shape. werkzeug
routes the literal first, but a 405 or an ``OPTIONS`` answer lists the
methods of every rule the URL matches, so ``Allow`` offered ``DELETE`` on the
catalog. A ``resource_id`` is any segment but those words: ``Allow`` lists
exactly what the path serves.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api
from werkzeug.routing import BaseConverter

#: The literal segments that sit beside an id in some path.
RESERVED = ("catalog", "questions", "enroll")


class ResourceId(BaseConverter):
    regex = rf"(?!(?:{'|'.join(RESERVED)})(?![^/]))[^/]+"


def _parameter_schema(converter: ResourceId) -> dict[str, Any]:
    # Not ``not: {enum: RESERVED}``: a fuzzer takes that as an invitation to
    # send the reserved word, which is a real path of another operation.
    return {"type": "string"}


def register(app: Flask, api: Api) -> None:
    """Before any blueprint that uses ``<resource_id:…>`` is registered."""
    app.url_map.converters["resource_id"] = ResourceId
    api.register_converter(ResourceId, _parameter_schema)
