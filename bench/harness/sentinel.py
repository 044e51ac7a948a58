"""A Sentinel deployment on 127.0.0.1: one master, two replicas, three sentinels, all real processes.

Used by the failover tests and `python -m bench failover`. Sentinels notice a dead master
after `down_after_ms` and promote a replica; the clients (workers/core/connection.py) find
the new master through them. Everything listens on free ports, never 6379.
"""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path
from types import TracebackType

from redis import Redis
from redis.exceptions import RedisError

from bench.harness.ports import free_port
from bench.harness.redis import STOP_GRACE_SECONDS, RedisServer, redis_binary
from bench.harness.wait import wait_until

SERVICE = "rqs-master"
# Every node may become master: a fresh replica syncs at once (no 5 s diskless delay).
NODE_ARGS = ("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0", "--replica-serve-stale-data", "yes")


class SentinelProcess:
    """One `redis-server --sentinel` with its own (rewritable) config file."""

    def __init__(
        self, directory: Path, master_port: int, down_after_ms: int, failover_timeout_ms: int, password: str | None
    ) -> None:
        self.directory = directory
        self.port = free_port()
        self.config = directory / "sentinel.conf"
        self.log = directory / "sentinel.log"
        self.lines = [
            f"port {self.port}",
            "bind 127.0.0.1",
            f"dir {directory}",
            f"sentinel monitor {SERVICE} 127.0.0.1 {master_port} 2",
            f"sentinel down-after-milliseconds {SERVICE} {down_after_ms}",
            f"sentinel failover-timeout {SERVICE} {failover_timeout_ms}",
            f"sentinel parallel-syncs {SERVICE} 1",
        ]
        if password is not None:  # clients need REDIS_SENTINEL_PASSWORD; the sentinels use it with each other
            self.lines += [f"requirepass {password}", f"sentinel sentinel-pass {password}"]
        self.process: subprocess.Popen[bytes] | None = None
        self.client = Redis(
            host="127.0.0.1", port=self.port, password=password, socket_connect_timeout=0.5, socket_timeout=5
        )

    def start(self) -> SentinelProcess:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.config.write_text("\n".join(self.lines) + "\n")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [redis_binary(), str(self.config), "--sentinel"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._answers, 10, f"sentinel on port {self.port}")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_GRACE_SECONDS)
        self.process = None
        self.client.connection_pool.disconnect()

    def master_port(self) -> int | None:
        try:
            address = self.client.sentinel_get_master_addr_by_name(SERVICE)
        except RedisError:
            return None
        return int(address[1]) if address else None

    def _answers(self) -> bool:
        try:
            return bool(self.client.ping())
        except RedisError:
            return False


class SentinelDeployment:
    """Master, replicas and sentinels; `kill_master()` is a crash, `wait_for_new_master()` the failover."""

    def __init__(
        self,
        directory: Path,
        replicas: int = 2,
        sentinels: int = 3,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 3000,
        sentinel_password: str | None = None,
    ) -> None:
        self.directory = directory
        self.master = RedisServer(directory / "node-0", extra_args=NODE_ARGS)
        replica_args = (*NODE_ARGS, "--replicaof", "127.0.0.1", str(self.master.port))
        self.replicas = [RedisServer(directory / f"node-{n}", extra_args=replica_args) for n in range(1, replicas + 1)]
        self.sentinels = [
            SentinelProcess(
                directory / f"sentinel-{n}", self.master.port, down_after_ms, failover_timeout_ms, sentinel_password
            )
            for n in range(sentinels)
        ]
        self.killed: list[RedisServer] = []

    @property
    def nodes(self) -> list[RedisServer]:
        return [self.master, *self.replicas]

    def url(self, db: int = 0, scheme: str = "redis+sentinel") -> str:
        hosts = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in self.sentinels)
        return f"{scheme}://{hosts}/{SERVICE}/{db}"

    def start(self) -> SentinelDeployment:
        try:
            self.master.start()
            for replica in self.replicas:
                replica.start()
            wait_until(self._replicas_in_sync, 20, "the replicas' first sync")
            for sentinel in self.sentinels:
                sentinel.start()
            wait_until(self._sentinels_see_everyone, 20, "the sentinels to discover replicas and each other")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for sentinel in self.sentinels:  # first, so no failover starts while the nodes go
            sentinel.stop()
        for node in [*self.nodes, *self.killed]:
            node.stop()

    def current_master_port(self) -> int | None:
        """The master as the sentinels report it (the first that answers)."""
        for sentinel in self.sentinels:
            port = sentinel.master_port()
            if port is not None:
                return port
        return None

    def kill_master(self) -> RedisServer:
        """SIGKILL the node that is master now: a crash, no goodbye to replicas or clients."""
        port = self.current_master_port()
        node = next(node for node in self.nodes if node.port == port)
        node.kill()
        self.killed.append(node)
        return node

    def wait_for_new_master(self, old_port: int, timeout: float = 30) -> int:
        """The port of the promoted replica, once the sentinels name it and it accepts writes."""

        def promoted() -> bool:
            port = self.current_master_port()
            return port not in (None, old_port) and self._is_writable_master(port)

        wait_until(promoted, timeout, "a sentinel failover")
        port = self.current_master_port()
        assert port is not None
        return port

    def client(self, port: int, db: int = 0) -> Redis:
        return Redis(host="127.0.0.1", port=port, db=db, socket_connect_timeout=0.5, socket_timeout=5)

    def _is_writable_master(self, port: int | None) -> bool:
        if port is None:
            return False
        try:
            with contextlib.closing(self.client(port)) as client:
                return client.info("replication")["role"] == "master"
        except RedisError:
            return False

    def _replicas_in_sync(self) -> bool:
        try:
            info = self.master.client.info("replication")
        except RedisError:
            return False
        states = [info.get(f"slave{n}", {}).get("state") for n in range(len(self.replicas))]
        return all(state == "online" for state in states)

    def _sentinels_see_everyone(self) -> bool:
        for sentinel in self.sentinels:
            try:
                master = sentinel.client.sentinel_master(SERVICE)
            except RedisError:
                return False
            if int(master.get("num-slaves", 0)) < len(self.replicas):
                return False
            if int(master.get("num-other-sentinels", 0)) < len(self.sentinels) - 1:
                return False
        return True

    def __enter__(self) -> SentinelDeployment:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
