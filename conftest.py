"""Environment for every test, nbval's kernel included: the venv's tools, the offline data and
the hidden cells' observer (course.environment())."""
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tools"))

import course  # noqa: E402

os.environ.update(course.environment())
# nbval runs the master as nbgrader's Validate does (hidden tests included, no showcase
# training): the browser test already runs the completed notebook in full, figures and all.
os.environ["NBGRADER_EXECUTION"] = "validate"
