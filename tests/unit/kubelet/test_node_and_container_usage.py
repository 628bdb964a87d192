"""Usage figures behind `top` and the autoscaler: docker stats documents and the node's cgroup files."""

from __future__ import annotations

from pathlib import Path

from kubelet.runtime.docker_streams import parse_docker_stats
from kubelet.runtime.fake import parse_usage_annotation
from kubelet.server.machine_usage import MachineUsage, read_machine_usage

# Recorded on a compose node (cgroup v1, its own dockerd): GET /containers/{id}/stats?stream=false.
DOCKER_STATS_V1 = {
    "read": "2026-12-03T15:04:10.123456789Z",
    "cpu_stats": {"cpu_usage": {"total_usage": 720871976, "percpu_usage": [318624289, 402247687],
                                "usage_in_kernelmode": 130000000, "usage_in_usermode": 580000000},
                  "system_cpu_usage": 44643830000000, "online_cpus": 2},
    "memory_stats": {"usage": 38359040, "max_usage": 38866944, "limit": 25275973632, "stats": {
        "active_anon": 8192, "active_file": 16384, "cache": 32768, "inactive_anon": 36589568,
        "inactive_file": 16384, "rss": 36597760, "total_active_file": 16384, "total_cache": 32768,
        "total_inactive_anon": 36589568, "total_inactive_file": 16384, "total_rss": 36597760}},
}
# The same shape on a cgroup v2 host: no total_* fields.
DOCKER_STATS_V2 = {
    "read": "2026-12-03T15:04:20Z",
    "cpu_stats": {"cpu_usage": {"total_usage": 5_000_000_000}},
    "memory_stats": {"usage": 104857600, "limit": 8589934592, "stats": {
        "anon": 73400320, "file": 31457280, "active_file": 10485760, "inactive_file": 20971520}},
}


def test_docker_stats_working_set_is_usage_minus_inactive_file_on_cgroup_v1_and_v2() -> None:
    usage, working_set, read_ns = parse_docker_stats(DOCKER_STATS_V1)
    assert usage == 720871976
    assert working_set == 38359040 - 16384
    assert read_ns == 1_796_310_250_123_456_789
    assert parse_docker_stats(DOCKER_STATS_V2)[:2] == (5_000_000_000, 104857600 - 20971520)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def proc(tmp_path: Path, total_kib: int = 16 * 1024 * 1024) -> Path:
    return write(tmp_path / "proc", {
        "meminfo": f"MemTotal:       {total_kib} kB\nMemFree:         1000 kB\nMemAvailable:   {total_kib // 2} kB\n",
        "stat": "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 50 0 50 400 0 0 0 0 0 0\n"})


def test_a_node_container_on_cgroup_v1_reports_its_own_cgroup_not_the_host(tmp_path: Path) -> None:
    root = write(tmp_path / "cgroup", {
        "cpuacct/cpuacct.usage": "123456789\n",
        "memory/memory.usage_in_bytes": "1013223424\n",
        "memory/memory.stat": "cache 300000000\ninactive_file 1\ntotal_inactive_file 213223424\n",
        "memory/memory.limit_in_bytes": "9223372036854771712\n"})
    usage = read_machine_usage(root, proc(tmp_path))
    assert usage == MachineUsage(123456789, 800_000_000, 16 * 1024 ** 3 - 800_000_000)


def test_a_node_container_on_cgroup_v2_with_a_memory_limit(tmp_path: Path) -> None:
    root = write(tmp_path / "cgroup", {
        "cpu.stat": "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n",
        "memory.current": "524288000\n",
        "memory.stat": "anon 400000000\nfile 124288000\ninactive_file 24288000\n",
        "memory.max": "1073741824\n"})
    usage = read_machine_usage(root, proc(tmp_path))
    assert usage == MachineUsage(2_500_000_000, 500_000_000, 1073741824 - 500_000_000)


def test_without_cgroup_files_the_machine_figures_come_from_proc(tmp_path: Path) -> None:
    usage = read_machine_usage(tmp_path / "no-cgroup", proc(tmp_path, total_kib=1024))
    assert usage is not None
    assert (usage.memory_working_set_bytes, usage.memory_available_bytes) == (512 * 1024, 512 * 1024)
    assert usage.cpu_usage_core_nano_seconds > 0


def test_the_hollow_usage_annotation() -> None:
    assert parse_usage_annotation("cpu=250m,memory=64Mi", (1, 2)) == (250_000_000, 64 << 20)
    assert parse_usage_annotation("cpu=2", (1, 2)) == (2_000_000_000, 2)
    assert parse_usage_annotation("cpu=lots, memory=1Ki", (1, 2)) == (1, 1024)
