"""Environment for every test, nbval's kernel included: the venv's tools, the offline data and
the hidden cells' observer (course.environment())."""
import os

from grading import course

os.environ.update(course.environment())
# nbval runs the master as nbgrader's Validate does (hidden tests included, no showcase
# training): the browser test already runs the completed notebook in full, figures and all.
os.environ["NBGRADER_EXECUTION"] = "validate"
