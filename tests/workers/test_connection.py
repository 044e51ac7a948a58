import shutil
import subprocess
from pathlib import Path

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.redis_server import RedisServer, free_port
from workers.connection import connect
from workers.settings import Settings


def test_redis_url(redis_server: RedisServer) -> None:
    assert connect(Settings(redis_url=redis_server.url)).ping()


def test_unix_socket(tmp_path: Path) -> None:
    sock = tmp_path / "redis.sock"
    process = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        client = connect(Settings(redis_url=f"unix://{sock}"))
        for _ in range(100):
            try:
                assert client.ping()
                break
            except RedisConnectionError:
                subprocess.run(["sleep", "0.05"], check=True)
        else:
            pytest.fail("unix socket redis did not answer")
    finally:
        process.terminate()
        process.wait()


def test_unreachable_redis_fails_fast() -> None:
    client = connect(Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    with pytest.raises(RedisConnectionError):
        client.ping()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed to make a certificate")
def test_rediss_self_signed(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--tls-cert-file", str(cert),
         "--tls-key-file", str(key), "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no",
         "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"rediss://127.0.0.1:{port}/0"
        lenient = connect(Settings(redis_url=url, redis_tls_verify=False))
        for _ in range(100):
            try:
                assert lenient.ping()
                break
            except RedisConnectionError:
                if process.poll() is not None:
                    pytest.skip("this redis-server was built without TLS")
                subprocess.run(["sleep", "0.05"], check=True)
        with pytest.raises(RedisConnectionError):
            connect(Settings(redis_url=url, redis_tls_verify=True)).ping()
    finally:
        process.terminate()
        process.wait()
