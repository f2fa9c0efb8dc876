"""The stakeholder report as a PDF: the same HTML page, printed by headless Chromium.

Usage::

    python -m analysis report --format pdf --out report.pdf     # or just --out report.pdf

    from analysis.report_pdf import PdfError, print_report_pdf, write_report_pdf
    pdf_bytes = print_report_pdf(html_text)            # the dashboard's Report page
    write_report_pdf(html_text, Path("report.pdf"))    # never leaves a half-written file

Chromium is found as ``$CHROMIUM`` (or ``$CHROMIUM_PATH``, as the tests set it), then
``chromium``, ``chromium-browser``, ``google-chrome`` on the PATH, then Playwright's own
browser when ``playwright install chromium`` put one there. Without any, ``ChromiumMissing``
says how to install one; the HTML report needs no browser.

Why Playwright drives it, not ``chromium --headless --print-to-pdf``: the CLI prints when
the page's load event fires and cannot be told to wait for anything, so it can neither make
Plotly redraw each chart at the printed width (charts drawn for the screen come out cut or
shrunk) nor wait until every chart is drawn. Playwright evaluates Plotly's own resize promise
for every chart and waits for it, then prints with a page-number footer and the paper size
given here. Playwright is a plain pip package (pinned in requirements.txt); it downloads no
browser, since it drives the Chromium found above.

The printing runs in a child process (``python -m analysis.report_pdf HTML PDF``) so a
hung or crashed Chromium is killed with its whole process group at a hard deadline, and so
the dashboard's script thread never hosts Playwright's event loop.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

PAPERS = ("A4", "Letter")
DEFAULT_PAPER = "A4"
PRINT_TIMEOUT_S = 120
# Page margins; the bottom one holds the page-number footer.
MARGINS = {"top": "12mm", "right": "12mm", "bottom": "16mm", "left": "12mm"}
# Printed smaller than the screen: two confusion matrices (560 px each) fit on a page, and wide
# tables keep their columns (Letter is shorter than A4, so a little smaller still).
PRINT_SCALE = {"A4": 0.85, "Letter": 0.8}
# Paper widths in CSS pixels (96 per inch) less the side margins, at the print scale: the window
# is this wide, so every chart is drawn at the width it is printed at.
PRINTABLE_WIDTH_PX = {paper: round((width_mm - 24) / 25.4 * 96 / PRINT_SCALE[paper])
                      for paper, width_mm in (("A4", 210), ("Letter", 8.5 * 25.4))}
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]
INSTALL_HINT = ("Install it (Debian/Ubuntu: `apt-get install chromium`; anywhere: `playwright install chromium`) "
                "or set CHROMIUM to a Chrome or Chromium executable. The HTML report needs no browser: "
                "`python -m analysis report --out report.html` works without it.")
# Exit statuses of the child process.
_EXIT_MISSING = 3
_EXIT_FAILED = 4

# Every chart redrawn at the print layout's width (Plotly's resize returns a promise that
# settles once the chart is drawn again) and tall enough for its whole legend, then the fonts,
# then a count of undrawn charts.
_DRAW_CHARTS = """async () => {
  const plots = Array.from(document.querySelectorAll('.js-plotly-plot'));
  if (plots.length && !window.Plotly) { throw new Error('plotly.js did not load in the report page'); }
  await Promise.all(plots.map((plot) => window.Plotly.Plots.resize(plot)));
  // A legend taller than Plotly allows scrolls on screen and is cut on paper: make the chart taller.
  const hiddenLegend = (plot) => {
    const legend = plot._fullLayout.legend;
    return legend && legend._height > legend._effHeight + 1 ? legend._height - legend._effHeight : 0;
  };
  for (const plot of plots) {
    for (let tries = 0; tries < 5 && hiddenLegend(plot); tries++) {
      const height = plot._fullLayout.height + 2 * hiddenLegend(plot);
      // Plotly's HTML wraps each chart in a div with the figure's height in its style.
      plot.parentElement.style.height = plot.style.height = `${height}px`;
      await window.Plotly.relayout(plot, {height});
    }
  }
  await document.fonts.ready;
  return plots.filter((plot) => !(plot._fullLayout && plot.querySelector('.main-svg'))).length;
}"""
_FOOTER = ("<div style='font-size:8px; color:#666; width:100%; padding:0 12mm; display:flex; "
           "justify-content:space-between; font-family:Helvetica, Arial, sans-serif'>"
           "<span class='title'></span><span>page <span class='pageNumber'></span> of "
           "<span class='totalPages'></span></span></div>")


class PdfError(Exception):
    """The PDF could not be printed; the message says what to do."""


class ChromiumMissing(PdfError):
    """No Chromium to print with; the message says how to install one."""


def find_chromium() -> str | None:
    """The Chromium executable named by $CHROMIUM / $CHROMIUM_PATH or found on the PATH; None leaves it to Playwright.

    Raises ``ChromiumMissing`` when the variable names something that is not an executable file.
    """
    for variable in ("CHROMIUM", "CHROMIUM_PATH"):
        named = os.environ.get(variable)
        if named:
            path = shutil.which(named)
            if path is None:
                raise ChromiumMissing(f"{variable}={named} is not an executable Chromium. {INSTALL_HINT}")
            return path
    for name in BROWSER_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _check_paper(paper: str) -> None:
    if paper not in PAPERS:
        raise ValueError(f"Paper {paper!r} is not one of {', '.join(PAPERS)}.")


def _print_in_this_process(html_file: Path, pdf_file: Path, paper: str, chromium: str | None, timeout_s: float) -> None:
    """Print ``html_file`` to ``pdf_file`` with Playwright (the child process's work)."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    timeout_ms = timeout_s * 1000
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=BROWSER_ARGS,
                                                 timeout=timeout_ms)
        except PlaywrightError as error:
            if "Executable doesn't exist" in str(error):
                raise ChromiumMissing(f"Chromium is not installed, so the PDF cannot be printed. {INSTALL_HINT}") from None
            raise
        try:
            page = browser.new_page(viewport={"width": PRINTABLE_WIDTH_PX[paper], "height": 1000})
            page.set_default_timeout(timeout_ms)
            page.goto(html_file.as_uri(), wait_until="load")
            # The print layout before the charts are redrawn, so they take its widths.
            page.emulate_media(media="print")
            undrawn = page.evaluate(_DRAW_CHARTS)
            if undrawn:
                raise PdfError(f"{undrawn} chart(s) of the report were not drawn, so no PDF was written. "
                               "Open the HTML report in a browser to see why.")
            page.pdf(path=str(pdf_file), format=paper, scale=PRINT_SCALE[paper], print_background=True, margin=MARGINS,
                     display_header_footer=True, header_template="<span></span>", footer_template=_FOOTER)
        finally:
            browser.close()


