"""Serve a Rewind process plugin from Python over gRPC.

A plugin is a script that calls one function::

    from rewind_plugin import serve_verifier

    def verify(req):            # req is a plugin_pb2.VerifyRequest
        return {"status": "ok", "score": 1.0}

    serve_verifier({"name": "mine", "version": "1"}, verify)

The helper does what hashicorp/go-plugin expects of a plugin process:

* checks the magic cookie and protocol version the host puts in the
  environment, and exits with a message when run by hand;
* serves gRPC on a unix socket in a fresh private (0700) directory and
  prints go-plugin's handshake line ``1|<version>|unix|<path>|grpc`` on
  stdout;
* serves the gRPC health service (service "plugin" is SERVING), which
  go-plugin's Ping uses;
* serves go-plugin's GRPCController.Shutdown, so that the host's Close
  stops the plugin at once instead of waiting 2 s and killing it;
* serves GRPCStdio.StreamStdio as an empty stream: after the handshake,
  stdout is pointed at stderr, which the host logs line by line, so print()
  is safe and nothing is lost.

It does not do go-plugin's AutoMTLS (go-plugin's Python support has none):
set ``disable_mtls`` for the plugin in the host config. The socket's
directory is private to the user either way. The GRPCBroker service is not
served: Rewind's plugins do not call back into the host.

Plugin methods run on a thread pool (``workers`` threads), so they must be
thread-safe. An exception becomes a gRPC error that the host reports as
status "error"; ``context.abort(code, message)`` chooses the code.
"""

import json
import os
import shutil
import sys
import tempfile
import threading
from concurrent import futures

import grpc

from . import plugin_pb2

# Must match sdk/proto/handshake.go.
PROTOCOL_VERSION = 1
MAGIC_COOKIE_KEY = "REWIND_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE_VALUE = "f3c8a1f27d5e4b6c9e0b2a7d4c1e8f60"
CORE_PROTOCOL_VERSION = 1  # go-plugin's own handshake version

_PKG = "rewind.plugin.v1"

# grpc.health.v1.HealthCheckResponse{status: SERVING}: field 1 (varint) = 1.
# Written out by hand to avoid a dependency on grpcio-health-checking, which
# Debian does not package; the request (field 1: service name) is ignored,
# since this process serves exactly one plugin.
_HEALTH_SERVING = b"\x08\x01"


def answer(req):
    """The task's ground truth, decoded from JSON (None when absent)."""
    raw = req.task.answer_json
    return json.loads(raw) if raw else None


def meta(req):
    """The task's metadata, decoded from JSON (None when absent)."""
    raw = req.task.meta_json
    return json.loads(raw) if raw else None


def options():
    """The plugin's options (the ``options:`` of its config section), or None."""
    raw = os.environ.get("REWIND_PLUGIN_OPTIONS")
    return json.loads(raw) if raw else None


def _message(cls, value):
    """Accept a message of cls or a dict of its fields."""
    if isinstance(value, cls):
        return value
    return cls(**value)


def serve_verifier(manifest, verify, workers=8):
    """Serve verify(VerifyRequest) -> Verdict (or a dict of its fields)."""
    _serve(manifest, "verifier", "Verifier", "Verify", plugin_pb2.VerifyRequest,
           lambda req: _message(plugin_pb2.Verdict, verify(req)), workers)


def serve_reward_model(manifest, score, workers=8):
    """Serve score(ScoreBatch) -> a list of floats, one per request."""
    _serve(manifest, "reward_model", "RewardModel", "Score", plugin_pb2.ScoreBatch,
           lambda req: plugin_pb2.Scores(scores=list(score(req))), workers)


def serve_segmenter(manifest, segment, workers=8):
    """Serve segment(SegmentRequest) -> a list of (start, end) byte offsets."""
    _serve(manifest, "segmenter", "Segmenter", "Segment", plugin_pb2.SegmentRequest,
           lambda req: plugin_pb2.Spans(spans=[plugin_pb2.Span(start=s, end=e) for s, e in segment(req)]),
           workers)


def serve_localizer(manifest, localize, workers=8):
    """Serve localize(LocalizeRequest) -> Localization (or a dict of its fields)."""
    _serve(manifest, "localizer", "Localizer", "Localize", plugin_pb2.LocalizeRequest,
           lambda req: _message(plugin_pb2.Localization, localize(req)), workers)


def _check_environment():
    if os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        sys.stderr.write("This binary is a Rewind plugin. It is not meant to be run directly: "
                         "point a plugin's config at it and run rewind.\n")
        sys.exit(1)
    offered = os.environ.get("PLUGIN_PROTOCOL_VERSIONS", "")
    if str(PROTOCOL_VERSION) not in offered.split(","):
        sys.stderr.write("rewind plugin: the host offers protocol versions %r, this plugin speaks %d\n"
                         % (offered, PROTOCOL_VERSION))
        sys.exit(1)


def _unary(fn, request_cls, response_serializer=lambda m: m.SerializeToString()):
    return grpc.unary_unary_rpc_method_handler(
        lambda req, ctx: fn(req),
        request_deserializer=request_cls.FromString,
        response_serializer=response_serializer,
    )


class _Raw:
    """A message that go-plugin's services exchange and this helper ignores."""

    @staticmethod
    def FromString(data):
        # Not None: grpcio takes a None request for a failed deserialization.
        return data


def _serve(manifest, kind, service, method, request_cls, handle, workers):
    _check_environment()
    manifest = dict(manifest)
    manifest.setdefault("kind", kind)
    manifest.setdefault("abi", 1)
    if manifest["kind"] != kind:
        sys.stderr.write("rewind plugin: manifest kind %r does not match the served kind %r\n"
                         % (manifest["kind"], kind))
        sys.exit(2)
    manifest_pb = plugin_pb2.Manifest(**manifest)

    stop = threading.Event()

    def shutdown(_req):
        stop.set()
        return b""

    def stream_stdio(_req, _ctx):
        # Nothing is streamed (stdout goes to stderr); the stream ends on shutdown.
        stop.wait()
        return iter(())

    handlers = [
        grpc.method_handlers_generic_handler(_PKG + ".Info", {
            "GetManifest": _unary(lambda _req: manifest_pb, plugin_pb2.InfoRequest),
        }),
        grpc.method_handlers_generic_handler(_PKG + "." + service, {
            method: _unary(handle, request_cls),
        }),
        grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
            "Check": _unary(lambda _req: _HEALTH_SERVING, _Raw, lambda b: b),
        }),
        grpc.method_handlers_generic_handler("plugin.GRPCController", {
            "Shutdown": _unary(shutdown, _Raw, lambda b: b),
        }),
        grpc.method_handlers_generic_handler("plugin.GRPCStdio", {
            "StreamStdio": grpc.unary_stream_rpc_method_handler(
                stream_stdio, request_deserializer=_Raw.FromString, response_serializer=lambda b: b),
        }),
    ]
    # One extra thread for the long-lived stdio stream.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers + 1),
                         handlers=handlers,
                         options=[("grpc.max_receive_message_length", 2**31 - 1)])
    sockdir = tempfile.mkdtemp(prefix="rewind-plugin-")
    sock = os.path.join(sockdir, "plugin.sock")
    server.add_insecure_port("unix:" + sock)
    server.start()
    try:
        sys.stdout.write("%d|%d|unix|%s|grpc\n" % (CORE_PROTOCOL_VERSION, PROTOCOL_VERSION, sock))
        sys.stdout.flush()
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.stop(grace=0.2).wait()
        shutil.rmtree(sockdir, ignore_errors=True)
