"""OpenAPI documents: loading, the operation model, and routing."""

from mockserver.openapi.loader import bundled_spec_paths, load_spec
from mockserver.openapi.routing import Match, Router
from mockserver.openapi.spec import ApiSettings, Operation, Parameter, ResponseDef, Spec

__all__ = [
    "ApiSettings",
    "Match",
    "Operation",
    "Parameter",
    "ResponseDef",
    "Router",
    "Spec",
    "bundled_spec_paths",
    "load_spec",
]
