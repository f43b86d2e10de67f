"""nbgrader configuration of the course (run every nbgrader command from this folder)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GRADING = os.path.join(HERE, "grading")

# The hidden tests import `calificador` from grading/, which is never released. Kernels that
# nbgrader starts inherit this environment; so does the feedback preprocessor below.
sys.path.insert(0, GRADING)
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [GRADING, os.environ.get("PYTHONPATH")]))
# Fewer TensorFlow C++ log lines (the notebook hides its import messages itself).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    CheckCellMetadata, ClearHiddenTests, ClearOutput, GetGrades, OverwriteCells,
    OverwriteKernelspec)

from course_preprocessors import DropDuplicateCellIds, HideTestTracebacks  # noqa: E402

c = get_config()  # noqa: F821

c.CourseDirectory.root = HERE
c.CourseDirectory.course_id = "vae-olivetti"

# Timestamped log lines: an instructor (and tools/course.py) can see how long each student took.
c.Application.log_format = "[%(name)s %(asctime)s %(levelname)s] %(message)s"
c.Application.log_datefmt = "%H:%M:%S"

c.ClearSolutions.code_stub = {"python": "# SU CÓDIGO AQUÍ\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "ESCRIBA SU RESPUESTA AQUÍ"

# Per-cell limit. At grading time the longest cell is the imports (about 4 s, TensorFlow); no
# other takes 1 s (the showcase does not train, the hidden training tests use small models).
# 30 s leaves room for slow machines and slow-but-correct code (an eager train step), and
# bounds a function that never returns: it is called from at most 5 cells, so such a student
# is graded in under 3 minutes.
c.Execute.timeout = 30
# Kill each student's kernel once their notebook has run instead of waiting for TensorFlow to
# shut down: the outputs are already collected, and it saves about 1 s per student.
c.Execute.shutdown_kernel = "immediate"

c.Autograde.sanitize_preprocessors = [
    ClearOutput, DropDuplicateCellIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata]

c.GenerateFeedback.preprocessors = [
    GetGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTests, HideTestTracebacks]
