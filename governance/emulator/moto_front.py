"""A translating front for moto server: CloudWatch Smithy RPC v2 CBOR <-> awsJson 1.0.

Test and demo code only. Current ``aws-sdk-cloudwatch`` releases (>= 1.100) speak Smithy RPC v2
CBOR (``POST /service/GraniteServiceVersion20100801/operation/<Op>``, ``application/cbor``),
which moto 5.2.5 does not route. This module runs moto's own WSGI application in-process and
puts a thin WSGI layer in front of it:

* CloudWatch RPCv2-CBOR requests are decoded (gunzipped first when ``Content-Encoding: gzip``),
  converted to an awsJson 1.0 document using the operation's input shape from botocore's
  ``cloudwatch`` model, and handed to moto as
  ``X-Amz-Target: GraniteServiceVersion20100801.<Op>``. moto's JSON answer is converted back to
  CBOR using the operation's output shape (timestamps as CBOR tag 1 with float epoch seconds,
  blobs as byte strings, integers and doubles per shape, nulls dropped).
* moto's errors become rpcv2Cbor errors: a CBOR map with ``__type`` (the awsQuery-compatible
  code the SDK matches on, e.g. ``ResourceNotFound``) and ``message``, plus the
  ``x-amzn-query-error: <code>;Sender`` header, with moto's HTTP status. Operations moto does
  not implement answer HTTP 501 with ``__type: NotImplemented`` naming the operation.
* X-Ray ``GetTraceSummaries``: moto answers ``"Users": {}`` where the model says list; the
  front rewrites it to ``[]`` so aws-sdk-xray can parse it.
* ``GET /__front/health`` answers ``200 ok``.
* Everything else passes through to moto untouched.

Run: ``python moto_front.py --host 127.0.0.1 --port PORT`` (``--port 0`` picks a free port;
``--quiet`` drops the per-request log lines on stderr; ``--exit-on-stdin-eof`` stops the server
when its standard input closes). Once listening it prints one line to stdout::

    moto_front listening on http://127.0.0.1:PORT
"""

from __future__ import annotations

import argparse
import base64
import datetime
import gzip
import io
import json
import logging
import math
import os
import re
import signal
import struct
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from typing import Any

import cbor2
from botocore.loaders import Loader
from botocore.model import ServiceModel, Shape
from botocore.utils import parse_timestamp

LOG = logging.getLogger("moto_front")

