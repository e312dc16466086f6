"""Write a large OpenAPI document like the big public ones (Discord's is 1.2 MB): many
operations over many shared component schemas that refer to each other (and to themselves),
shared parameters and responses, documented error bodies. Deterministic for a given size.

The schemas come in ``tiers``, as a real API's objects do (a guild holds channels, a channel
messages, a message users): a schema refers to itself and to schemas of the tier below it, so a
chain of references is at most ``tiers`` long. ``tiers=None`` lets a schema refer to any earlier
one: chains hundreds of references long, with exponentially many paths through them (a tool that
inlines references does not finish).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

JSON = dict[str, Any]


def big_spec(
    operations: int = 1600, schemas: int = 700, seed: int = 1, tiers: int | None = 4
) -> JSON:
    """An OpenAPI 3.1 document with ``operations`` operations over ``schemas`` components in
    ``tiers`` tiers (see the module docstring)."""
    rng = random.Random(seed)
    components: JSON = {
        "Error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "integer", "format": "int32"},
                "message": {"type": "string"},
                "errors": {"type": "object", "additionalProperties": True},
            },
        },
        "Snowflake": {"type": "string", "pattern": "^(0|[1-9][0-9]{0,19})$"},
    }
    names = [f"Resource{i}" for i in range(schemas)]
    per_tier = -(-schemas // tiers) if tiers else 1
    for index, name in enumerate(names):
        tier = index // per_tier
        below = names[(tier - 1) * per_tier : tier * per_tier] if tiers else names[:index]
        props: JSON = {
            "id": {"$ref": "#/components/schemas/Snowflake"},
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "created_at": {"type": "string", "format": "date-time"},
            "flags": {"type": "integer", "format": "int32", "minimum": 0},
            "kind": {"type": "string", "enum": ["a", "b", "c", "d"]},
            "description": {"type": ["string", "null"], "maxLength": 2000},
        }
        for j in range(rng.randint(4, 10)):
            props[f"field_{j}"] = rng.choice(
                [
                    {"type": "string", "maxLength": 64},
                    {"type": "boolean"},
                    {"type": "number", "minimum": 0},
                    {"type": "array", "items": {"type": "string"}, "maxItems": 10},
                ]
            )
        if below:
            props["parent"] = {
                "oneOf": [
                    {"$ref": f"#/components/schemas/{rng.choice(below)}"},
                    {"type": "null"},
                ]
            }
            props["related"] = {
                "type": "array",
                "items": {"$ref": f"#/components/schemas/{rng.choice(below)}"},
                "maxItems": 5,
            }
        props["children"] = {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}}
        components[name] = {"type": "object", "required": ["id", "name"], "properties": props}
    paths: JSON = {}
    for index in range(operations):
        name = names[index % schemas]
        base = f"/guilds/{{guild_id}}/{name.lower()}s{index // schemas or ''}"
        ref = {"$ref": f"#/components/schemas/{name}"}
        error = {"$ref": "#/components/responses/ClientError"}
        if index % 2 == 0:
            paths.setdefault(base, {"parameters": [{"$ref": "#/components/parameters/GuildId"}]})
            paths[base]["get" if index % 4 == 0 else "post"] = {
                "operationId": f"op{index}",
                "parameters": [{"$ref": "#/components/parameters/Limit"}],
                **(
                    {}
                    if index % 4 == 0
                    else {
                        "requestBody": {
                            "required": True,
                            "content": {"application/json": {"schema": ref}},
                        }
                    }
                ),
                "responses": {
                    "200": {"description": "OK", "content": {"application/json": {"schema": ref}}},
                    "4XX": error,
                },
            }
        else:
            item = base + "/{item_id}"
            paths.setdefault(
                item,
                {
                    "parameters": [
                        {"$ref": "#/components/parameters/GuildId"},
                        {
                            "name": "item_id",
                            "in": "path",
                            "required": True,
                            "schema": {"$ref": "#/components/schemas/Snowflake"},
                        },
                    ]
                },
            )
            paths[item]["patch" if index % 3 else "delete"] = {
                "operationId": f"op{index}",
                "requestBody": {"content": {"application/json": {"schema": ref}}},
                "responses": {
                    "200": {"description": "OK", "content": {"application/json": {"schema": ref}}},
                    "4XX": error,
                },
            }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Big API", "version": "10"},
        "servers": [{"url": "https://big.example.com/api/v10"}],
        "security": [{"BotToken": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "BotToken": {"type": "apiKey", "in": "header", "name": "Authorization"}
            },
            "parameters": {
                "GuildId": {
                    "name": "guild_id",
                    "in": "path",
                    "required": True,
                    "schema": {"$ref": "#/components/schemas/Snowflake"},
                },
                "Limit": {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                },
            },
            "responses": {
                "ClientError": {
                    "description": "Client error",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
            },
        },
    }


def write_big_spec(
    path: Path, operations: int = 1600, schemas: int = 700, tiers: int | None = 4
) -> Path:
    """Write :func:`big_spec` as JSON to ``path`` (returned)."""
    document = big_spec(operations, schemas, tiers=tiers)
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


if __name__ == "__main__":
    out = write_big_spec(Path("/tmp/bigspec.json"))
    print(out, out.stat().st_size)
