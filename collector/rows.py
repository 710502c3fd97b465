"""Spans -> rows of the `spans` table, one Arrow table per batch.

Known attributes (the span contract and its legacy aliases) travel as one Arrow struct column
built in C++ from the attribute dicts; the insert SQL (collector/exporter.py) picks the first
present alias for each typed column. Caller tags become a map; every other attribute is kept,
as JSON, in `attributes`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa
from opentelemetry.sdk.trace import ReadableSpan

TAG_PREFIX = "mmoa.tag."
_STR, _INT, _F64, _BOOL, _STRS = (
    pa.string(),
    pa.int64(),
    pa.float64(),
    pa.bool_(),
    pa.list_(pa.string()),
)

# column -> (arrow type, attribute keys: the current name first, legacy aliases after)
TYPED: dict[str, tuple[pa.DataType, tuple[str, ...]]] = {
    "operation": (_STR, ("gen_ai.operation.name",)),
    "provider": (_STR, ("gen_ai.provider.name", "gen_ai.system")),
    "request_model": (_STR, ("gen_ai.request.model",)),
    "response_model": (_STR, ("gen_ai.response.model",)),
    "response_id": (_STR, ("gen_ai.response.id",)),
    "finish_reasons": (_STRS, ("gen_ai.response.finish_reasons",)),
    "input_tokens": (_INT, ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")),
    "output_tokens": (_INT, ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")),
    "cache_read_tokens": (
        _INT,
        ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens"),
    ),
    "cache_write_tokens": (
        _INT,
        ("gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens"),
    ),
    "reasoning_tokens": (_INT, ("gen_ai.usage.reasoning.output_tokens",)),
    "server_address": (_STR, ("server.address",)),
    "server_port": (_INT, ("server.port",)),
    "error_type": (_STR, ("error.type",)),
    "cost_usd": (_STR, ("mmoa.cost.usd",)),
    "request_id": (_STR, ("mmoa.request.id",)),
    "category": (_STR, ("mmoa.task.category",)),
    "complexity": (_STR, ("mmoa.task.complexity",)),
    "confidence": (_F64, ("mmoa.task.confidence",)),
    "task_reason": (_STR, ("mmoa.task.reason",)),
    "strategy": (_STR, ("mmoa.route.strategy",)),
    "route_model": (_STR, ("mmoa.route.model",)),
    "route_reason": (_STR, ("mmoa.route.reason",)),
    "candidates": (_STRS, ("mmoa.route.candidates",)),
    "attempts": (_INT, ("mmoa.route.attempts",)),
    "route_status": (_STR, ("mmoa.route.status",)),
    "policy_version": (_INT, ("mmoa.policy.version",)),
    "baseline_model": (_STR, ("mmoa.baseline.model",)),
    "baseline_cost_usd": (_STR, ("mmoa.cost.baseline_usd",)),
    "cache_hit": (_BOOL, ("mmoa.cache.hit",)),
    "simulated": (_BOOL, ("mmoa.simulated",)),
    "image_count": (_INT, ("mmoa.images.count",)),
    "escalations": (_INT, ("mmoa.route.escalations",)),
    "agreement": (_F64, ("mmoa.ensemble.agreement",)),
    "role": (_STR, ("mmoa.role",)),
    "judge_confidence": (_F64, ("mmoa.judge.confidence",)),
    "attempt_role": (_STR, ("mmoa.attempt.role",)),
}
_KEY_TYPES: dict[str, pa.DataType] = {k: t for t, keys in TYPED.values() for k in keys}
KNOWN = frozenset(_KEY_TYPES)
ATTRS = pa.struct(list(_KEY_TYPES.items()))

SCHEMA = pa.schema(
    [
        ("trace_id", _STR),
        ("span_id", _STR),
        ("parent_span_id", _STR),
        ("name", _STR),
        ("kind", _STR),
        ("start_ns", _INT),
        ("end_ns", _INT),
        ("status_code", _STR),
        ("status_message", _STR),
        ("source", _STR),
        ("a", ATTRS),
        ("tags", pa.map_(_STR, _STR)),
        ("attributes", _STR),
        ("resource", _STR),
    ]
)


def _plain(span: ReadableSpan) -> Mapping[str, Any]:
    # An ended SDK span's attributes are an immutable BoundedAttributes whose reads go through
    # several Python layers; its backing dict is read directly, and any other ReadableSpan
    # falls back to the public mapping.
    backing = getattr(getattr(span, "_attributes", None), "_dict", None)
    return backing if isinstance(backing, dict) else dict(span.attributes or {})


def _rest(attrs: Mapping[str, Any]) -> tuple[list[tuple[str, str]], str | None]:
    """(tags, JSON of the attributes no typed column holds)."""
    unknown = attrs.keys() - KNOWN
    if not unknown:
        return [], None
    tags: list[tuple[str, str]] = []
    extra: dict[str, Any] = {}
    for key in sorted(unknown):
        value = attrs[key]
        if key.startswith(TAG_PREFIX):
            tags.append((key[len(TAG_PREFIX) :], str(value)))
        else:
            extra[key] = list(value) if isinstance(value, tuple) else value
    return tags, (json.dumps(extra) if extra else None)


def _fits(value: Any, kind: pa.DataType) -> bool:
    if kind == _STR:
        return isinstance(value, str)
    if kind == _BOOL:
        return isinstance(value, bool)
    if kind == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == _F64:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)


def _struct(attrs: list[Mapping[str, Any]]) -> tuple[pa.Array, bool]:
    """The known attributes as one struct array; True when some values had to be set aside."""
    try:
        return pa.array(attrs, type=ATTRS), False
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        # a client sent a known key with an unexpected type: only well-typed values go to the
        # typed columns; the others are kept in `attributes` (see _with_mistyped)
        clean = [
            {k: v for k, v in a.items() if k in KNOWN and _fits(v, _KEY_TYPES[k])} for a in attrs
        ]
        return pa.array(clean, type=ATTRS), True


def _with_mistyped(extra_json: str | None, attrs: Mapping[str, Any]) -> str | None:
    """`attributes` JSON plus the known keys whose values did not have the contract's type."""
    bad = {k: v for k, v in attrs.items() if k in KNOWN and not _fits(v, _KEY_TYPES[k])}
    if not bad:
        return extra_json
    merged = json.loads(extra_json) if extra_json else {}
    merged.update({k: list(v) if isinstance(v, tuple) else v for k, v in bad.items()})
    return json.dumps(merged, default=str)


