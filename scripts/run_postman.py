"""Run the Postman collection with newman against a freshly started server.

A throw-away instance folder, the embedded defaults (SQLite + fakeredis), a
free loopback port; migrate, bootstrap the admin token, serve with gunicorn,
wait for /healthz, run newman, and always stop the server. Exits with
newman's status. Used by `make postman` (and so `make test`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NEWMAN = ROOT / "node_modules" / ".bin" / "newman"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not become healthy at {url} within {seconds:.0f} s")


def print_summary(report: Path) -> None:
    """One plain closing line, as CI reads it: ``postman: N passed, M failed``."""
    if not report.exists():
        print("postman: 0 passed, 1 failed")
        return
    stats = json.loads(report.read_text())["run"]["stats"]["assertions"]
    failed = int(stats["failed"])
    print(f"postman: {int(stats['total']) - failed} passed, {failed} failed")


def main() -> int:
    instance = Path(tempfile.mkdtemp(prefix="portcullis-postman-"))
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PORTCULLIS_INSTANCE": str(instance),
        "REDIS_URL": "fakeredis://",
        "BASE_URL": base_url,
        "PORT": str(port),
    }
    env.pop("DATABASE_URL", None)
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    for command in (["db", "upgrade"], ["bootstrap"]):
        subprocess.run([*flask, *command], env=env, cwd=ROOT, check=True, capture_output=True)
    token = (instance / "admin-token").read_text().strip()
    key = (
        subprocess.run(
            [*flask, "create-api-key", "--name", "postman"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    log = (instance / "server.log").open("w")
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "wsgi:app",
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_healthy(f"{base_url}/healthz")
        report = instance / "newman.json"
        status = subprocess.run(
            [
                str(NEWMAN),
                "run",
                "postman/portcullis.postman_collection.json",
                "-e",
                "postman/portcullis.postman_environment.json",
                "--env-var",
                f"baseUrl={base_url}",
                "--env-var",
                f"apiToken={token}",
                "--env-var",
                f"workosApiKey={key}",
                "--reporters",
                "cli,json",
                "--reporter-json-export",
                str(report),
            ],
            cwd=ROOT,
            check=False,
        ).returncode
        print_summary(report)
        return status
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
