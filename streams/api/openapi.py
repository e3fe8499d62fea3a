"""The HTTP API described as OpenAPI 3.1, served at ``GET /openapi.json`` and kept in ``docs/openapi.json``.

The post and silence bodies come from the models that validate them
(pydantic's JSON schema), so the description cannot drift from the checks;
``tests/test_openapi.py`` keeps ``docs/openapi.json`` equal to :func:`spec`
and fuzzes a running worker with schemathesis against it. Regenerate the
file with ``python -m streams.api.openapi > docs/openapi.json``.
"""

from __future__ import annotations

import json
from typing import Any

from faust.web import Request, Response, View
from pydantic import TypeAdapter

from ..core.policy import MATCH_KEYS
from ..core.records import Post
from ..core.silences import Silence
from ..core.vocabulary import LABELS
from ..runtime import Runtime

__all__ = ["register", "spec"]

REF = "#/components/schemas/{model}"
ERROR = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        answer["headers"] = headers
    return answer


def _error(description: str, retry_after: bool = False) -> dict[str, Any]:
    headers = {"Retry-After": {"schema": {"type": "string"}, "description": "seconds to wait"}} if retry_after else None
    return _json({"$ref": REF.format(model="Error")}, description, headers)


UNAUTHORISED = {"401": _error("no or wrong bearer token (POT_API_TOKEN)")}


