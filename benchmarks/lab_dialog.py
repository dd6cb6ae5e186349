"""The Lab dialog's cluster list in a real browser: the first page shows before the rest.

    python benchmarks/lab_dialog.py [--repeat 5] [--clusters 1000]

A real JupyterLab with the extension (started as the browser tests start it,
tests/ui/lab.py) on an emulator with ``--clusters N``, driven by Debian's
Chromium. Each run clicks the notebook's EMR button and times, in the page
with ``performance.now()``, from the press of the button to

- (a) the frame in which the first cluster option is shown, and
- (b) the frame in which every cluster is listed and "Loading clusters…" is gone,

then closes the dialog with Escape. (a) ÷ (b) says how early the first page
shows; (b) is also set against bare boto3 ``paginate()`` of the same clusters,
timed in this process alternately with the dialog runs. The time is taken by a
MutationObserver installed before the click, not by polling from Python.
Prints a Markdown table; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3
from measure import timed

TESTS = Path(__file__).resolve().parents[1] / "tests"
# The tests' plain modules (no pytest hooks): Lab and the emulator start as in the browser tests.
sys.path[:0] = [str(TESTS), str(TESTS / "ui")]

from emulators import RunningEmulator, start_emulator
from lab import chromium, new_notebook, open_notebook, running_lab

NOTEBOOK = "dialog.ipynb"
RUN_TIMEOUT = 120_000  # ms, for one dialog to list every cluster

# Installed in the page before each click. The press is the first pointerdown; each
# milestone is taken when the DOM first meets it and stamped in the next animation frame,
# the frame that paints it. At the first option it also notes how many options there were
# and whether "Loading clusters…" was shown, so an "early" first row is checked, not assumed.
WATCH = """(total) => {
  const times = {pressed: null, first: null, all: null, firstCount: 0, loadingAtFirst: false,
                 firstVisible: false};
  window.__emrDialog = times;
  performance.clearResourceTimings();
  document.addEventListener('pointerdown', () => { times.pressed = performance.now(); },
                            {capture: true, once: true});
  const dialogBody = () => [...document.querySelectorAll('.jp-Dialog')]
    .find(d => d.querySelector('.jp-Dialog-header')?.textContent.includes('Connect to EMR'));
  const loading = status => status !== null && !status.hidden
    && status.textContent.includes('Loading clusters');
  let firstSeen = false;
  const observer = new MutationObserver(() => {
    const dialog = dialogBody();
    const list = dialog?.querySelector('[role="listbox"][aria-label="Clusters"]');
    if (!list || times.pressed === null) {
      return;
    }
    const options = list.querySelectorAll('[role="option"]');
    const status = dialog.querySelector('[role="status"]');
    if (!firstSeen && options.length > 0) {
      firstSeen = true;
      times.firstCount = options.length;
      times.loadingAtFirst = loading(status);
      requestAnimationFrame(() => {
        times.first = performance.now() - times.pressed;
        times.firstVisible = options[0].checkVisibility();
      });
    }
    if (options.length >= total && !loading(status)) {
      observer.disconnect();
      requestAnimationFrame(() => { times.all = performance.now() - times.pressed; });
    }
  });
  observer.observe(document.body, {childList: true, subtree: true, attributes: true,
                                   attributeFilter: ['hidden'], characterData: true});
}"""

# The list requests of the run just timed: how many, when the first one's answer ended, their
# durations summed, and the time from each answer to the next request summed (the dialog
# renders a page before it asks for the next one).
PAGES = """() => {
  const pressed = window.__emrDialog.pressed;
  const pages = performance.getEntriesByType('resource')
    .filter(e => /\\/jupyter-emr-roles\\/clusters(\\?|$)/.test(e.name))
    .sort((a, b) => a.startTime - b.startTime);
  let requests = 0, gaps = 0;
  pages.forEach((e, i) => {
    requests += e.responseEnd - e.startTime;
    gaps += i ? e.startTime - pages[i - 1].responseEnd : 0;
  });
  return {count: pages.length, firstEnd: pages.length ? pages[0].responseEnd - pressed : null,
          requests, gaps};
}"""


def bare_paginate(env: dict[str, str]) -> Callable[[], list[str]]:
    """boto3's own paginator over the emulator, as a user without the extension lists clusters."""
    emr = boto3.client("emr", endpoint_url=env["AWS_ENDPOINT_URL"],
                       region_name=env["AWS_DEFAULT_REGION"],
                       aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                       verify=env.get("AWS_CA_BUNDLE", True))

    def all_ids() -> list[str]:
        pages = emr.get_paginator("list_clusters").paginate(ClusterStates=["RUNNING", "WAITING"])
        return [cluster["Id"] for page in pages for cluster in page["Clusters"]]

    return all_ids


