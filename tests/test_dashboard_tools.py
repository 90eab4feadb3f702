"""The Dashboard with the built-in tools, in a real headless Chromium against the real server.

Code Interpreter: the step's code, its logs and the plot's image inline, in the
steps and in the answer (the model's choice of code is scripted, as in
test_code_interpreter.py; the kernel, the sandbox, the store and the page are
real). Files: the paper uploaded with the file picker and a broken PDF dropped on
the page, a vector store whose ingestion the page follows to ``completed`` and to
``failed`` with its reason, an assistant searching it, and a citation followed
to its excerpt (all real, the model included).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from offline_assistants.config import Settings
from offline_assistants.server import create_app
from offline_assistants.server.background import BackgroundServer
from offline_assistants.service import Runtime

from .browser import API_KEY, Tab, client_for
from .documents import PDF
from .fakes import ScriptedEngine, code_call

PLOT = (
    "import matplotlib.pyplot as plt\nimport numpy as np\n"
    "x = np.linspace(0, 6.3, 50)\nplt.plot(x, np.sin(x))\nplt.title('sine')\nplt.show()\n"
    "print('plotted', len(x), 'points')"
)
# A picture is loaded when the browser has decoded it: it then has a natural size.
IMAGES_LOADED = """sel => {
  const images = [...document.querySelectorAll(sel)];
  return images.length > 0 && images.every(img => img.complete && img.naturalWidth > 0);
}"""


@pytest.fixture(scope="module")
def scripted_origin(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, ScriptedEngine]]:
    engine = ScriptedEngine(chunk=8)
    data_dir = tmp_path_factory.mktemp("dashboard-code") / "data"
    runtime = Runtime(Settings.from_env(data_dir=data_dir), engine_factory=lambda path: engine)
    try:
        with BackgroundServer(create_app(runtime, api_key=API_KEY)) as server:
            yield server.base_url.removesuffix("/v1"), engine
    finally:
        runtime.close()


def test_code_interpreter_steps_show_code_logs_and_the_plot(
    browser: Any, scripted_origin: tuple[str, ScriptedEngine]
) -> None:
    origin, engine = scripted_origin
    sdk = client_for(origin)
    analyst = sdk.beta.assistants.create(
        name="Analyst", model="default", tools=[{"type": "code_interpreter"}]
    )
    engine.script([code_call(PLOT), "Here is the sine wave."])
    tab = Tab(browser, origin)
    try:
        page = tab.page
        tab.open(f"playground?assistant={analyst.id}")
        page.fill("#pg-input", "Plot a sine wave.")
        page.click("#pg-send")
        page.wait_for_selector("#pg-run-details[data-status=completed]", timeout=120_000)
        assert page.text_content("#pg-steps .code-input") == PLOT
        assert page.text_content("#pg-steps .logs") == "plotted 50 points\n"
        page.wait_for_function(IMAGES_LOADED, arg="#pg-steps img")
        page.wait_for_function(IMAGES_LOADED, arg=".message.assistant img")
        thread_id = str(page.text_content("#pg-thread a"))
        message = sdk.beta.threads.messages.list(thread_id).data[0]
        image_ids = [p.image_file.file_id for p in message.content if p.type == "image_file"]
        shown = page.eval_on_selector_all(
            ".message.assistant img", "imgs => imgs.map(i => i.dataset.fileId)"
        )
        assert image_ids and shown == image_ids
        size = page.eval_on_selector(
            ".message.assistant img", "i => [i.naturalWidth, i.naturalHeight]"
        )
        assert size[0] >= 200 and size[1] >= 150  # a real figure, not a broken-image icon
        tab.done("code-interpreter")
    finally:
        tab.close()


def drop_file(tab: Tab, name: str, content: str) -> None:
    """Drop a file on the drop zone, as a person dragging it from their desktop would."""
    tab.page.evaluate(
        """([name, content]) => {
          const data = new DataTransfer();
          data.items.add(new File([content], name, { type: "application/pdf" }));
          const zone = document.getElementById("dropzone");
          zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
          zone.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
        }""",
        [name, content],
    )


def test_the_paper_is_uploaded_searched_and_a_citation_followed(
    tab: Tab, dashboard_origin: str
) -> None:
    sdk, page = client_for(dashboard_origin), tab.page
    tab.open("files")
    page.set_input_files("#file-input", str(PDF))
    page.wait_for_selector(f"#file-table >> text={Path(PDF).name}")
    drop_file(tab, "broken.pdf", "this is not a PDF at all")
    page.wait_for_selector("#file-table >> text=broken.pdf")
    page.fill("#vs-name", "papers")
    for box in page.locator("#vs-form input[type=checkbox]").all():
        box.check()
    page.click("#vs-create")
    store = page.locator(".vector-store", has_text="papers")
    store.locator(".store-file[data-status=completed]").wait_for(timeout=180_000)
    failed = store.locator(".store-file[data-status=failed]")
    failed.wait_for(timeout=60_000)
    assert "broken.pdf" in (failed.text_content() or "")
    reason = failed.locator(".failure").text_content() or ""
    store_id = str(store.get_attribute("data-store-id"))
    entries = {f.status: f for f in sdk.vector_stores.files.list(store_id).data}
    assert entries["failed"].last_error is not None
    assert reason == f"{entries['failed'].last_error.code}: {entries['failed'].last_error.message}"
    tab.done("files")
    broken = next(f.id for f in sdk.files.list().data if f.filename == "broken.pdf")
    page.click(f"#file-table tr[data-file-id={broken}] button.danger")
    page.click(f"#file-table tr[data-file-id={broken}] button.danger")
    page.wait_for_selector(f"#file-table tr[data-file-id={broken}]", state="detached")
    assert broken not in [f.id for f in sdk.files.list().data]

    tab.go("assistants/new")
    page.fill("#as-name", "Reader")
    page.fill("#as-instructions", "Answer from the paper.")
    page.fill("#as-temperature", "0")
    page.check("#as-file-search")
    page.check(f"#assistant-form input[value={store_id}]")
    page.click("#as-save")
    page.wait_for_selector("#assistant-list >> text=Reader")
    page.click("text=Open in Playground")
    page.fill("#pg-max-tokens", "60")
    page.fill(
        "#pg-input", "What BLEU score did the big Transformer get on English-to-German translation?"
    )
    page.click("#pg-send")
    page.wait_for_selector(
        "#pg-run-details[data-status=completed], #pg-run-details[data-status=incomplete]",
        timeout=120_000,
    )
    # The search step's excerpts are there, folded away until a citation is followed.
    page.wait_for_selector("#pg-steps .excerpt blockquote", state="attached")
    assert not page.locator("#pg-steps .excerpt").first.is_visible()
    citation = page.locator(".message.assistant a.citation").first
    target = str(citation.get_attribute("data-target"))
    page.evaluate("window.scrollTo(0, 0)")
    citation.click()
    excerpt = page.locator(f"[id='{target}']")
    assert "highlight" in (excerpt.get_attribute("class") or "")
    assert excerpt.evaluate("e => e === document.activeElement")
    box, height = excerpt.bounding_box(), page.viewport_size["height"]  # type: ignore[index]
    assert box is not None and 0 <= box["y"] < height
    # The excerpt shown is the search result the marker names, with its text.
    thread_id, run_id = str(page.text_content("#pg-thread a")), target.split("-")[1]
    steps = sdk.beta.threads.runs.steps.list(
        run_id, thread_id=thread_id,
        include=["step_details.tool_calls[*].file_search.results[*].content"],
    ).data  # fmt: skip
    search = next(s for s in steps if s.step_details.type == "tool_calls")
    results = search.step_details.tool_calls[0].file_search.results  # type: ignore[union-attr]
    rank = int(target.split("-")[2])
    assert results[rank].file_name in (excerpt.text_content() or "")
    assert results[rank].content[0].text in (excerpt.locator("blockquote").text_content() or "")
    tab.done("citation")
