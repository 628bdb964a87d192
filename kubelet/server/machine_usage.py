"""The node's own CPU and memory, as the kubelet's root container reports them.

The kubelet's node figures are its machine's root cgroup (cadvisor's "/"): on a real
host that is the whole machine; on a compose node, which is a container with its own
cgroup namespace, it is that node container's cgroup, so each node reports what runs
on it and not the host's totals. In that view:
- cgroup v1: cpuacct/cpuacct.usage (ns), memory/memory.usage_in_bytes minus
  total_inactive_file of memory/memory.stat (the working set), memory/memory.limit_in_bytes;
- cgroup v2: cpu.stat usage_usec, memory.current minus inactive_file of memory.stat,
  memory.max;
- when the root has no such files (the v2 root cgroup of a real host) or no cgroup
  is mounted: /proc/stat and /proc/meminfo.
Memory available is the limit (or MemTotal when unlimited) minus the working set.

Kubernetes counterpart: vendor/github.com/google/cadvisor/container/libcontainer
(cgroup stats of the root container), pkg/kubelet/stats/helper.go (workingSet)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
UNLIMITED = 1 << 62  # v1 reports "no limit" as a page-rounded 2^63-1


@dataclass(frozen=True)
class MachineUsage:
    cpu_usage_core_nano_seconds: int
    memory_working_set_bytes: int
    memory_available_bytes: int


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _stat_file(text: str | None) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            values[parts[0]] = int(parts[1])
    return values


def _meminfo(proc: Path) -> dict[str, int]:
    """/proc/meminfo in bytes ("MemTotal:  16 kB" → {"MemTotal": 16384})."""
    values: dict[str, int] = {}
    for line in (_read(proc / "meminfo") or "").splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[name] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return values


def mem_total_bytes(proc: Path = Path("/proc")) -> int:
    return _meminfo(proc).get("MemTotal", 0)


def cgroup_v1_usage(root: Path, mem_total: int) -> MachineUsage | None:
    cpu = _read(root / "cpuacct" / "cpuacct.usage")
    usage = _read(root / "memory" / "memory.usage_in_bytes")
    if cpu is None or usage is None:
        return None
    inactive = _stat_file(_read(root / "memory" / "memory.stat")).get("total_inactive_file", 0)
    working_set = max(0, int(usage) - inactive)
    limit = int((_read(root / "memory" / "memory.limit_in_bytes") or str(UNLIMITED)).strip())
    capacity = mem_total if limit >= UNLIMITED or (mem_total and limit > mem_total) else limit
    return MachineUsage(int(cpu), working_set, max(0, capacity - working_set))


def cgroup_v2_usage(root: Path, mem_total: int) -> MachineUsage | None:
    cpu = _stat_file(_read(root / "cpu.stat")).get("usage_usec")
    current = _read(root / "memory.current")
    if cpu is None or current is None:
        return None
    inactive = _stat_file(_read(root / "memory.stat")).get("inactive_file", 0)
    working_set = max(0, int(current) - inactive)
    limit_text = (_read(root / "memory.max") or "max").strip()
    capacity = mem_total if limit_text == "max" or (mem_total and int(limit_text) > mem_total) else int(limit_text)
    return MachineUsage(cpu * 1000, working_set, max(0, capacity - working_set))


def proc_usage(proc: Path = Path("/proc")) -> MachineUsage | None:
    """Busy CPU time of all cores (/proc/stat) and memory in use (/proc/meminfo)."""
    try:
        fields = [int(v) for v in (_read(proc / "stat") or "").splitlines()[0].split()[1:]]
    except (ValueError, IndexError):
        return None
    meminfo = _meminfo(proc)
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    busy_ns = (sum(fields[:8]) - idle) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    available = meminfo.get("MemAvailable", meminfo.get("MemFree", 0))
    return MachineUsage(busy_ns, meminfo.get("MemTotal", 0) - available, available)


def read_machine_usage(root: Path = CGROUP_ROOT, proc: Path = Path("/proc")) -> MachineUsage | None:
    """The root cgroup's usage (v1, then v2), else the machine's from /proc."""
    mem_total = mem_total_bytes(proc)
    return cgroup_v1_usage(root, mem_total) or cgroup_v2_usage(root, mem_total) or proc_usage(proc)
