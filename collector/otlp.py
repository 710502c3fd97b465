"""OTLP/HTTP trace requests -> rows of the `spans` table (one Arrow table per request).

`decode` turns the body of a `POST /v1/traces` (protobuf or OTLP JSON, optionally gzipped) into
a table with exactly `collector.rows.SCHEMA`, the table `collector.rows.to_table` builds from SDK
spans, so `collector.exporter.insert_table` stores spans from either path identically: the same
ids, kind and status names, typed columns (legacy `gen_ai.*` aliases included), tags and
`attributes` JSON. Span events and links are not stored, as in the in-process path.

Every problem with the request raises `DecodeError` (a one-line reason, safe to return to the
client with a 400); an unsupported content type or content coding raises `UnsupportedMediaType`
(415). Nothing else escapes for any body.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pyarrow as pa
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.message import DecodeError as _ProtobufDecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from collector.rows import SCHEMA, attribute_columns, source_name

MAX_BODY_BYTES: int = 16 * 1024 * 1024
"""Largest body accepted, as received and again after decompression."""

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

_CHUNK = 1024 * 1024
_DOUBLE = struct.Struct("<d")
_INT64_MAX = 2**63 - 1
_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)
# OTLP Span.SpanKind numbers -> the SDK's SpanKind names; UNSPECIFIED (0) and numbers this
# version does not know are INTERNAL, which the OTLP spec allows receivers to assume.
_KINDS = ("INTERNAL", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
# OTLP Status.StatusCode numbers -> the SDK's StatusCode names; unknown numbers are UNSET.
_STATUS = ("UNSET", "OK", "ERROR")
_SCALARS = frozenset(("string_value", "int_value", "double_value", "bool_value"))
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")
# where OTLP JSON carries ids (hex there, base64 in protobuf's canonical JSON mapping)
_ID_KEYS = ("traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id")


def _shadow_request() -> Any:
    """A message class for ExportTraceServiceRequest that reads span attributes fast.

    It is the OTLP request field for field, except that `Span.attributes` (repeated KeyValue)
    is declared `repeated bytes`: the same length-delimited bytes on the wire, but upb hands
    each attribute over as one bytes object made in C, and equal attributes (the same key and
    value) share one decode per request (see _Attributes). Everything else, events and links
    included, keeps its OTLP type, so the body is validated as strictly as by the real class;
    each attribute is validated when it is decoded.
    """
    pool = descriptor_pool.DescriptorPool()
    for module in (common_pb2, resource_pb2, trace_pb2):
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        pool.Add(proto)
    shadow = descriptor_pb2.FileDescriptorProto(
        name="mmoa/collector/otlp_shadow.proto",
        package="mmoa.otlp",
        syntax="proto3",
        dependency=[m.DESCRIPTOR.name for m in (common_pb2, resource_pb2, trace_pb2)],
    )
    for name, original, field, type_name in (
        ("Request", ExportTraceServiceRequest, "resource_spans", "ResourceSpans"),
        ("ResourceSpans", trace_pb2.ResourceSpans, "scope_spans", "ScopeSpans"),
        ("ScopeSpans", trace_pb2.ScopeSpans, "spans", "Span"),
        ("Span", trace_pb2.Span, "attributes", None),
    ):
        message = shadow.message_type.add()
        original.DESCRIPTOR.CopyToProto(message)
        message.name = name
        del message.nested_type[:]  # nested types stay referenced by their full OTLP names
        del message.enum_type[:]
        (target,) = (f for f in message.field if f.name == field)
        if type_name is None:
            target.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
            target.ClearField("type_name")
        else:
            target.type_name = f".mmoa.otlp.{type_name}"
    pool.Add(shadow)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("mmoa.otlp.Request"))


_Request = _shadow_request()


class DecodeError(ValueError):
    """The request cannot be decoded; the message is a one-line reason for the client (400)."""


class UnsupportedMediaType(DecodeError):
    """A content type or content coding this receiver does not accept (415)."""


Pricer = Callable[[Mapping[str, Any]], str | None]


def decode(
    body: bytes,
    content_type: str,
    content_encoding: str | None = None,
    pricer: Pricer | None = None,
) -> pa.Table:
    """The spans of one OTLP/HTTP trace export request, one row per span, in rows.SCHEMA.

    `pricer` prices GenAI spans that arrive without mmoa's exact cost (other apps'
    instrumentations): its answer is stored as `mmoa.cost.usd` (collector/pricing.py).

    `content_type` is the request's Content-Type (parameters such as charset are ignored):
    application/x-protobuf or application/json. `content_encoding` is its Content-Encoding:
    None, "identity" or "gzip".
    """
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in (PROTOBUF, JSON):
        raise UnsupportedMediaType(
            f"unsupported content type {content_type[:100]!r}; send {PROTOBUF} or {JSON}"
        )
    if len(body) > MAX_BODY_BYTES:
        raise DecodeError(f"body over {MAX_BODY_BYTES} bytes")
    body = _decompress(body, content_encoding)
    request = _parse_protobuf(body) if media == PROTOBUF else _parse_json(body)
    return _table(request, pricer)


def _decompress(body: bytes, content_encoding: str | None) -> bytes:
    """The body without its content coding, never inflating more than MAX_BODY_BYTES."""
    coding = (content_encoding or "identity").strip().lower()
    if coding == "identity":
        return body
    if coding not in ("gzip", "x-gzip"):
        raise UnsupportedMediaType(
            f"unsupported content encoding {content_encoding[:100]!r}; send gzip or none"
            if content_encoding
            else "unsupported content encoding"
        )
    out = bytearray()
    data = body
    try:
        while True:  # one pass per gzip member (RFC 1952 allows several)
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            while not inflater.eof:
                chunk = inflater.decompress(data, min(_CHUNK, MAX_BODY_BYTES - len(out) + 1))
                out += chunk
                if len(out) > MAX_BODY_BYTES:
                    raise DecodeError(f"body over {MAX_BODY_BYTES} bytes after decompression")
                data = inflater.unconsumed_tail
                if not chunk and not data:
                    raise DecodeError("malformed gzip: truncated")
            data = inflater.unused_data
            if not data.strip(b"\0"):  # trailing zero padding is tolerated, as gzip(1) does
                return bytes(out)
    except zlib.error as exc:
        raise DecodeError(f"malformed gzip: {_line(exc)}") from None


def _parse_protobuf(body: bytes) -> Any:
    try:
        return _Request.FromString(body)
    except (_ProtobufDecodeError, RecursionError, ValueError) as exc:
        raise DecodeError(f"malformed protobuf: {_line(exc)}") from None


def _parse_json(body: bytes) -> Any:
    """OTLP JSON: protobuf's JSON mapping, except that trace and span ids are hex."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise DecodeError(f"malformed JSON: {_line(exc)}") from None
    if not isinstance(doc, dict):
        raise DecodeError("malformed JSON: the request must be an object")
    for holder in _id_holders(doc):
        for key in _ID_KEYS:
            value = holder.get(key)
            if isinstance(value, str):
                if _HEX.fullmatch(value) is None:
                    raise DecodeError(f"malformed JSON: {key} {value[:40]!r} is not hex")
                holder[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
    request = ExportTraceServiceRequest()
    try:
        # OTLP receivers must ignore unknown fields; enums may be names or numbers
        json_format.ParseDict(doc, request, ignore_unknown_fields=True)
        wire = request.SerializeToString()
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise DecodeError(f"malformed JSON: {_line(exc)}") from None
    return _parse_protobuf(wire)


def _id_holders(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The spans and span links of an OTLP JSON request (wrongly typed parts are skipped)."""
    for rs in _objects(doc, "resourceSpans", "resource_spans"):
        for ss in _objects(rs, "scopeSpans", "scope_spans"):
            for span in _objects(ss, "spans"):
                yield span
                yield from _objects(span, "links")


def _objects(parent: dict[str, Any], *keys: str) -> Iterator[dict[str, Any]]:
    for key in keys:
        items = parent.get(key)
        if isinstance(items, list):
            yield from (item for item in items if isinstance(item, dict))


def _line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def _value(v: Any) -> Any:
    """An OTLP AnyValue message as the Python value the SDK would hold (None: no value)."""
    which = v.WhichOneof("value")
    if which in _SCALARS:
        return getattr(v, which)
    if which == "array_value":
        return tuple(_value(x) for x in v.array_value.values)
    if which == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in v.kvlist_value.values}
    if which == "bytes_value":
        return base64.b64encode(v.bytes_value).decode("ascii")  # as OTLP JSON writes bytes
    return None  # empty, or string_value_strindex (profiles only, meaningless here)


def _decode_value(raw: bytes) -> Any:
    """A serialized AnyValue as _value would return it; common scalars without protobuf."""
    n = len(raw)
    if n >= 2:
        tag = raw[0]
        if tag == 0x0A:  # string_value as the only field, length in one byte
            if raw[1] == n - 2 and n < 130:
                try:
                    return raw[2:].decode()
                except UnicodeDecodeError:
                    raise DecodeError("malformed protobuf: a string is not UTF-8") from None
        elif tag == 0x18:  # int_value 0..16383
            if n == 2 and raw[1] < 0x80:
                return raw[1]
            if n == 3 and raw[1] >= 0x80 and raw[2] < 0x80:
                return (raw[1] & 0x7F) | (raw[2] << 7)
        elif tag == 0x10:  # bool_value
            if n == 2 and raw[1] < 2:
                return raw[1] == 1
        elif tag == 0x21 and n == 9:  # double_value
            return _DOUBLE.unpack_from(raw, 1)[0]
    try:
        message = common_pb2.AnyValue.FromString(raw)
    except (_ProtobufDecodeError, RecursionError, ValueError) as exc:
        raise DecodeError(f"malformed protobuf: {_line(exc)}") from None
    return _value(message)


class _Attributes(dict[bytes, tuple[str, Any]]):
    """Serialized KeyValue -> (key, value), each distinct attribute decoded once per request."""

    empty = False  # whether some attribute had no value (an empty AnyValue)

    def __missing__(self, raw: bytes) -> tuple[str, Any]:
        pair = self[raw] = _decode_attribute(raw)
        if pair[1] is None:
            self.empty = True
        return pair


def _decode_attribute(raw: bytes) -> tuple[str, Any]:
    """A serialized KeyValue as (key, value); short strings and ints without protobuf."""
    # The common shape: key = 1 then value = 2, each length in one byte, the value holding a
    # string (tag 0x0A, length in one byte) or an int (tag 0x18, varint of up to 4 bytes).
    n = len(raw)
    if n >= 6 and raw[0] == 0x0A and raw[1] < 0x80:
        k = raw[1] + 2  # where the value field starts
        if k + 3 < n and raw[k] == 0x12 and raw[k + 1] == n - k - 2 and n - k < 130:
            try:
                key = raw[2:k].decode()
                tag = raw[k + 2]
                if tag == 0x0A and raw[k + 3] == n - k - 4:
                    return key, raw[k + 4 :].decode()
            except UnicodeDecodeError:
                raise DecodeError("malformed protobuf: a string is not UTF-8") from None
            if tag == 0x18 and n - k <= 7:
                value, shift = 0, 0
                for byte in raw[k + 3 : -1]:
                    if byte < 0x80:
                        break
                    value |= (byte & 0x7F) << shift
                    shift += 7
                else:
                    if raw[-1] < 0x80:
                        return key, value | raw[-1] << shift
            return key, _decode_value(raw[k + 2 :])
    try:
        message = common_pb2.KeyValue.FromString(raw)
    except (_ProtobufDecodeError, RecursionError, ValueError) as exc:
        raise DecodeError(f"malformed protobuf: {_line(exc)}") from None
    return message.key, _value(message.value)


def _resource(kvs: Any) -> str:
    """The resource attributes as JSON, as collector.rows writes them."""
    attrs = {kv.key: _value(kv.value) for kv in kvs}
    return json.dumps({k: v for k, v in attrs.items() if v is not None}, default=str)


def _table(request: Any, pricer: Pricer | None = None) -> pa.Table:
    """The rows of a parsed (shadow) request, in rows.SCHEMA."""
    trace_ids: list[str] = []
    span_ids: list[str] = []
    parents: list[str | None] = []
    names: list[str] = []
    kinds: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    codes: list[str] = []
    messages: list[str | None] = []
    sources: list[str] = []
    attrs: list[Mapping[str, Any]] = []
    resources: list[str] = []
    pairs = _Attributes()
    pair_of = pairs.__getitem__
    for rs in request.resource_spans:
        resource = _resource(rs.resource.attributes)
        for ss in rs.scope_spans:
            source = source_name(ss.scope.name)
            for span in ss.spans:
                trace_id, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
                if len(trace_id) != 16 or trace_id == _ZERO_TRACE:
                    raise DecodeError("a span's trace_id must be 16 bytes, not all zero")
                if len(span_id) != 8 or span_id == _ZERO_SPAN:
                    raise DecodeError("a span's span_id must be 8 bytes, not all zero")
                if parent and len(parent) != 8:
                    raise DecodeError("a span's parent_span_id must be 8 bytes or empty")
                trace_ids.append(trace_id.hex())
                span_ids.append(span_id.hex())
                parents.append(parent.hex() if parent else None)
                names.append(span.name)
                kind = span.kind
                kinds.append(_KINDS[kind] if 0 <= kind < 6 else "INTERNAL")
                start = span.start_time_unix_nano
                starts.append(start)
                ends.append(span.end_time_unix_nano or start)
                status = span.status
                code = status.code
                codes.append(_STATUS[code] if 0 <= code < 3 else "UNSET")
                messages.append(status.message or None)
                sources.append(source)
                attrs.append(dict(map(pair_of, span.attributes)))
                resources.append(resource)
    if pairs.empty:  # an empty AnyValue is no value, as the SDK never stores None
        attrs = [{k: v for k, v in a.items() if v is not None} for a in attrs]
    if pricer is not None:
        attrs = [_priced(a, pricer) for a in attrs]
    if starts and max(max(starts), max(ends)) > _INT64_MAX:
        raise DecodeError("a span's time is past the int64 nanosecond range")
    try:
        struct_array, tags, extras = attribute_columns(attrs)
        cols: list[list[Any] | pa.Array] = [
            trace_ids,
            span_ids,
            parents,
            names,
            kinds,
            starts,
            ends,
            codes,
            messages,
            sources,
            struct_array,
            tags,
            extras,
            resources,
        ]
        return pa.table(cols, schema=SCHEMA)
    except (pa.ArrowException, UnicodeError, OverflowError, TypeError, ValueError) as exc:
        # only reachable with values protobuf accepts but Arrow or JSON cannot hold
        raise DecodeError(f"unstorable span data: {_line(exc)}") from None


def _priced(attrs: Mapping[str, Any], pricer: Pricer) -> Mapping[str, Any]:
    price = pricer(attrs)
    if price is None:
        return attrs
    return {**attrs, "mmoa.cost.usd": price, "mmoa.cost.priced_at": "ingest"}
