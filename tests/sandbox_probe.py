"""Runs a notebook in a sandboxed kernel, as autograde's SandboxedExecute starts it, and prints
{"outputs": [each cell's outputs], "seed": the grading seed} as JSON.

    python tests/sandbox_probe.py NOTEBOOK FOLDER

tests/test_sandbox.py runs it as root and as an unprivileged user (the rootless sandbox).
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "grading"), str(ROOT / "student_kernel")]

import nbformat  # noqa: E402

import sandbox  # noqa: E402


def main(notebook, folder):
    notebook = nbformat.read(notebook, as_version=4)
    resources = {"metadata": {"path": folder}, "nbgrader": {"student": "sonda"}}
    notebook, resources = sandbox.SandboxedExecute(timeout=60).preprocess(notebook, resources)
    print(json.dumps({"outputs": [cell.outputs for cell in notebook.cells],
                      "seed": resources["calificacion"]["semilla"]}))


if __name__ == "__main__":
    main(*sys.argv[1:])
