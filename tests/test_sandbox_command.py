"""The bwrap command line: what it mounts, in which order, and what environment it passes."""

from __future__ import annotations

import json
import os
from pathlib import Path

from offline_assistants.tools.code_interpreter.sandbox import (
    SandboxLimits,
    python_roots,
    sandbox_command,
)


def command(tmp_path: Path) -> list[str]:
    return sandbox_command(
        bwrap="/usr/bin/bwrap",
        workdir=tmp_path / "work",
        rundir=tmp_path / "run",
        kernel_argv=["-f", "/run/kernel/connection.json"],
        limits=SandboxLimits(),
    )


def test_private_tmp_is_mounted_before_the_python_binds(tmp_path: Path) -> None:
    # A venv under /tmp (a CI checkout in mktemp, say) must stay visible above the tmpfs.
    argv = command(tmp_path)
    tmpfs = argv.index("--tmpfs")
    for root in python_roots():
        bind = [i for i, a in enumerate(argv[:-4]) if a == "--ro-bind" and argv[i + 1] == str(root)]
        assert bind and bind[0] > tmpfs


def test_environment_is_cleared_and_minimal(tmp_path: Path) -> None:
    os.environ["OA_COMMAND_SECRET"] = "hidden"
    try:
        argv = command(tmp_path)
    finally:
        del os.environ["OA_COMMAND_SECRET"]
    assert "--clearenv" in argv
    names = [argv[i + 1] for i, a in enumerate(argv) if a == "--setenv"]
    assert "OA_COMMAND_SECRET" not in names and "JPY_PARENT_PID" not in names
    assert "hidden" not in " ".join(argv)


def test_only_the_work_and_ipc_directories_are_writable(tmp_path: Path) -> None:
    argv = command(tmp_path)
    writable = [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == "--bind"]
    assert writable == [
        (str(tmp_path / "work"), "/mnt/data"),
        (str(tmp_path / "run"), "/run/kernel"),
    ]
    assert "/etc" not in [argv[i + 1] for i, a in enumerate(argv) if a.startswith("--ro-bind")]


def test_limits_and_identity_reach_the_bootstrap(tmp_path: Path) -> None:
    argv = command(tmp_path)
    config = json.loads(argv[-1])
    assert config["limits"]["RLIMIT_NPROC"] == SandboxLimits().processes
    assert config["limits"]["RLIMIT_CORE"] == 0
    if os.geteuid() == 0:
        assert config["uid"] == 65534 and "--unshare-user" not in argv
    else:
        assert config["uid"] is None and "--disable-userns" in argv
    for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session"):
        assert flag in argv or ("--unshare-all" in argv and flag.startswith("--unshare"))