def spec() -> dict[str, Any]:
    """The OpenAPI document (a plain dict, JSON-ready)."""
    post = TypeAdapter(Post).json_schema(ref_template=REF)
    silence = TypeAdapter(Silence).json_schema(ref_template=REF, mode="serialization")
    schemas: dict[str, Any] = {**post.pop("$defs", {}), **silence.pop("$defs", {})}
    schemas.update(
        Post=post, Silence=silence, Error=ERROR,
        Rejection={"type": "object", "properties": {
            "index": {"type": ["integer", "null"]}, "code": {"type": "string"}, "reason": {"type": "string"}}},
        Correction={"type": "object", "required": ["text", "right_label"], "properties": {
            "text": {"type": "string", "minLength": 1}, "right_label": {"enum": list(LABELS)},
            **{name: {"type": "string"} for name in ("post_key", "alert_id", "wrong_label", "lang", "actor")}}},
        NewSilence={"type": "object", "required": ["matchers", "created_by"], "additionalProperties": False, "properties": {
            "matchers": {"type": "object", "minProperties": 1, "propertyNames": {"enum": list(MATCH_KEYS)},
                         "additionalProperties": {"type": "array", "minItems": 1,
                                                  "items": {"type": "string", "pattern": "\\S"}}},
            "duration_s": {"type": "number", "exclusiveMinimum": 0}, "starts_at": {"type": "number"},
            "ends_at": {"type": "number"}, "created_by": {"type": "string", "minLength": 1, "maxLength": 200},
            "comment": {"type": "string", "maxLength": 2000}},
            "description": "give duration_s, or ends_at after starts_at (default: now)"},
    )
    posts_body = {"oneOf": [{"$ref": REF.format(model="Post")},
                            {"type": "array", "minItems": 1, "items": {"$ref": REF.format(model="Post")}}]}
    batch = {"type": "object", "properties": {
        "accepted": {"type": "array", "items": {"type": "string"}},
        "rejected": {"type": "array", "items": {"$ref": REF.format(model="Rejection")}}}}
    bearer = [{"bearer": []}]
    anything = {"type": "object"}
    paths: dict[str, Any] = {
        "/posts": {"post": {
            "summary": "Publish posts: all valid ones once the broker confirmed them, or none", "security": bearer,
            "requestBody": {"required": True, "content": {"application/json": {"schema": posts_body}}},
            "responses": {"202": _json(batch, "published"), "400": _json(batch, "rejected (each reason listed)"),
                          "413": _json(batch, "too large"), **UNAUTHORISED,
                          "429": _error("over the request rate (POT_HTTP_RATE_PER_S)", retry_after=True),
                          "503": _error("the broker did not confirm in time", retry_after=True)}}},
        "/corrections": {"post": {
            "summary": "A person's correction of a label", "security": bearer,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": REF.format(model="Correction")}}}},
            "responses": {"202": _json(anything, "accepted"), "400": _error("invalid correction"),
                          "413": _error("too large"), **UNAUTHORISED}}},
        "/healthz": {"get": {"summary": "The process is up", "responses": {"200": _json(anything, "up")}}},
        "/readyz": {"get": {"summary": "Started (tables recovered), partitions assigned, broker and topics there", "responses": {
            "200": _json(anything, "ready"), "503": _json(anything, "not ready, with the problems")}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {
            "200": {"description": "text exposition format", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        "/openapi.json": {"get": {"summary": "This description", "responses": {"200": _json(anything, "OpenAPI 3.1")}}},
        "/alerts": {"get": {
            "summary": "Every alert with time left, whichever worker answers (?scope=local: this worker's partitions)",
            "security": bearer,
            "parameters": [{"name": "state", "in": "query", "required": False,
                            "schema": {"enum": ["open", "acknowledged", "resolved"]}},
                           {"name": "scope", "in": "query", "required": False, "schema": {"enum": ["local"]}}],
            "responses": {"200": _json(anything, "alerts"), "400": _error("unknown state"), **UNAUTHORISED}}},
        "/alerts/{alert_id}/{verb}": {"post": {
            "summary": "Acknowledge or resolve an alert", "security": bearer,
            "parameters": [{"name": "alert_id", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "verb", "in": "path", "required": True, "schema": {"enum": ["ack", "resolve"]}}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["actor"],
                "properties": {"actor": {"type": "string", "minLength": 1, "maxLength": 200}}}}}},
            "responses": {"200": _json(anything, "done, or already acknowledged"), "202": _json(anything, "sent on"),
                          "400": _error("unusable body"), **UNAUTHORISED, "404": _json(anything, "unknown alert or verb"),
                          "409": _json(anything, "already resolved")}}},
        "/silences": {
            "get": {"summary": "Silences (active and future; ?all=1 for expired too)", "security": bearer,
                    "parameters": [{"name": "all", "in": "query", "required": False, "schema": {"enum": ["1", "true"]}}],
                    "responses": {"200": _json(anything, "silences"), **UNAUTHORISED}},
            "post": {"summary": "Add a silence", "security": bearer,
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": REF.format(model="NewSilence")}}}},
                     "responses": {"201": _json(anything, "created"), "400": _error("invalid silence"),
                                   "413": _error("over 16 KiB"), **UNAUTHORISED}}},
        "/silences/{silence_id}": {"delete": {
            "summary": "Expire a silence now", "security": bearer,
            "parameters": [{"name": "silence_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _json(anything, "expired"), **UNAUTHORISED, "404": _error("no such silence")}}},
        "/ingest/{format}": {
            "get": {"summary": "The Meta webhook verification handshake (facebook, instagram)",
                    "parameters": [{"name": "format", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "hub.challenge back", "content": {"text/plain": {"schema": {"type": "string"}}}},
                                  "400": {"description": "no hub.challenge", "content": {"text/plain": {"schema": {"type": "string"}}}},
                                  "403": {"description": "wrong verify token", "content": {"text/plain": {"schema": {"type": "string"}}}},
                                  "405": _error("not a Meta format: send payloads with POST"),
                                  "429": _error("over the request rate (POT_HTTP_RATE_PER_S)", retry_after=True)}},
            "post": {"summary": "A platform's native payload, mapped to posts (bearer token; Meta formats: signed)",
                     "security": bearer,
                     "parameters": [{"name": "format", "in": "path", "required": True, "schema": {"type": "string"}}],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {}}}},
                     "responses": {"200": _json(anything, "Meta delivery taken"), "202": _json(anything, "mapped and published"),
                                   "400": _json(anything, "nothing in it mapped"), **UNAUTHORISED,
                                   "404": _error("unknown format"),
                                   "413": _json(anything, "too large: the body, or each post it made (POT_MAX_POST_BYTES)"),
                                   "429": _error("over the request rate (POT_HTTP_RATE_PER_S)", retry_after=True),
                                   "503": _error("the broker did not confirm in time, or Meta secret unset", retry_after=False)}}},
        "/slack/interactions": {"post": {
            "summary": "Slack button clicks, signed with the app's signing secret",
            "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                "type": "object", "properties": {"payload": {"type": "string"}}}}}},
            "responses": {"200": _json(anything, "handled"), "400": _error("unusable payload"),
                          "401": _error("bad or old signature"), "404": _error("Slack interactions are not configured"),
                          "413": _error("too large")}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "points-of-truth worker API", "version": "1",
                 "description": "Posts in, the desk (alerts, silences), health and metrics. See the README."},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def register(rt: Runtime) -> None:
    document = spec()

    class OpenApi(View):
        async def get(self, request: Request) -> Response:
            return self.json(document)

    rt.app.page("/openapi.json")(OpenApi)


if __name__ == "__main__":
    print(json.dumps(spec(), indent=2, ensure_ascii=False))