def open_dialog(page: Any, panel: Any, total: int) -> dict[str, Any]:
    """Click EMR, wait until every cluster is listed, close the dialog; the page's timings."""
    page.evaluate(WATCH, total)
    panel.locator(".jp-NotebookPanel-toolbar").get_by_role("button", name="EMR").click()
    page.wait_for_function("() => window.__emrDialog.all !== null", timeout=RUN_TIMEOUT)
    times = page.evaluate("() => window.__emrDialog")
    times["pages"] = page.evaluate(PAGES)
    page.keyboard.press("Escape")
    page.locator(".jp-Dialog").wait_for(state="detached")
    return times


def dialog_and_bare_runs(emulator: RunningEmulator, folder: Path, repeat: int
                         ) -> tuple[int, list[dict[str, Any]], list[float]]:
    """The dialog runs and the bare runs, alternately, after one untimed warm-up of each."""
    bare = bare_paginate(emulator.env)
    total = len(set(bare()))
    with running_lab(folder / "lab", emulator) as lab, chromium(folder / "profile") as browser:
        new_notebook(lab, NOTEBOOK, ["print('ready')"])
        page = browser.new_page()
        page.set_default_timeout(60_000)
        panel = open_notebook(page, lab, NOTEBOOK)
        page.evaluate("() => performance.setResourceTimingBufferSize(10000)")
        open_dialog(page, panel, total)
        dialogs, bares = [], []
        for _ in range(repeat):
            time.sleep(0.5)  # the closed dialog's last readiness requests settle
            dialogs.append(open_dialog(page, panel, total))
            bares.append(timed(bare, 1))
        page.close()
    return total, dialogs, bares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--clusters", type=int, default=1000)
    options = parser.parse_args()

    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-dialog-")))
        emulator = start_emulator(folder / "emulator", "--spark", "fake",
                                  "--clusters", str(options.clusters))
        stack.callback(emulator.cli, "down")
        total, dialogs, bares = dialog_and_bare_runs(emulator, folder, options.repeat)

    def median_ms(value: Callable[[dict[str, Any]], float]) -> float:
        return statistics.median(value(run) for run in dialogs)

    first, every = median_ms(lambda run: run["first"]), median_ms(lambda run: run["all"])
    bare = statistics.median(bares) * 1000
    early = all(run["loadingAtFirst"] and run["firstVisible"] and run["firstCount"] < total
                for run in dialogs)
    pages = dialogs[0]["pages"]["count"]
    print(f"{total} RUNNING/WAITING clusters, {pages} pages, median of {options.repeat}")
    print()
    print("| figure | ms | against | ratio |")
    print("|---|---:|---|---:|")
    print(f"| (a) click EMR → first option shown | {first:.1f} | (b) | {first / every:.3f} |")
    print(f"| (b) click EMR → all {total} options, loading status gone | {every:.1f} | "
          f"bare boto3 `paginate()` {bare:.1f} ms | {every / bare:.2f}x |")
    print(f"| click EMR → first page's answer received | "
          f"{median_ms(lambda run: run['pages']['firstEnd']):.1f} | | |")
    print(f"| the {pages} page requests' durations, summed | "
          f"{median_ms(lambda run: run['pages']['requests']):.1f} | | |")
    print(f"| from each page's answer to the next request, summed | "
          f"{median_ms(lambda run: run['pages']['gaps']):.1f} | | |")
    print()
    print("Each run: (a), (b); at the first option: options listed, \"Loading clusters…\" "
          "shown, option visible")
    for run in dialogs:
        print(f"- {run['first']:.1f} ms, {run['all']:.1f} ms; {run['firstCount']}, "
              f"{run['loadingAtFirst']}, {run['firstVisible']}")
    print()
    print(json.dumps({"first_ms": round(first, 1), "all_ms": round(every, 1),
                      "first_over_all": round(first / every, 3),
                      "all_over_bare": round(every / bare, 2),
                      "first_page_before_the_rest": early}))

if __name__ == "__main__":
    main()
