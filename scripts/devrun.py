"""`make run`: a development key, a Redis (embedded when none answers), then every Procfile process.

Settings come from the environment first, then the git-ignored `.env`: this launcher
merges the two itself and hands honcho no env file, since honcho would load `.env`
over the environment (`API_KEYS=other make run` would then keep the old key).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType
from urllib.parse import urlparse

from honcho.environ import parse as parse_env_file
from redis import Redis
from redis.exceptions import RedisError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the repository's packages are importable

from bench.harness.redis import RedisServer, redis_binary  # noqa: E402 - needs ROOT on sys.path
from workers.core.redact import mask_url  # noqa: E402 - needs ROOT on sys.path
from workers.core.sentinel_url import is_sentinel_url  # noqa: E402 - needs ROOT on sys.path

ENV_FILE = Path(os.environ.get("ENV_FILE") or ROOT / ".env")
DATA_DIR = Path(os.environ.get("REDIS_DATA_DIR") or ROOT / ".data" / "redis")
HONCHO_STOPPED_BY_SIGINT = 130  # its exit status after a Ctrl-C: a normal stop


def read_env_file() -> dict[str, str]:
    """`.env` as honcho itself would parse it (quotes, comments)."""
    return parse_env_file(ENV_FILE.read_text()) if ENV_FILE.exists() else {}


def merged_env() -> dict[str, str]:
    """`.env` under the environment: a variable set in the shell always wins."""
    return {**read_env_file(), **os.environ}


def ensure_api_key(env: dict[str, str]) -> None:
    """Create a development key once and keep it in the git-ignored .env."""
    if env.get("API_KEYS"):
        return
    env["API_KEYS"] = secrets.token_urlsafe(24)
    with ENV_FILE.open("a") as handle:
        handle.write(f"API_KEYS={env['API_KEYS']}\n")
    print(f"Created a development API key in {ENV_FILE.name}")


def redis_answers(url: str) -> bool:
    try:
        return bool(Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except RedisError:
        return False


def embedded_redis(url: str) -> RedisServer:
    """A redis-server for REDIS_URL's port with AOF on, its data under .data/ (git-ignored).

    It runs in its own session: a Ctrl-C in the terminal reaches honcho and the processes,
    not Redis, which is stopped only after they have (a worker shutting down still writes to it).
    """
    port = urlparse(url).port or 6379
    server = RedisServer(
        DATA_DIR,
        appendonly=True,
        port=port,
        appendfsync="everysec",
        binary=redis_binary(install=True),
        log=DATA_DIR / "redis.log",
    )
    server.start()
    print(f"Started an embedded Redis on port {port} (data in {DATA_DIR})")
    return server


def interrupt_on_sigterm() -> None:
    """SIGTERM stops `make run` as Ctrl-C does: honcho's processes first, then Redis."""

    def raise_interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, raise_interrupt)


def wait_for(processes: subprocess.Popen[bytes]) -> int:
    """Wait until honcho has stopped every process; a Ctrl-C is passed on to it (again) and waited out."""
    interrupted = False
    while True:
        try:
            code = processes.wait()
            return 0 if interrupted or code == HONCHO_STOPPED_BY_SIGINT else code
        except KeyboardInterrupt:
            interrupted = True
            processes.send_signal(signal.SIGINT)  # honcho stops them all once, whatever the count


def print_banner(env: dict[str, str]) -> None:
    base = f"http://127.0.0.1:{env['PORT']}"
    print(f"\n  API docs:  {base}/docs\n  Dashboard: {base}/dashboard/  (any user name, the key as password)")
    print(f"  API key:   {env['API_KEYS'].split(',')[0].rsplit(':', 1)[-1]}")
    print(f"  Redis:     {mask_url(env['REDIS_URL'])}\n")


def honcho_command(port: str, names: list[str]) -> list[str]:
    """honcho on the Procfile, reading no env file: the environment it is given is already merged."""
    honcho = str(Path(sys.executable).parent / "honcho")
    return [honcho, "start", "-f", str(ROOT / "Procfile"), "-e", os.devnull, "-p", port, *names]


def main(names: list[str]) -> int:
    """Run the Procfile's processes (all, or those named) until Ctrl-C or SIGTERM."""
    interrupt_on_sigterm()
    env = merged_env()
    ensure_api_key(env)
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    env.setdefault("PORT", "8000")
    # A Sentinel deployment is never started here: the processes find its master themselves.
    url = env["REDIS_URL"]
    redis = None if is_sentinel_url(url) or redis_answers(url) else embedded_redis(url)
    try:
        print_banner(env)
        processes = subprocess.Popen(honcho_command(env["PORT"], names), env=env, cwd=ROOT)
        return wait_for(processes)
    finally:
        if redis is not None:
            redis.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
