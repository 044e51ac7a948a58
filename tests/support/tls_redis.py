"""A redis-server listening only on TLS, with a fresh self-signed certificate for CN=localhost."""

from __future__ import annotations

import shutil
import socket
import subprocess

from bench.harness.redis import RedisServer
from bench.harness.wait import poll_until
from tests.support.needs import missing


class TlsRedisServer(RedisServer):
    """The harness's launcher with TLS on its port and plain TCP off; a build without TLS is 'missing'."""

    @property
    def url(self) -> str:
        return f"rediss://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        cert, key = self.directory / "cert.pem", self.directory / "key.pem"
        argv = [self.binary or "redis-server", "--port", "0", "--tls-port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-ca-cert-file", str(cert)]
        return [*argv, "--tls-auth-clients", "no", "--save", "", "--appendonly", "no", "--dir", str(self.directory)]

    def start(self) -> TlsRedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._make_certificate()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        if not poll_until(self._listens, self.startup_timeout, f"TLS redis-server on port {self.port}"):
            self.stop()
            raise RuntimeError(f"TLS redis-server on port {self.port} did not listen; see {self.log}")
        return self

    def _make_certificate(self) -> None:
        if shutil.which("openssl") is None:
            missing("openssl is not installed (apt-get install openssl): it makes the test certificate")
        key, cert = self.directory / "key.pem", self.directory / "cert.pem"
        command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert)]
        command += ["-days", "1", "-subj", "/CN=localhost"]
        subprocess.run(command, check=True, capture_output=True)

    def _listens(self) -> bool:
        """The TLS port accepts connections; a build without TLS exits on `--tls-port` instead."""
        assert self.process is not None
        if self.process.poll() is not None:
            self.process = None
            missing("this redis-server was built without TLS (Debian's redis-server package has it)")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
        except OSError:
            return False
        return True
