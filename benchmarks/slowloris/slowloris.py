#!/usr/bin/env python3
"""Slowloris check (issue 11): 40 connections declare 64 MiB bodies, send 1 KiB each and stall, while
valid mlp requests keep coming. Prints the server's RSS before, its peak during, and the valid requests'
outcomes; exits 1 when RSS grows by 150 MB or more or a valid request fails. 127.0.0.1 only, bounded.

Usage: benchmarks/slowloris/slowloris.py [SERVER_DLL] (default: the Debug build of src/Gateway)
"""
import json, os, socket, subprocess, sys, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DLL = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "src/Gateway/bin/Debug/net10.0/ServingGateway.dll")
CONNECTIONS, DECLARED, SENT, SECONDS = 40, 64 * 1024 * 1024, 1024, 10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


port = free_port()
url = f"http://127.0.0.1:{port}"
server = subprocess.Popen(["dotnet", DLL, "--models", os.path.join(ROOT, "tests/Assets/models"), "--urls", url,
                           "--Logging:LogLevel:Default", "Warning"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
body = json.dumps({"inputs": [{"name": "input", "shape": [1, 64], "datatype": "FP32", "data": [0.5] * 64}]}).encode()


def infer():
    request = urllib.request.Request(f"{url}/v2/models/mlp/infer", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


try:
    deadline = time.time() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/v2/health/ready", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.time() > deadline or server.poll() is not None:
            sys.exit("server not ready")
        time.sleep(0.2)

    for _ in range(300):  # warm the path before the baseline
        infer()
    before = rss_mb(server.pid)

    stalled = []
    for _ in range(CONNECTIONS):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(f"POST /v2/models/mlp/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {DECLARED}\r\n\r\n".encode())
        s.sendall(b" " * SENT)
        stalled.append(s)

    peak, statuses, end = before, {}, time.time() + SECONDS
    while time.time() < end:
        status = infer()
        statuses[status] = statuses.get(status, 0) + 1
        peak = max(peak, rss_mb(server.pid))
    for s in stalled:
        s.close()

    growth = peak - before
    ok = statuses.get(200, 0)
    failed = sum(n for code, n in statuses.items() if code != 200)
    print(f"connections={CONNECTIONS} declared={DECLARED} sent={SENT} each, {SECONDS} s of valid requests")
    print(f"rss_before_mb={before:.0f} rss_peak_mb={peak:.0f} growth_mb={growth:.0f} (bound 150)")
    print(f"valid_ok={ok} valid_failed={failed} statuses={statuses}")
    sys.exit(0 if growth < 150 and failed == 0 and ok > 0 else 1)
finally:
    server.terminate()
    server.wait(timeout=60)
