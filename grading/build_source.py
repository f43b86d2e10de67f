"""Builds the master notebook source/vae_olivetti/vae_olivetti.ipynb from the authoring script.

authoring/vae_olivetti.py, in jupytext's percent format, is the one source of truth for the
master notebook (readable diffs, one cell per `# %%` marker, nbgrader metadata on the marker
line). The build is deterministic: cell ids come from the grade_id or the cell's position,
and the notebook metadata is fixed, so rebuilding an unchanged script gives the same bytes.
Cells tagged nbval-check-output get the output nbval compares against from
authoring/expected_outputs.json (nbgrader removes outputs from the student version);
`jupyter.source_hidden` folds a cell's code in JupyterLab.

    python -m grading.build_source            # write the notebook (`make source` does)
    python -m grading.build_source --check    # exit 1 if the committed notebook is stale
"""
import json
import sys

import jupytext
import nbformat

from grading import ROOT

SCRIPT = ROOT / "authoring" / "vae_olivetti.py"
EXPECTED_OUTPUTS = ROOT / "authoring" / "expected_outputs.json"
NOTEBOOK = ROOT / "source" / "vae_olivetti" / "vae_olivetti.ipynb"
METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                   "name": "python3"},
    "language_info": {"name": "python"},
}


def build():
    notebook = jupytext.read(SCRIPT, fmt="py:percent")
    notebook.metadata = METADATA
    for position, cell in enumerate(notebook.cells):
        cell.metadata = {k: v for k, v in cell.metadata.items()
                         if k in ("nbgrader", "tags", "jupyter")}
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        cell.id = grade_id or f"celda-{position:02d}"
    expected = json.loads(EXPECTED_OUTPUTS.read_text(encoding="utf-8"))
    for cell in notebook.cells:
        if cell.id in expected:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=expected[cell.id])]
            cell.execution_count = 1  # nbval ignores outputs of cells that never ran
    return nbformat.writes(notebook) + "\n"


def main():
    text = build()
    if "--check" in sys.argv:
        if NOTEBOOK.read_text(encoding="utf-8") != text:
            sys.exit(f"{NOTEBOOK} is stale: run `make source`.")
        return
    NOTEBOOK.write_text(text, encoding="utf-8")
    print(f"wrote {NOTEBOOK}")


if __name__ == "__main__":
    main()
