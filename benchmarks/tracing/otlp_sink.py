#!/usr/bin/env python3
"""An OTLP/HTTP sink for the tracing benchmark: answers every POST /v1/traces with 200 and counts requests, bytes and
spans (printed on SIGTERM), so the exporter's cost is measured without a real collector and the spans that reached it
can be set beside the requests that made them. Loopback only.
Usage: otlp_sink.py PORT"""
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counts = {"posts": 0, "bytes": 0, "spans": 0}
lock = threading.Lock()


def fields(data, start, end):
    """The length-delimited fields of the protobuf message data[start:end]: (number, start, end) each; others skipped."""
    position = start
    while position < end:
        tag, position = varint(data, position)
        wire = tag & 7
        if wire == 0:
            _, position = varint(data, position)
        elif wire == 1:
            position += 8
        elif wire == 5:
            position += 4
        elif wire == 2:
            length, position = varint(data, position)
            yield tag >> 3, position, position + length
            position += length
        else:
            raise ValueError(f"wire type {wire}")


def varint(data, position):
    value, shift = 0, 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


def count_spans(body):
    """ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1 { repeated ScopeSpans scope_spans = 2
    { repeated Span spans = 2 } } }: the spans, each skipped by its length, not decoded."""
    spans = 0
    for number, start, end in fields(body, 0, len(body)):
        if number != 1:
            continue
        for scope_number, scope_start, scope_end in fields(body, start, end):
            if scope_number == 2:
                spans += sum(1 for span_number, _, _ in fields(body, scope_start, scope_end) if span_number == 2)
    return spans


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        spans = count_spans(self.rfile.read(length))
        with lock:
            counts["posts"] += 1
            counts["bytes"] += length
            counts["spans"] += spans
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink)

    def stop(*_):
        print(f"otlp sink: {counts['posts']} exports, {counts['bytes']} bytes, {counts['spans']} spans", flush=True)
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()


if __name__ == "__main__":
    main()
