#!/usr/bin/env python3
"""Cold start of a Rust function with and without `telemetry`: process start to first response.

Runs each release example binary N times under a minimal Lambda Runtime-API emulator (one invocation
each) and reports the median time from spawn to the POST of the first response, plus the binary size.

    cargo build --release -p telemetry --example hello --example hello_plain
    cargo build --release -p telemetry --features sigv4 --example hello_otel   # optional
    python3 telemetry/benches/cold_start.py target/release/examples
"""
import http.server, json, os, socketserver, statistics, subprocess, sys, threading, time

RUNS = int(os.environ.get("RUNS", "30"))


class Api(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = json.dumps({"card_id": "c-1"}).encode()
        self.send_response(200)
        for k, v in [("Lambda-Runtime-Aws-Request-Id", "req-1"),
                     ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000)),
                     ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:1:function:hello"),
                     ("Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"),
                     ("Content-Length", str(len(body)))]:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.done_at = time.perf_counter()
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.server.done.set()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # the function is killed after its first response, mid-way through its next poll


def measure(binary, extra_env=None):
    srv = Server(("127.0.0.1", 0), Api)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    env = {"PATH": os.environ.get("PATH", ""), "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{srv.server_address[1]}",
           "AWS_LAMBDA_FUNCTION_NAME": "hello", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
           "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_LOG_GROUP_NAME": "g",
           "AWS_LAMBDA_LOG_STREAM_NAME": "s", "POWERTOOLS_SERVICE_NAME": "hello",
           "POWERTOOLS_METRICS_NAMESPACE": "CollectIQ", "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
           **(extra_env or {})}
    times = []
    for _ in range(RUNS):
        srv.done = threading.Event()
        start = time.perf_counter()
        p = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        srv.done.wait(10)
        times.append((srv.done_at - start) * 1000)
        p.kill()
        p.wait()
    srv.shutdown()
    return statistics.median(times), min(times)


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "target/release/examples"
    # hello_otel (built with `--features sigv4`) is measured too when present, exporting OTLP over UDP.
    cases = [("hello_plain", "hello_plain", None), ("hello", "hello", None),
             ("hello_otel", "hello_otel otlp-udp", {"OTEL_TRACES_EXPORTER": "otlp-udp"})]
    rows = []
    for name, label, extra in cases:
        path = os.path.join(folder, name)
        if name == "hello_otel" and not os.path.exists(path):
            continue
        med, best = measure(path, extra)
        rows.append((label, os.path.getsize(path), med, best))
    for label, size, med, best in rows:
        print(f"{label:20} size {size / 1024 / 1024:6.2f} MiB  start-to-first-response median {med:6.2f} ms  min {best:6.2f} ms")
    _, s0, m0, b0 = rows[0]
    for label, s1, m1, b1 in rows[1:]:
        print(f"{label}: telemetry adds {(s1 - s0) / 1024 / 1024:.2f} MiB and {m1 - m0:+.2f} ms (median), {b1 - b0:+.2f} ms (min)")

if __name__ == "__main__":
    main()
