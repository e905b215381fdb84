#!/usr/bin/python3
"""An example Rewind process plugin in Python: an exact-match verifier.

The task's answer is a JSON string; a response scores 1 when, with
surrounding white space and a trailing period removed, it equals the answer.
It needs Debian's python3-grpcio and python3-protobuf (for /usr/bin/python3)
and sdk/python, found here relative to this file.

Host config (see docs/process-plugins.md): the script is the executable, so
its sha256 is what the host checks::

    process: examples/plugins/python-grpc/exact_verifier.py
    sha256: <sha256sum examples/plugins/python-grpc/exact_verifier.py>
    disable_mtls: true   # go-plugin's Python support has no AutoMTLS
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "sdk", "python"))

from rewind_plugin import answer, serve_verifier  # noqa: E402


def verify(req):
    want = answer(req)
    if not isinstance(want, str):
        return {"status": "invalid", "detail": "the task's answer is not a JSON string"}
    got = req.response.strip()
    if got.endswith("."):
        got = got[:-1]
    return {"status": "ok", "score": 1.0 if got == want.strip() else 0.0, "detail": got}


if __name__ == "__main__":
    serve_verifier({"name": "exact-python", "version": "1.0.0",
                    "description": "exact-match verifier over gRPC (example)"}, verify)
