"""Prometheus ``/metrics`` for the live sensor (text exposition format, stdlib HTTP server).

Listens on 127.0.0.1 unless told otherwise; serves ``GET /metrics`` and nothing else.

Example:
    >>> from hedgerow.sense.stats import SenseStats
    >>> stats = SenseStats()
    >>> stats.add(packets=3)
    >>> print(render(stats.snapshot()).splitlines()[2])
    hedgerow_sense_packets_total 3
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from hedgerow.sense.stats import Snapshot

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_SIMPLE = (
    ("packets_total", "counter", "Packets analysed.", "packets"),
    ("bytes_total", "counter", "Bytes on the wire of the packets analysed.", "bytes"),
    ("kernel_drops_total", "counter", "Packets the kernel dropped (ring full).", "kernel_drops"),
    ("dropped_total", "counter", "Packets the sensor dropped (analysis queue full).", "our_drops"),
    ("batches_total", "counter", "Packet batches analysed.", "batches"),
    ("flows_total", "counter", "Flows completed by the flow meter.", "flows"),
    ("queue_batches", "gauge", "Batches waiting for analysis.", "queue"),
    ("batch_seconds", "gauge", "Analysis time of the last batch.", "last_batch_s"),
    ("lag_seconds", "gauge", "Wall clock minus the newest packet timestamp analysed.", "lag_s"),
)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def render(snap: Snapshot) -> str:
    """The exposition text of one snapshot."""
    lines: list[str] = []
    for name, kind, help_text, attr in _SIMPLE:
        metric = f"hedgerow_sense_{name}"
        lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} {kind}",
                  f"{metric} {getattr(snap, attr)}"]
    lines += ["# HELP hedgerow_sense_enforcing 1 when decisions are enforced with nftables.",
              "# TYPE hedgerow_sense_enforcing gauge",
              f"hedgerow_sense_enforcing {int(snap.enforcing)}",
              "# HELP hedgerow_sense_alerts_total Alerts raised.",
              "# TYPE hedgerow_sense_alerts_total counter"]
    for (kind, severity), count in sorted(snap.alerts_by.items()):
        lines.append(f'hedgerow_sense_alerts_total{{kind="{_label(kind)}",'
                     f'severity="{_label(severity)}"}} {count}')
    lines += ["# HELP hedgerow_sense_decisions_total Decisions by action and outcome.",
              "# TYPE hedgerow_sense_decisions_total counter"]
    for (action, status), count in sorted(snap.decisions_by.items()):
        lines.append(f'hedgerow_sense_decisions_total{{action="{_label(action)}",'
                     f'status="{_label(status)}"}} {count}')
    return "\n".join(lines) + "\n"


class MetricsServer:
    """A background HTTP server answering ``GET /metrics`` from a snapshot callback.

    ``port=0`` picks a free port (see :attr:`port`).
    """

    def __init__(self, snapshot: Callable[[], Snapshot], host: str = "127.0.0.1",
                 port: int = 9108) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404, "only /metrics here")
                    return
                body = render(snapshot()).encode()
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics",
                                        daemon=True)

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
