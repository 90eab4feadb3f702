"""The bwrap command line: what it mounts, in which order, and what environment it passes."""

from __future__ import annotations

import json
import os
from pathlib import Path

from offline_assistants.tools.code_interpreter.budget import sandbox_uid
from offline_assistants.tools.code_interpreter.sandbox import (
    SandboxLimits,
    python_roots,
    sandbox_command,
)


def command(tmp_path: Path, uid: int | None = None) -> list[str]:
    return sandbox_command(
        bwrap="/usr/bin/bwrap",
        workdir=tmp_path / "work",
        rundir=tmp_path / "run",
        kernel_argv=["-f", "/run/kernel/connection.json"],
        limits=SandboxLimits(),
        uid=uid,
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
    as_root = command(tmp_path, uid=sandbox_uid())
    config = json.loads(as_root[-1])
    assert config["limits"]["RLIMIT_NPROC"] == SandboxLimits().processes
    assert config["limits"]["RLIMIT_CORE"] == 0
    assert config["uid"] >= 1 << 31 and config["gid"] == config["uid"]  # a sandbox's own
    assert "--unshare-user" not in as_root and "CAP_SETUID" in as_root
    as_user = command(tmp_path)
    assert json.loads(as_user[-1])["uid"] is None and "--disable-userns" in as_user
    for argv in (as_root, as_user):
        for flag in ("--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session"):
            assert flag in argv or ("--unshare-all" in argv and flag.startswith("--unshare"))


def test_every_sandbox_gets_a_uid_of_its_own() -> None:
    assert len({sandbox_uid() for _ in range(50)}) > 45