def print_report_pdf(html_text: str, paper: str = DEFAULT_PAPER, timeout_s: float = PRINT_TIMEOUT_S) -> bytes:
    """The report page ``html_text`` printed to PDF by headless Chromium, as bytes.

    Raises ``ChromiumMissing`` (how to install it) or ``PdfError`` (Chromium crashed,
    timed out or could not draw the charts), each with a message saying what to do.
    """
    _check_paper(paper)
    chromium = find_chromium()
    with tempfile.TemporaryDirectory(prefix="report-pdf-") as scratch:
        html_file, pdf_file = Path(scratch) / "report.html", Path(scratch) / "report.pdf"
        html_file.write_text(html_text, encoding="utf-8")
        command = [sys.executable, "-m", "analysis.report_pdf", str(html_file), str(pdf_file), "--paper", paper,
                   "--timeout", str(timeout_s)]
        if chromium:
            command += ["--chromium", chromium]
        # Its own session: at the deadline the child, Playwright's driver and Chromium die together.
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 start_new_session=True, cwd=Path(__file__).resolve().parents[1])
        try:
            _, stderr = child.communicate(timeout=timeout_s + 30)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            raise PdfError(f"Chromium did not finish printing the report within {timeout_s + 30:.0f} s, so no PDF "
                           "was written. Try again with fewer runs, or send the HTML report.") from None
        message = (stderr.strip().splitlines() or [""])[-1]
        if child.returncode == _EXIT_MISSING:
            raise ChromiumMissing(message)
        if child.returncode != 0 or not pdf_file.is_file():
            raise PdfError(message if child.returncode == _EXIT_FAILED and message else
                           f"Chromium failed while printing the report (exit status {child.returncode}), so no PDF "
                           "was written. Try again; if it keeps failing, send the HTML report.")
        return pdf_file.read_bytes()


def write_report_pdf(html_text: str, out: str | Path, paper: str = DEFAULT_PAPER,
                     timeout_s: float = PRINT_TIMEOUT_S) -> tuple[Path, int]:
    """Print ``html_text`` to ``out``; return the file and its size.

    The PDF goes to a temporary file beside ``out``, renamed onto it only once whole, so a
    failed print leaves no half-written PDF (and an older ``out`` untouched). The temporary
    file is made before printing, so an unwritable ``out`` is refused at once.
    """
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    except OSError as error:
        raise PdfError(f"Cannot write {out}: {error.strerror or error}. Choose an --out in a folder you can "
                       "write to.") from None
    try:
        # mkstemp makes the file private (0600); a report is meant to be shared.
        os.fchmod(handle, 0o644)
        with os.fdopen(handle, "wb") as stream:
            pdf = print_report_pdf(html_text, paper=paper, timeout_s=timeout_s)
            stream.write(pdf)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return out, len(pdf)


def _child(argv: list[str] | None = None) -> int:
    """The child process: print one HTML file; a one-line message on stderr when it cannot."""
    parser = argparse.ArgumentParser(prog="python -m analysis.report_pdf", description="Print a report page to PDF.")
    parser.add_argument("html")
    parser.add_argument("pdf")
    parser.add_argument("--paper", choices=PAPERS, default=DEFAULT_PAPER)
    parser.add_argument("--chromium")
    parser.add_argument("--timeout", type=float, default=PRINT_TIMEOUT_S)
    arguments = parser.parse_args(argv)
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout
    except ImportError:
        print("Playwright is not installed, so the PDF cannot be printed: `pip install -r requirements.txt` "
              "installs it.", file=sys.stderr)
        return _EXIT_FAILED
    try:
        _print_in_this_process(Path(arguments.html), Path(arguments.pdf), arguments.paper, arguments.chromium,
                               arguments.timeout)
    except ChromiumMissing as error:
        print(error, file=sys.stderr)
        return _EXIT_MISSING
    except PdfError as error:
        print(error, file=sys.stderr)
        return _EXIT_FAILED
    except PlaywrightTimeout:
        print(f"Chromium did not finish printing the report within {arguments.timeout:.0f} s, so no PDF was "
              "written. Try again with fewer runs, or send the HTML report.", file=sys.stderr)
        return _EXIT_FAILED
    except PlaywrightError as error:
        first_line = (str(error).strip().splitlines() or ["no message"])[0]
        print(f"Chromium failed while printing the report ({first_line}), so no PDF was written. "
              "Try again; if it keeps failing, send the HTML report.", file=sys.stderr)
        return _EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(_child())