def source_name(scope_name: str) -> str:
    """`source` of a span: "mmoa" for our own scopes, else the instrumentation's scope name."""
    return "mmoa" if scope_name.startswith("mmoa") else (scope_name or "unknown")


def _source(span: ReadableSpan) -> str:
    scope = span.instrumentation_scope
    return source_name(scope.name if scope is not None else "")


def attribute_columns(
    attrs: list[Mapping[str, Any]],
) -> tuple[pa.Array, list[list[tuple[str, str]]], list[str | None]]:
    """The `a` struct, `tags` and `attributes` columns for spans with these attribute dicts."""
    struct, cleaned = _struct(attrs)
    rest = [_rest(a) for a in attrs]
    extras = [r[1] for r in rest]
    if cleaned:
        extras = [_with_mistyped(e, a) for e, a in zip(extras, attrs, strict=True)]
    return struct, [r[0] for r in rest], extras


def to_table(spans: Sequence[ReadableSpan]) -> pa.Table:
    """One Arrow table with a row per span, in SCHEMA's column order."""
    attrs = [_plain(s) for s in spans]
    struct, tags, extras = attribute_columns(attrs)
    contexts = [s.context for s in spans]
    if any(c is None for c in contexts):
        raise ValueError("a span without a span context cannot be stored")
    resources: dict[int, str | None] = {}
    for s in spans:
        if id(s.resource) not in resources:
            res = s.resource
            resources[id(res)] = json.dumps(dict(res.attributes), default=str) if res else None
    cols: list[list[Any] | pa.Array] = [
        [format(c.trace_id, "032x") for c in contexts if c is not None],
        [format(c.span_id, "016x") for c in contexts if c is not None],
        [format(s.parent.span_id, "016x") if s.parent else None for s in spans],
        [s.name for s in spans],
        [s.kind.name for s in spans],
        [s.start_time or 0 for s in spans],
        [s.end_time or s.start_time or 0 for s in spans],
        [s.status.status_code.name for s in spans],
        [s.status.description for s in spans],
        [_source(s) for s in spans],
        struct,
        tags,
        extras,
        [resources[id(s.resource)] for s in spans],
    ]
    return pa.table(cols, schema=SCHEMA)
