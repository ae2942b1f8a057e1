"""Render time of the A4 prescription (WeasyPrint, warm): ``pdf_form_ms`` (target ≤ 150).

Run from the repository root: ``python -m bench.bench_pdf``. One warm-up render pays
for the WeasyPrint import and font loading; the figure is the median of the next
renders in the same process, as ``station serve`` would do it.
"""

from __future__ import annotations

import tempfile
import time

from bench.common import median, record
from station import create_app
from station.printing import pdf
from station.printing.forms_data import sample_context

RUNS = 15


def main() -> None:
    """Measure and record the figure."""
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"TESTING": True, "SECRET_KEY": "bench-only", "SQLALCHEMY_DATABASE_URI":
                          f"sqlite:///{folder}/bench.sqlite"}, instance_path=folder)
        context = sample_context("prescription")
        with app.test_request_context():
            pdf.render_form("prescription", context)  # warm-up
            samples = []
            for _ in range(RUNS):
                started = time.perf_counter()
                data = pdf.render_form("prescription", context)
                samples.append((time.perf_counter() - started) * 1000)
            assert data.startswith(b"%PDF")
    record({"pdf_form_ms": median(samples)})


if __name__ == "__main__":
    main()
