#!/usr/bin/python3
"""An example Rewind localizer in Python, served over gRPC.

It resets at the step holding the least likely token the policy sampled:
the step of lowest min_logprob in the request's step_stats (the earliest of
equal ones; steps with no token of their own are skipped). A request
without step_stats (one built by hand) gets the last step, with fallback
"last-step". The same rule as the Go and C examples (surprise-go,
surprise-c), checked against the same cases (cases/surprise.jsonl).

It needs Debian's python3-grpcio and python3-protobuf (for /usr/bin/python3)
and sdk/python, found here relative to this file. Host config (see
docs/process-plugins.md)::

    localizer: {name: surprise-py}
    plugins:
      surprise-py:
        process: examples/plugins/python-grpc/surprise_localizer.py
        sha256: <sha256sum examples/plugins/python-grpc/surprise_localizer.py>
        disable_automtls: true   # go-plugin's Python support has no AutoMTLS
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "sdk", "python"))

from rewind_plugin import serve_localizer  # noqa: E402


def localize(req):
    """req is a plugin_pb2.LocalizeRequest; the answer a dict of Localization's fields."""
    n = len(req.steps)
    if n == 0:
        raise ValueError("the request has no steps")
    stats = req.step_stats
    if len(stats) != n:
        return {"step": n, "fallback": "last-step", "detail": "no step_stats"}
    best = 0
    for k, st in enumerate(stats):
        if st.tokens > 0 and (best == 0 or st.min_logprob < stats[best - 1].min_logprob):
            best = k + 1
    if best == 0:
        return {"step": n, "fallback": "last-step", "detail": "no step has a token"}
    return {"step": best, "detail": "min_logprob %.3g" % stats[best - 1].min_logprob}


if __name__ == "__main__":
    serve_localizer({"name": "surprise-py", "version": "1.0.0",
                     "description": "the step holding the least likely sampled token (example)"}, localize)
