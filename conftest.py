"""Environment for every test, nbval's kernel included: the venv's tools, the offline data and
the hidden-test grader on the path (as nbgrader_config.py sets it for nbgrader's kernels)."""
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tools"))

import course  # noqa: E402

os.environ.update(course.environment())
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "grading"),
                                                         os.environ.get("PYTHONPATH")]))
