"""Hosts as Linux network namespaces, joined by a bridge: several machines' worth of network on one.

Each host is a namespace `rqs-<pid>-<host>` with its loopback up and one veth
(`eth0`) into a bridge that lives in a switch namespace of its own
(`rqs-<pid>-sw`), so no host interface is added to the root namespace but the
observer's: one veth from the root namespace into the same bridge, with the
private /24's last address, so the test or benchmark can reach the web and
Redis it started. Traffic stays between these namespaces (and the observer).

A partition takes a host's port on the switch down (`ip link set <host> down`
in the switch namespace): its packets are dropped, as with a pulled cable, so
its connections hang until their timeouts instead of failing at once. `heal`
brings it up again. Processes run in a host with `wrap(host)` as the command
prefix (`ip netns exec <ns>`), through the usual process owner; the exec keeps
the pid, so stopping and killing them works as for any other child.

`Hosts` is a context manager: on exit, pass or fail, every namespace it made
is deleted (and with them every veth and the bridge). Stop the processes in
them first: open `Hosts` outside the `Processes` that uses it.
"""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
from types import TracebackType

PREFIX = "rqs-"
SWITCH = "sw"
BRIDGE = "br0"
HOST_NAME = re.compile(r"^[a-z][a-z0-9]{0,9}$")  # also the switch port's name: at most 15 characters


def ip(*args: str) -> str:
    """Run `ip <args>`; a failure raises with ip's own message."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def namespaces() -> list[str]:
    """Every network namespace's name (`ip netns list`)."""
    return [line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()]


def owner_pid(namespace: str) -> int | None:
    """The pid in a `rqs-<pid>-<host>` name; None for any other name."""
    match = re.match(rf"^{PREFIX}(\d+)-", namespace)
    return int(match.group(1)) if match else None


def delete_namespace(namespace: str) -> None:
    subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)


def free_subnet(pid: int) -> ipaddress.IPv4Network:
    """A private 10.x.y.0/24, picked from the pid, that no route of the root namespace covers."""
    routes = ip("-4", "route", "show", "table", "all")
    used = [ipaddress.ip_network(word, strict=False) for word in re.findall(r"\b\d+\.\d+\.\d+\.\d+/\d+\b", routes)]
    for step in range(256 * 200):
        index = (pid * 7 + step) % (256 * 200)
        subnet = ipaddress.ip_network(f"10.{55 + index // 256}.{index % 256}.0/24")
        if not any(subnet.overlaps(other) for other in used):
            return subnet
    raise RuntimeError("no free 10.x.y.0/24 subnet")


class Hosts:
    """Named hosts on one bridge; `address(host)`, `wrap(host)`, `partition(host)`, `heal(host)`."""

    def __init__(self, names: list[str]) -> None:
        for name in names:
            if not HOST_NAME.match(name) or name == SWITCH:
                raise ValueError(f"host name {name!r}: lowercase letters and digits, at most 10, not {SWITCH!r}")
        self.names = list(names)
        self.pid = os.getpid()
        self.subnet = free_subnet(self.pid)
        hosts = list(self.subnet.hosts())
        self.addresses = {name: str(hosts[index]) for index, name in enumerate(self.names, start=1)}
        self.observer_address = str(hosts[-1])
        self.observer_link = f"rqs{self.pid}"[:15]
        self.made: list[str] = []

    def namespace(self, host: str) -> str:
        return f"{PREFIX}{self.pid}-{host}"

    def address(self, host: str) -> str:
        return self.addresses[host]

    def wrap(self, host: str) -> list[str]:
        """The command prefix that runs a command inside `host`."""
        return ["ip", "netns", "exec", self.namespace(host)]

    def start(self) -> Hosts:
        try:
            self._make_switch()
            for host in self.names:
                self._make_host(host)
            self._attach_observer()
        except BaseException:
            self.stop()
            raise
        return self

    def partition(self, host: str) -> None:
        """Cut `host` off the network: its switch port goes down, its packets are dropped."""
        ip("-n", self.namespace(SWITCH), "link", "set", "dev", host, "down")

    def heal(self, host: str) -> None:
        ip("-n", self.namespace(SWITCH), "link", "set", "dev", host, "up")

    def stop(self) -> None:
        """Delete every namespace made (their veths and the bridge go with them), the switch last."""
        for namespace in reversed(self.made):
            delete_namespace(namespace)
        self.made.clear()
        subprocess.run(["ip", "link", "del", self.observer_link], capture_output=True, check=False)

    def __enter__(self) -> Hosts:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _add_namespace(self, name: str) -> str:
        namespace = self.namespace(name)
        ip("netns", "add", namespace)
        self.made.append(namespace)
        ip("-n", namespace, "link", "set", "dev", "lo", "up")
        return namespace

    def _make_switch(self) -> None:
        switch = self._add_namespace(SWITCH)
        ip("-n", switch, "link", "add", BRIDGE, "type", "bridge")
        ip("-n", switch, "link", "set", "dev", BRIDGE, "up")

    def _make_host(self, host: str) -> None:
        namespace, switch = self._add_namespace(host), self.namespace(SWITCH)
        ip("-n", namespace, "link", "add", "eth0", "type", "veth", "peer", "name", host, "netns", switch)
        self._plug(switch, host)
        ip("-n", namespace, "addr", "add", f"{self.addresses[host]}/{self.subnet.prefixlen}", "dev", "eth0")
        ip("-n", namespace, "link", "set", "dev", "eth0", "up")

    def _attach_observer(self) -> None:
        """The root namespace's one link into the bridge: how the caller reaches the hosts."""
        switch = self.namespace(SWITCH)
        ip("link", "add", self.observer_link, "type", "veth", "peer", "name", "observer", "netns", switch)
        self._plug(switch, "observer")
        ip("addr", "add", f"{self.observer_address}/{self.subnet.prefixlen}", "dev", self.observer_link)
        ip("link", "set", "dev", self.observer_link, "up")

    def _plug(self, switch: str, port: str) -> None:
        ip("-n", switch, "link", "set", "dev", port, "master", BRIDGE)
        ip("-n", switch, "link", "set", "dev", port, "up")


def leftover_namespaces(pid: int) -> list[str]:
    """`rqs-*` namespaces made by `pid` or by a process no longer alive: what a run failed to delete."""
    found = []
    for namespace in namespaces():
        owner = owner_pid(namespace)
        if owner is not None and (owner == pid or not os.path.exists(f"/proc/{owner}")):
            found.append(namespace)
    return found
