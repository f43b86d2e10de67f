"""nbgrader configuration of the course (run every nbgrader command from this folder).

The course's own parts are named by import strings, as nbgrader's are: they live in the
package `grading` (pyproject.toml, installed by `make setup`), imported by nbgrader's own
process and never by a student's kernel; student_kernel/ (the hidden cells' observer) is all a
kernel gets, read-only.
"""
import os

from nbgrader.server_extensions.formgrader.handlers import template_path as FORMGRADER_TEMPLATES

from grading.submission_files import LEFT_OUT_FOLDER

HERE = os.path.dirname(os.path.abspath(__file__))

# Fewer TensorFlow C++ log lines (the notebook hides its import messages itself).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

c = get_config()  # noqa: F821

c.CourseDirectory.root = HERE
c.CourseDirectory.course_id = "vae-olivetti"

# Timestamped log lines: an instructor (and grading/course.py) sees how long each student took.
c.Application.log_format = "[%(name)s %(asctime)s %(levelname)s] %(message)s"
c.Application.log_datefmt = "%H:%M:%S"

# A submission is data from a student (grading/submission_files.py): collect copies regular
# files only, and autograde's hook moves anything else (links, FIFOs, devices, hard links to
# files elsewhere; every extra file of a folder over the size or count limit) into
# LEFT_OUT_FOLDER beside the submission, before nbgrader lists, copies or reads it. nbgrader's
# own listing (find_all_files) is quadratic in a folder's files and has no configuration point
# of its own in nbgrader 0.9 (AutogradeApp builds its Autograde directly): the count limit is
# what bounds it, at 1,000 files (under 1 s).
c.ExchangeFactory.collect = "grading.submission_files.SafeCollect"
c.Autograde.pre_convert_hook = "grading.submission_files.leave_out_unsafe_files"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
                            LEFT_OUT_FOLDER]
c.SubmissionFiles.max_bytes = 50_000_000
c.SubmissionFiles.max_files = 1_000

c.ClearSolutions.code_stub = {"python": "# SU CÓDIGO AQUÍ\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "ESCRIBA SU RESPUESTA AQUÍ"

# Per-cell limit. At grading time the longest cell is the imports (about 4 s, TensorFlow); no
# other takes 1 s (the showcase is not run, the hidden training tests use small models).
# 30 s leaves room for slow machines and slow-but-correct code (an eager train step), and
# bounds a function that never returns: it is called from at most 3 test cells, so such a
# student is graded in under 2 minutes.
c.Execute.timeout = 30
# Kill each student's kernel once their notebook has run instead of waiting for TensorFlow to
# shut down: the outputs are already collected, and it saves about 1 s per student.
c.Execute.shutdown_kernel = "immediate"
# The showcase at the end of the notebook (cells `vitrina_*`) trains nothing and draws nothing
# when grading: not run at all, it saves about 2 s per student, and 30 s more for a student
# whose reconstruct_faces or face_interpolation never returns.
c.SandboxedExecute.skip_cells = r"vitrina_.*"

c.Autograde.sanitize_preprocessors = [
    "grading.sandbox.RequireSandbox", "nbgrader.preprocessors.ClearOutput",
    "grading.course_preprocessors.DropDuplicateCellIds",
    "nbgrader.preprocessors.OverwriteKernelspec", "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata"]
# nbgrader's own list, with Execute sandboxed (grading/sandbox.py) and the hidden checks decided
# right after it, outside the kernel (VerifyObservations). Grading without the sandbox, where
# bubblewrap cannot run: `nbgrader autograde vae_olivetti --Sandbox.isolate=False`.
c.Autograde.autograde_preprocessors = [
    "grading.sandbox.SandboxedExecute", "grading.course_preprocessors.VerifyObservations",
    "grading.course_preprocessors.ShortenTracebacks", "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor", "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades", "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata"]
# No execution timestamps in the autograded notebooks: grading the same submission twice writes
# the same bytes.
c.Execute.record_timing = False

# The pages made of a student's notebook (grading/html_pages.py). The feedback page, in Spanish
# with a summary table by part (grading/templates/retroalimentacion), has an exporter of its own:
# what is set here on HTMLExporter reaches every page, the formgrader's included.
c.GenerateFeedback.exporter_class = "grading.html_pages.FeedbackExporter"
c.GenerateFeedback.preprocessors = [
    "grading.html_pages.GetGradesAndExtraCredit",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "nbgrader.preprocessors.ClearHiddenTests", "grading.course_preprocessors.ShortenTracebacks",
    "grading.course_preprocessors.SummarizeByPart"]
c.FeedbackExporter.template_name = "retroalimentacion"
# The formgrader's review page: nbgrader's own template, with the student's markdown cleaned and
# their id and names escaped (grading/templates/formgrade_sanitized).
c.HTMLExporter.template_name = "formgrade_sanitized"
c.HTMLExporter.extra_template_basedirs = [os.path.join(HERE, "grading", "templates"),
                                          FORMGRADER_TEMPLATES]
c.HTMLExporter.extra_template_paths = [FORMGRADER_TEMPLATES]  # for 'formgrade/index.html.j2'
# No student script in any page: nbconvert renders no JavaScript output, and the HTML of the
# markdown and the outputs goes through the course's clean_html (in the formgrader's review
# page, without ids and classes: nbgrader finds its score boxes by id).
c.HTMLExporter.sanitize_html = True
c.HTMLExporter.filters = {"clean_html": "grading.html_pages.clean_html_for_review"}
c.FeedbackExporter.filters = {"clean_html": "grading.html_pages.clean_html"}

# `nbgrader export` writes nbgrader's grades.csv as before, or, with one option, the file that
# Canvas or Moodle imports (grading/lms_export.py): --CourseExport.lms=canvas (or moodle), from
# the roster that the LMS exports, in lms/ by default.
c.ExportApp.plugin_class = "grading.lms_export.CourseExport"
