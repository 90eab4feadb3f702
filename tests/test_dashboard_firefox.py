"""The Dashboard in a real headless Firefox too: the Math Tutor's path, end to end.

Firefox (Debian's ``firefox-esr``, which set-up installs as root) is driven over its
own Marionette protocol (``marionette-driver``), which needs no separate driver
binary. Like the Chromium tests, this one skips with a how-to where there is no
Firefox, and fails instead under ``.ci/run``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .browser import API_KEY, WATCH, client_for, plain, screenshots_dir, unavailable
from .conftest import EQUATION, MATH_TUTOR
from .servers import free_port

HOW_TO = (
    "run scripts/setup as root (it installs Debian's firefox-esr), or apt-get install firefox-esr"
)


@pytest.fixture(scope="module")
def firefox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    binary = shutil.which("firefox-esr") or shutil.which("firefox")
    if not binary:
        unavailable(f"no Firefox for the Dashboard's Firefox test: {HOW_TO}")
    try:
        from marionette_driver.marionette import Marionette
    except ImportError:
        unavailable("marionette-driver is missing: pip install -e '.[dev]' (scripts/setup does)")
    log = tmp_path_factory.mktemp("firefox") / "gecko.log"  # not the working directory
    driver = Marionette(
        host="127.0.0.1", port=free_port(), bin=binary, headless=True, gecko_log=str(log)
    )
    driver.start_session()
    try:
        yield driver
    finally:
        profile = driver.instance.profile
        driver.delete_session()
        driver.cleanup()
        profile.cleanup()  # now, not in a destructor at interpreter exit


def until(check: Callable[[], Any], timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s")


def test_math_tutor_in_firefox(firefox: Any, dashboard_origin: str) -> None:
    sdk = client_for(dashboard_origin)

    def js(script: str, script_args: list[Any] | None = None) -> Any:
        # One sandbox for all calls: what a script leaves on window, the next one sees.
        return firefox.execute_script(script, script_args=script_args or [], new_sandbox=False)

    firefox.navigate(f"{dashboard_origin}/#/assistants/new")
    until(lambda: js("return document.getElementById('key-dialog').open"))
    js("document.getElementById('key-input').value = arguments[0]", script_args=[API_KEY])
    js("document.getElementById('key-save').click()")
    until(lambda: js("return document.getElementById('as-name')"))
    js(
        """const [name, instructions] = arguments;
        document.getElementById('as-name').value = name;
        document.getElementById('as-instructions').value = instructions;
        document.getElementById('as-temperature').value = '0';
        document.getElementById('as-code-interpreter').checked = true;
        document.getElementById('as-save').click();""",
        script_args=["Math Tutor", MATH_TUTOR],
    )
    tutor = until(lambda: [a for a in sdk.beta.assistants.list().data if a.name == "Math Tutor"])[0]
    assert [t.type for t in tutor.tools] == ["code_interpreter"] and tutor.temperature == 0
    # The page moves to the saved assistant's view once the POST returns; going on before
    # that, its hash change can land after ours and take the page away from the Playground.
    until(lambda: js("return location.hash") == f"#/assistants/{tutor.id}")

    firefox.navigate(f"{dashboard_origin}/#/playground?assistant={tutor.id}")
    until(lambda: js("return document.getElementById('pg-input')"))
    js(f"({WATCH})()")
    js(
        """document.getElementById('pg-max-tokens').value = '200';
        document.getElementById('pg-input').value = arguments[0];
        document.getElementById('pg-send').click();""",
        script_args=[EQUATION],
    )
    status = "return document.getElementById('pg-run-details')?.dataset.status"
    assert until(lambda: js(status) in ("completed", "failed") and js(status)) == "completed"
    thread_id = js("return document.querySelector('#pg-thread a').textContent")
    answer = sdk.beta.threads.messages.list(thread_id).data[0].content[0].text.value  # type: ignore[union-attr]
    shown = js(
        "const t = document.querySelectorAll('.message.assistant .text'); return t[t.length - 1].innerText"
    )
    assert " ".join(shown.split()) == plain(answer)
    seen = js("return window.seen")
    partial = {n for n, s in seen if 0 < n < len(shown) and s == "in_progress"}
    assert len(partial) >= 3, seen[:20]  # streamed, in Firefox's fetch reader too
    (screenshots_dir() / "firefox-playground.png").write_bytes(
        firefox.screenshot(format="binary", full=True)
    )
    offsite = js(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(u => !u.startsWith(arguments[0]))",
        script_args=[dashboard_origin + "/"],
    )
    assert offsite == []
