"""Runs a notebook in sandboxed kernels, as autograde's SandboxedExecute starts them, for two
students one after the other in this one process (the second gets a kernel the pool started
ahead), and prints [{"outputs": [each cell's outputs], "seed": the grading seed}, ...] as JSON.

    python tests/sandbox_probe.py NOTEBOOK FOLDER

tests/test_sandbox.py runs it as root and as an unprivileged user (the rootless sandbox).
"""
import json
import sys

import nbformat

from grading import sandbox


def main(notebook, folder):
    executor = sandbox.SandboxedExecute(timeout=60)
    seen = []
    for student in ("sonda", "sonda_2"):
        resources = {"metadata": {"path": folder}, "nbgrader": {"student": student}}
        graded, resources = executor.preprocess(nbformat.read(notebook, as_version=4), resources)
        seen.append({"outputs": [cell.outputs for cell in graded.cells],
                     "seed": resources["grading"]["seed"]})
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:])
