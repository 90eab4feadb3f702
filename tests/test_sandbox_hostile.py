"""Hostile code against the sandbox: every snippet tries an escape and must fail.

Each snippet prints BLOCKED when the attempt failed the way the sandbox makes
it fail, and ESCAPED if it got through; a test passes only on BLOCKED. The
host side plants what there is to steal: a DuckDB database, a secret file
and an environment secret, a TCP and a UDP listener and a unix socket, all
opened by this test on 127.0.0.1 or under its own temporary directory
(nothing is ever aimed at another address).
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from offline_assistants.store import Store
from offline_assistants.tools.code_interpreter import Execution, SandboxedKernel

SECRET = "s3cret-" + os.urandom(6).hex()


@dataclass
class Host:
    kernel: SandboxedKernel
    root: Path
    database: Path
    secret_file: Path
    tcp: socket.socket
    udp: socket.socket
    unix_path: Path


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    root = tmp_path_factory.mktemp("host")
    database = root / "data" / "offline-assistants.duckdb"
    database.parent.mkdir()
    Store(database).close()  # a real runtime database next to the work directories
    secret_file = root / "secret.txt"
    secret_file.write_text(SECRET)
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    tcp.setblocking(False)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)
    unix_path = root / "host.sock"
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(unix_path))
    unix.listen()
    os.environ["OA_HOSTILE_SECRET"] = SECRET
    try:
        kernel = SandboxedKernel(root / "data" / "code_interpreter" / "k1")
        kernel.start()
    finally:
        del os.environ["OA_HOSTILE_SECRET"]
    yield Host(kernel, root, database, secret_file, tcp, udp, unix_path)
    kernel.shutdown()
    for sock in (tcp, udp, unix):
        sock.close()


def _python_roots() -> list[str]:
    import sys

    return [str(Path(sys.base_prefix).resolve()), str(Path(sys.prefix).resolve())]


def run(host: Host, code: str, timeout: float = 20) -> Execution:
    result = host.kernel.execute(code, timeout=timeout)
    assert "ESCAPED" not in result.logs, result.logs
    assert SECRET not in result.logs
    return result


def blocked(host: Host, code: str, timeout: float = 20) -> Execution:
    result = run(host, code, timeout)
    assert "BLOCKED" in result.logs, result.logs
    return result


def attempt(action: str, errors: str = "OSError") -> str:
    """A snippet that runs ``action`` and reports whether it failed with ``errors``."""
    body = "\n".join("    " + line for line in action.strip().splitlines())
    return f"try:\n{body}\n    print('ESCAPED')\nexcept ({errors}) as exc:\n    print('BLOCKED', type(exc).__name__)\n"


# -- files --------------------------------------------------------------------------------


def test_cannot_read_the_runtime_database(host: Host) -> None:
    blocked(host, attempt(f"open({str(host.database)!r}, 'rb').read()"))


def test_cannot_list_the_data_directory(host: Host) -> None:
    blocked(host, attempt(f"import os; print(os.listdir({str(host.database.parent)!r}))"))


def test_cannot_read_a_host_file(host: Host) -> None:
    blocked(host, attempt(f"print(open({str(host.secret_file)!r}).read())"))


def test_cannot_read_the_users_home(host: Host) -> None:
    home = os.path.expanduser("~")
    result = run(
        host,
        f"import os\ntry:\n    print(sorted(os.listdir({home!r})))\nexcept OSError:\n    print([])",
    )
    seen = set(eval(result.logs.strip()))  # noqa: S307 - a list literal we printed
    # At most the path down to the Python prefix, when the interpreter lives in the home.
    needed = {
        Path(p).relative_to(home).parts[0] for p in _python_roots() if p.startswith(home + "/")
    }
    assert seen <= needed
    assert not (set(os.listdir(home)) - needed) & seen


def test_cannot_read_etc_passwd(host: Host) -> None:
    blocked(host, attempt("print(open('/etc/passwd').read())"))


def test_cannot_read_etc_shadow(host: Host) -> None:
    blocked(host, attempt("print(open('/etc/shadow').read())"))


def test_environment_holds_no_parent_secret(host: Host) -> None:
    result = run(
        host,
        "import os\nprint(open('/proc/self/environ', 'rb').read().decode(errors='replace'))\n"
        "print(sorted(os.environ))",
    )
    assert "OA_HOSTILE_SECRET" not in result.logs and "JPY_PARENT_PID" not in result.logs


def test_cannot_see_host_processes(host: Host) -> None:
    result = run(
        host,
        "import os\npids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
        "print(len(pids), pids)\n"
        "print([open(f'/proc/{p}/cmdline','rb').read() for p in pids])",
    )
    assert repr(Path("/proc/self/cmdline").read_bytes()) not in result.logs
    assert int(result.logs.split()[0]) < 10  # bwrap's init, the kernel and its helpers only


def test_cannot_reach_another_kernels_connection_file(host: Host, tmp_path: Path) -> None:
    with SandboxedKernel(tmp_path / "other") as other:
        assert other._home is not None
        secret_dir = str(other._home)
        blocked(host, attempt(f"import os; print(os.listdir({secret_dir!r}))"))
    result = run(
        host, "import glob, os\nprint(glob.glob('/tmp/oa-kernel-*'), os.listdir('/run/kernel'))"
    )
    assert "oa-kernel" not in result.logs.split("]")[0]


def test_cannot_write_outside_the_work_directory(host: Host) -> None:
    blocked(host, attempt("open('/usr/pwned', 'w').write('x')"))


def test_cannot_modify_the_python_environment(host: Host) -> None:
    import sysconfig

    site = sysconfig.get_paths()["purelib"]
    blocked(host, attempt(f"open({site!r} + '/pwned.py', 'w').write('x')"))


def test_no_sys_filesystem(host: Host) -> None:
    blocked(host, attempt("import os; print(os.listdir('/sys/class/net'))"))


def test_cannot_become_root(host: Host) -> None:
    blocked(host, attempt("import os; os.setuid(0); open('/proc/1/environ').read()"))


# -- network ------------------------------------------------------------------------------


def test_cannot_connect_to_a_host_tcp_listener(host: Host) -> None:
    port = host.tcp.getsockname()[1]
    blocked(
        host,
        attempt(f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3)"),
    )
    assert select.select([host.tcp], [], [], 0.5)[0] == []  # nothing ever arrived


def test_cannot_send_udp_to_the_host(host: Host) -> None:
    port = host.udp.getsockname()[1]
    run(
        host,
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        f"try:\n    s.sendto(b'leak', ('127.0.0.1', {port}))\nexcept OSError as e:\n    print(e)",
    )
    assert select.select([host.udp], [], [], 0.5)[0] == []


def test_only_a_loopback_interface(host: Host) -> None:
    result = run(host, "import socket; print(socket.if_nameindex())")
    assert result.logs.strip() == "[(1, 'lo')]"


def test_cannot_reach_a_host_unix_socket(host: Host) -> None:
    blocked(
        host,
        attempt(
            f"import socket; s = socket.socket(socket.AF_UNIX); s.connect({str(host.unix_path)!r})"
        ),
    )


# -- resources ----------------------------------------------------------------------------


def test_memory_bomb_gets_memory_error(host: Host) -> None:
    blocked(host, attempt("x = bytearray(8 << 30)", "MemoryError"))


def test_growing_memory_bomb_gets_memory_error(host: Host) -> None:
    blocked(
        host,
        attempt("chunks = []\nwhile True:\n    chunks.append(bytearray(64 << 20))", "MemoryError"),
    )
    run(host, "chunks = None")


def test_huge_file_stops_at_the_size_limit(host: Host) -> None:
    blocked(
        host,
        attempt(
            "with open('/mnt/data/huge.bin', 'wb') as f:\n"
            "    for _ in range(1024):\n        f.write(b'\\0' * (1 << 20))"
        ),
    )
    size = (host.kernel.workdir / "huge.bin").stat().st_size
    assert size <= host.kernel.limits.file_size_bytes
    run(host, "import os; os.remove('/mnt/data/huge.bin')")


def test_private_tmp_is_capped(host: Host) -> None:
    blocked(
        host,
        attempt(
            "for i in range(8):\n    with open(f'/tmp/fill{i}', 'wb') as f:\n"
            "        for _ in range(100):\n            f.write(b'\\0' * (1 << 20))"
        ),
    )
    run(host, "import glob, os\nfor p in glob.glob('/tmp/fill*'):\n    os.remove(p)")


def test_fork_bomb_is_contained(host: Host) -> None:
    result = run(
        host,
        "import subprocess, sys, time\n"
        "bomb = 'import os\\nwhile True:\\n    try:\\n        os.fork()\\n    except OSError:\\n        pass'\n"
        "subprocess.Popen([sys.executable, '-c', bomb])\n"
        "time.sleep(3)\n"
        "import os\nprint(len([p for p in os.listdir('/proc') if p.isdigit()]))",
        timeout=30,
    )
    count = int(result.logs.split()[0])
    assert count <= host.kernel.limits.processes
    assert subprocess.run(["true"], check=False).returncode == 0  # the host can still fork
    # What the bomb left was stopped as the cell ended (or, if it outran that, the kernel
    # restarted, taking the sandbox's PID namespace with it): the next cell runs.
    assert "[stopped " in result.logs or "restarted" in result.logs, result.logs
    assert host.kernel.execute("print('calm')").logs == "calm\n"


def test_too_many_open_files(host: Host) -> None:
    blocked(host, attempt("files = [open('/dev/null') for _ in range(100000)]"))
    run(host, "files = None")


def test_huge_output_is_capped(host: Host) -> None:
    result = run(host, "print('x' * 5_000_000)")
    assert len(result.logs) < host.kernel.output_limits.max_log_chars + 200
    assert "[output truncated:" in result.logs


def test_infinite_loop_is_interrupted(host: Host) -> None:
    result = run(host, "while True:\n    pass", timeout=1)
    assert result.status == "timeout"
    assert host.kernel.execute("print('after')").logs == "after\n"


def test_loop_trapping_interrupts_is_stopped_by_restart(host: Host) -> None:
    result = run(
        host,
        "while True:\n    try:\n        while True:\n            pass\n"
        "    except KeyboardInterrupt:\n        pass",
        timeout=1,
    )
    assert result.status == "timeout" and result.restarted
    assert host.kernel.execute("print('after')").logs == "after\n"


def test_killing_the_parent_harms_nothing_outside(host: Host) -> None:
    run(
        host,
        "import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\nexcept OSError as e:\n    print(e)",
    )
    run(
        host,
        "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError as e:\n    print(e)",
    )
    assert os.getpid() > 0 and Path(f"/proc/{os.getpid()}").exists()  # we are alive
    assert host.kernel.execute("print('recovered')").logs.endswith("recovered\n")


# -- the file collector -------------------------------------------------------------------


def test_planted_symlink_is_not_followed(host: Host) -> None:
    result = run(
        host,
        f"import os\nos.symlink({str(host.secret_file)!r}, '/mnt/data/link.txt')\n"
        f"os.symlink({str(host.root)!r}, '/mnt/data/dirlink')\n"
        f"os.symlink('/etc', '/mnt/data/etc')",
    )
    assert result.files == []
    run(
        host, "import os\nfor n in ('link.txt', 'dirlink', 'etc'):\n    os.remove('/mnt/data/' + n)"
    )


def test_planted_fifo_does_not_block_the_collector(host: Host) -> None:
    result = run(
        host, "import os\nos.mkfifo('/mnt/data/pipe')\nopen('/mnt/data/ok.txt', 'w').write('ok')"
    )
    assert [(f.name, f.data) for f in result.files] == [("ok.txt", b"ok")]
    run(host, "import os\nos.remove('/mnt/data/pipe'); os.remove('/mnt/data/ok.txt')")


def test_symlink_planted_where_an_input_file_goes_is_replaced(host: Host) -> None:
    from offline_assistants.tools.code_interpreter.workdir import place_file

    run(host, f"import os\nos.symlink({str(host.secret_file)!r}, '/mnt/data/input.csv')")
    place_file(host.kernel.workdir, "input.csv", b"a,b\n", None)
    assert host.secret_file.read_text() == SECRET  # the host file was not written through
    assert run(host, "print(open('/mnt/data/input.csv').read())").logs == "a,b\n\n"