CLOUDWATCH_TARGET_PREFIX = "GraniteServiceVersion20100801"
CBOR_PATH = re.compile(r"^(?:/.*)?/service/(?P<service>[^/]+)/operation/(?P<operation>[^/]+)/?$")
HEALTH_PATH = "/__front/health"
XRAY_TRACE_SUMMARIES_PATH = "/TraceSummaries"
CBOR_CONTENT_TYPE = "application/cbor"
SMITHY_PROTOCOL = "rpc-v2-cbor"
JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
# Used only when a request carries no SigV4 header (e.g. hand-built tests): moto picks the
# backend (monitoring) and the region from the credential scope.
DEFAULT_AUTHORIZATION = (
    "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/monitoring/aws4_request, "
    "SignedHeaders=host, Signature=0"
)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class FrontError(Exception):
    """An error answered to the client as an rpcv2Cbor error document."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


# ---------------------------------------------------------------------------------------------
# Shape-driven conversion
# ---------------------------------------------------------------------------------------------


def _epoch_seconds(value: Any) -> float:
    """Epoch seconds (float) from whatever a timestamp arrived as."""
    if isinstance(value, cbor2.CBORTag) and value.tag == 1:
        value = value.value
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.timestamp()
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            parsed = parse_timestamp(value)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=datetime.timezone.utc)
            return parsed.timestamp()
    raise ValueError(f"not a timestamp: {value!r}")


def _json_number(seconds: float) -> int | float:
    """Epoch seconds for awsJson: an integer when whole, else a float."""
    return int(seconds) if seconds.is_integer() else seconds


def _generic_to_json(value: Any) -> Any:
    """JSON-able form of a CBOR value for which the model gives no shape."""
    if value is None or value is cbor2.undefined:
        return None
    if isinstance(value, datetime.datetime) or (
        isinstance(value, cbor2.CBORTag) and value.tag == 1
    ):
        return _json_number(_epoch_seconds(value))
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {
            str(k): _generic_to_json(v)
            for k, v in value.items()
            if v is not None and v is not cbor2.undefined
        }
    if isinstance(value, (list, tuple)):
        return [_generic_to_json(v) for v in value]
    if isinstance(value, cbor2.CBORTag):
        return _generic_to_json(value.value)
    return value


def cbor_to_json(value: Any, shape: Shape | None) -> Any:
    """Convert a decoded CBOR value to its awsJson 1.0 form, guided by ``shape``."""
    if value is None or value is cbor2.undefined:
        return None
    if shape is None:
        return _generic_to_json(value)
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise ValueError(f"{shape.name}: expected a map, got {type(value).__name__}")
        members = shape.members
        out: dict[str, Any] = {}
        for key, item in value.items():
            converted = cbor_to_json(item, members.get(key))
            if converted is not None:
                out[key] = converted
        return out
    if kind == "list":
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{shape.name}: expected an array, got {type(value).__name__}")
        return [cbor_to_json(item, shape.member) for item in value]
    if kind == "map":
        if not isinstance(value, dict):
            raise ValueError(f"{shape.name}: expected a map, got {type(value).__name__}")
        return {
            str(k): cbor_to_json(v, shape.value)
            for k, v in value.items()
            if v is not None and v is not cbor2.undefined
        }
    if kind == "timestamp":
        return _json_number(_epoch_seconds(value))
    if kind == "blob":
        if isinstance(value, (bytes, bytearray)):
            return base64.b64encode(bytes(value)).decode("ascii")
        return value
    return _generic_to_json(value)


def json_to_cbor(value: Any, shape: Shape | None) -> Any:
    """Convert moto's awsJson value to the CBOR-ready form the output ``shape`` asks for.

    Returns ``None`` for values that must be left out (nulls, members unknown to the model).
    """
    if value is None or shape is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return None
        members = shape.members
        out: dict[str, Any] = {}
        for key, item in value.items():
            converted = json_to_cbor(item, members.get(key))
            if converted is not None:
                out[key] = converted
        return out
    if kind == "list":
        if isinstance(value, dict) and not value:
            return []
        if not isinstance(value, (list, tuple)):
            value = [value]
        items = (json_to_cbor(item, shape.member) for item in value)
        return [item for item in items if item is not None]
    if kind == "map":
        if not isinstance(value, dict):
            return None
        out_map: dict[str, Any] = {}
        for key, item in value.items():
            converted = json_to_cbor(item, shape.value)
            if converted is not None:
                out_map[str(key)] = converted
        return out_map
    if kind == "timestamp":
        return cbor2.CBORTag(1, _epoch_seconds(value))
    if kind == "blob":
        if isinstance(value, str):
            return base64.b64decode(value)
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        return None
    if kind in ("integer", "long", "short", "byte"):
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, float):
            return int(value) if value.is_integer() else None
        return int(value)
    if kind in ("double", "float"):
        return _double(float(value))
    if kind == "boolean":
        if isinstance(value, str):
            return value.strip().lower() == "true"
        return bool(value)
    if kind == "string":
        return value if isinstance(value, str) else str(value)
    return value


class _Double:
    """A non-finite double, written as a 64-bit CBOR float (cbor2 would use half precision)."""

    __slots__ = ("value",)

    def __init__(self, value: float) -> None:
        self.value = value


def _double(value: float) -> float | _Double:
    return value if math.isfinite(value) else _Double(value)


def _cbor_default(encoder: Any, value: Any) -> None:
    if isinstance(value, _Double):
        encoder.write(b"\xfb" + struct.pack(">d", value.value))
        return
    raise cbor2.CBOREncodeTypeError(f"cannot encode {type(value).__name__} as CBOR")


def encode_cbor(document: Any) -> bytes:
    """Encode ``document`` as CBOR the way the Rust SDK reads it.

    Finite floats go out as 64-bit doubles (cbor2's default); NaN and infinities, which cbor2
    writes as half-precision floats that minicbor only reads with an optional feature, are
    written as 64-bit doubles too (see ``json_to_cbor``).
    """
    return cbor2.dumps(document, default=_cbor_default)


# ---------------------------------------------------------------------------------------------
# WSGI plumbing
# ---------------------------------------------------------------------------------------------


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH")
    if length:
        return stream.read(int(length))
    if environ.get("wsgi.input_terminated"):
        return stream.read()
    return b""


def _decode_content(body: bytes, encoding: str) -> bytes:
    """Undo ``Content-Encoding`` (the SDK gzips PutMetricData bodies over 10 KiB)."""
    for token in reversed([t.strip().lower() for t in encoding.split(",") if t.strip()]):
        try:
            if token in ("gzip", "x-gzip"):
                body = gzip.decompress(body)
            elif token == "deflate":
                body = zlib.decompress(body)
            elif token != "identity":
                raise FrontError(
                    415, "UnsupportedMediaType", f"unsupported Content-Encoding {token!r}"
                )
        except (OSError, EOFError, zlib.error) as exc:
            raise FrontError(400, "SerializationException", f"bad {token} body: {exc}") from exc
    return body


def _call(app: WsgiApp, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """Call a WSGI app in-process and collect status, headers and the whole body."""
    captured: dict[str, Any] = {}
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"] = status
        captured["headers"] = headers
        return chunks.append

    result = app(environ, start_response)
    try:
        for chunk in result:
            chunks.append(chunk)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status = int(str(captured.get("status", "500")).split(" ", 1)[0])
    return status, list(captured.get("headers", [])), b"".join(chunks)


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    lname = name.lower()
    for key, value in headers:
        if key.lower() == lname:
            return value
    return None


_STATUS_TEXT = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}


def _status_line(status: int) -> str:
    return f"{status} {_STATUS_TEXT.get(status, 'Status')}"


class MotoFront:
    """WSGI app: moto's server app with the CloudWatch CBOR translation and X-Ray fix in front.

    ``inner`` defaults to moto's ``DomainDispatcherApplication`` (what ``moto_server`` serves).
    """

    def __init__(self, inner: WsgiApp | None = None) -> None:
        if inner is None:
            from moto.moto_server.werkzeug_app import (
                DomainDispatcherApplication,
                create_backend_app,
            )

            inner = DomainDispatcherApplication(create_backend_app)
        self.inner = inner
        loader = Loader()
        self.cloudwatch = ServiceModel(
            loader.load_service_model("cloudwatch", "service-2"), service_name="cloudwatch"
        )
        self.service_names = {
            CLOUDWATCH_TARGET_PREFIX,
            self.cloudwatch.metadata.get("targetPrefix", CLOUDWATCH_TARGET_PREFIX),
        }
        # awsQuery-compatible error codes by error shape name, e.g.
        # DashboardNotFoundError -> ResourceNotFound.
        self.error_codes: dict[str, str] = {}
        for name in self.cloudwatch.shape_names:
            shape = self.cloudwatch.shape_for(name)
            code = shape.metadata.get("error", {}).get("code") if shape.metadata else None
            if code:
                self.error_codes[name] = code

    # -- entry point -----------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or ""
        method = (environ.get("REQUEST_METHOD") or "GET").upper()
        if path == HEALTH_PATH:
            body = b"ok"
            start_response(
                "200 OK",
                [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
            )
            return [body]
        match = CBOR_PATH.match(path)
        if method == "POST" and match and self._is_cloudwatch(match.group("service")):
            return self._cloudwatch_cbor(environ, start_response, match.group("operation"))
        if method == "POST" and path == XRAY_TRACE_SUMMARIES_PATH:
            return self._xray_trace_summaries(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET")
        if method == "POST" and target:
            return self._aws_json(environ, start_response, target)
        return self.inner(environ, start_response)

    def _aws_json(
        self, environ: dict[str, Any], start_response: StartResponse, target: str
    ) -> Iterable[bytes]:
        """awsJson services (Cost Explorer, DynamoDB, Secrets Manager, ...) pass through unchanged, except
        that an operation moto lacks answers like AWS does for an unknown operation (a typed 501 naming
        it) instead of the server's bare HTML 500, so clients can say what is missing."""
        try:
            status, headers, body = _call(self.inner, environ)
        except NotImplementedError as exc:
            LOG.warning("moto does not implement %s: %s", target, exc)
            body = json.dumps(
                {
                    "__type": "NotImplemented",
                    "message": f"moto does not implement {target} ({exc}); "
                    "answered by governance/emulator/moto_front.py",
                }
            ).encode("utf-8")
            status = 501
            headers = [("Content-Type", "application/x-amz-json-1.1")]
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        start_response(_status_line(status), headers)
        return [body]

    def _is_cloudwatch(self, service: str) -> bool:
        # Spec: servers also accept the absolute shape id with '#' replaced by '.'.
        return service.rsplit(".", 1)[-1] in self.service_names

    # -- CloudWatch rpcv2Cbor ----------------------------------------------------------------

    def _cloudwatch_cbor(
        self, environ: dict[str, Any], start_response: StartResponse, operation: str
    ) -> Iterable[bytes]:
        try:
            status, headers, body = self._translate(environ, operation)
        except FrontError as err:
            status, headers, body = self._error(err.status, err.code, err.message)
        headers = headers + [
            ("smithy-protocol", SMITHY_PROTOCOL),
            ("Content-Length", str(len(body))),
        ]
        start_response(_status_line(status), headers)
        return [body]

    def _translate(
        self, environ: dict[str, Any], operation: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        if operation not in self.cloudwatch.operation_names:
            raise FrontError(
                404, "UnknownOperationException", f"CloudWatch has no operation {operation!r}"
            )
        op_model = self.cloudwatch.operation_model(operation)

        raw = _read_body(environ)
        raw = _decode_content(raw, environ.get("HTTP_CONTENT_ENCODING", ""))
        try:
            document = cbor2.loads(raw) if raw else {}
        except Exception as exc:  # noqa: BLE001 - any decode failure is the client's fault
            raise FrontError(
                400, "SerializationException", f"body is not valid CBOR: {exc}"
            ) from exc
        if document is None:
            document = {}
        try:
            json_doc = cbor_to_json(document, op_model.input_shape) if op_model.input_shape else {}
        except ValueError as exc:
            raise FrontError(400, "SerializationException", str(exc)) from exc
        json_body = json.dumps(json_doc).encode("utf-8")

        inner_env = self._inner_environ(environ, operation, json_body)
        try:
            status, moto_headers, moto_body = _call(self.inner, inner_env)
        except NotImplementedError as exc:
            LOG.warning("moto does not implement CloudWatch %s: %s", operation, exc)
            raise FrontError(
                501,
                "NotImplemented",
                f"moto does not implement CloudWatch {operation} ({exc}); "
                "translated by governance/emulator/moto_front.py",
            ) from exc
        except Exception as exc:  # noqa: BLE001 - moto crashed; answer like a service fault
            LOG.exception("moto failed on CloudWatch %s", operation)
            raise FrontError(
                500,
                "InternalFailure",
                f"moto raised {type(exc).__name__} on CloudWatch {operation}: {exc}",
            ) from exc

        passthrough = [
            (k, v) for k, v in moto_headers if k.lower() in ("x-amzn-requestid", "x-amz-request-id")
        ]
        if status >= 300:
            return self._moto_error(operation, status, moto_headers, moto_body, passthrough)

        if op_model.output_shape is None:
            # Unit output: no body and no Content-Type (rpcv2Cbor spec).
            return 200, passthrough, b""
        try:
            answer = json.loads(moto_body) if moto_body.strip() else {}
        except ValueError as exc:
            raise FrontError(
                500,
                "InternalFailure",
                f"moto answered CloudWatch {operation} with non-JSON: {moto_body[:200]!r}",
            ) from exc
        converted = json_to_cbor(answer, op_model.output_shape)
        if converted is None:
            converted = {}
        return 200, passthrough + [("Content-Type", CBOR_CONTENT_TYPE)], encode_cbor(converted)

    def _inner_environ(
        self, environ: dict[str, Any], operation: str, json_body: bytes
    ) -> dict[str, Any]:
        dropped = {
            "HTTP_CONTENT_ENCODING",
            "HTTP_SMITHY_PROTOCOL",
            "HTTP_ACCEPT",
            "HTTP_TRANSFER_ENCODING",
            "HTTP_CONTENT_TYPE",
            "HTTP_CONTENT_LENGTH",
            "wsgi.input_terminated",
        }
        env = {k: v for k, v in environ.items() if k not in dropped}
        env.update(
            {
                "REQUEST_METHOD": "POST",
                "PATH_INFO": "/",
                "QUERY_STRING": "",
                "RAW_URI": "/",
                "REQUEST_URI": "/",
                "CONTENT_TYPE": JSON_CONTENT_TYPE,
                "CONTENT_LENGTH": str(len(json_body)),
                "wsgi.input": io.BytesIO(json_body),
                "HTTP_X_AMZ_TARGET": f"{CLOUDWATCH_TARGET_PREFIX}.{operation}",
            }
        )
        if not env.get("HTTP_AUTHORIZATION"):
            env["HTTP_AUTHORIZATION"] = DEFAULT_AUTHORIZATION
        return env

    def _moto_error(
        self,
        operation: str,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        passthrough: list[tuple[str, str]],
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        code: str | None = None
        message: str | None = None
        query_error = _header(headers, "x-amzn-query-error")
        if query_error and ";" in query_error:
            code = query_error.split(";", 1)[0]
        parsed: Any = None
        try:
            parsed = json.loads(body) if body.strip() else None
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            raw_type = parsed.get("__type") or parsed.get("code") or parsed.get("Code")
            message = parsed.get("message") or parsed.get("Message")
            if code is None and isinstance(raw_type, str):
                name = raw_type.split(":", 1)[0].rsplit("#", 1)[-1]
                code = self.error_codes.get(name, name)
        elif body.lstrip().startswith(b"<"):
            text = body.decode("utf-8", "replace")
            xml_code = re.search(r"<Code>([^<]+)</Code>", text)
            xml_message = re.search(r"<Message>([^<]*)</Message>", text)
            if xml_code and code is None:
                code = xml_code.group(1)
            if xml_message:
                message = xml_message.group(1)
            if status >= 500 and not xml_code:
                message = (
                    f"moto answered CloudWatch {operation} with HTTP {status} and HTML: "
                    "most likely not implemented by moto"
                )
                status = 501
                code = "NotImplemented"
        if code is None:
            code = "InternalFailure" if status >= 500 else "UnknownError"
        if message is None:
            message = f"moto answered CloudWatch {operation} with HTTP {status}"
        return self._error(status, code, message, passthrough)

    @staticmethod
    def _error(
        status: int, code: str, message: str, extra: list[tuple[str, str]] | None = None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        fault = "Receiver" if status >= 500 else "Sender"
        headers = list(extra or []) + [
            ("Content-Type", CBOR_CONTENT_TYPE),
            ("x-amzn-query-error", f"{code};{fault}"),
        ]
        return status, headers, encode_cbor({"__type": code, "message": message})

    # -- X-Ray -------------------------------------------------------------------------------

    def _xray_trace_summaries(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        status, headers, body = _call(self.inner, environ)
        if status == 200:
            try:
                document = json.loads(body)
            except ValueError:
                document = None
            if isinstance(document, dict) and fix_trace_summaries(document):
                body = json.dumps(document).encode("utf-8")
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                headers.append(("Content-Length", str(len(body))))
        start_response(_status_line(status), headers)
        return [body]


def fix_trace_summaries(document: dict[str, Any]) -> bool:
    """Rewrite moto's ``"Users": {}`` to ``[]`` in every trace summary. True when changed."""
    changed = False
    for summary in document.get("TraceSummaries") or []:
        if isinstance(summary, dict) and isinstance(summary.get("Users"), dict):
            summary["Users"] = list(summary["Users"].values()) if summary["Users"] else []
            changed = True
    return changed


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _exit_on_stdin_eof() -> None:
    """Wait for EOF on stdin, then stop the server like SIGTERM would (hard exit as fallback)."""
    try:
        while sys.stdin.buffer.read(65536):
            pass
    except (OSError, ValueError):
        pass
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-H", "--host", default="127.0.0.1", help="address to bind")
    parser.add_argument(
        "-p", "--port", type=int, default=5000, help="port to bind (0: pick a free one)"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="do not log one line per request on stderr"
    )
    parser.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="stop when standard input closes (a parent that dies never leaves an orphan)",
    )
    args = parser.parse_args(argv)

    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)

    def stop(signum: int, frame: Any) -> None:
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    if args.exit_on_stdin_eof:
        threading.Thread(target=_exit_on_stdin_eof, name="stdin-eof", daemon=True).start()

    # Equivalent of werkzeug's run_simple(threaded=True, use_reloader=False,
    # use_debugger=False), split so the real port is known (and printed) after binding.
    server = make_server(
        args.host, args.port, MotoFront(), threaded=True, request_handler=MotoRequestHandler
    )
    port = server.socket.getsockname()[1]
    os.environ.setdefault("MOTO_PORT", str(port))
    print(f"moto_front listening on http://{args.host}:{port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
