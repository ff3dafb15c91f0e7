"""Every ```python block in README.md and docs/*.md runs (blocks of one file share a namespace)."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_python_examples_in_docs_run(doc, tmp_path, monkeypatch):
    blocks = BLOCK.findall(doc.read_text(encoding="utf-8"))
    if not blocks:
        pytest.skip("no python examples")
    matplotlib.use("Agg")
    # Run where a reader would (data/ at hand), but write files into a scratch folder.
    (tmp_path / "data").symlink_to(REPO / "data", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"docs_{doc.stem}"}
    for i, block in enumerate(blocks):
        code = compile(block, f"{doc.name} (python block {i + 1})", "exec")
        exec(code, namespace)  # noqa: S102 - running our own documentation
    import matplotlib.pyplot as plt

    plt.close("all")
