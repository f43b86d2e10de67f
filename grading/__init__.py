"""The instructor's side of the course: everything that never runs in a student's kernel.

Installed by `make setup` (pyproject.toml, editable: the course folder is the package's home)
and named in nbgrader_config.py by import strings, as nbgrader's own parts are. What a
student's kernel gets is student_kernel/, a folder of its own that the sandbox mounts
read-only; the verdicts here read the same observer file from the course folder
(`student_kernel_module`), never from a kernel.

    grading.course            the course's commands: source, release, demo, autograde, ...
    grading.build_source      authoring/vae_olivetti.py -> the master notebook
    grading.sandbox           each student's kernel in a bubblewrap sandbox (nbgrader's Execute)
    grading.kernel_messages   what a kernel may send back (bounded)
    grading.submission_files  what a submission may hold (regular files, bounded)
    grading.course_preprocessors  verdicts into grades, feedback by part, clean HTML
    grading.calificador       the hidden tests' verdicts (in Spanish: README, "Languages")
    grading.dask_grading      a class on Dask: one task per student
    grading.similarity        who copied from whom (copydetect)
    grading.lms_export        grades into Canvas or Moodle (nbgrader export)
    grading.answers           correct and wrong answers: the demo's and the tests'
"""
import importlib.util
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent  # the course folder
STUDENT_KERNEL = ROOT / "student_kernel"


def student_kernel_module(name):
    """The module student_kernel/<name>.py of this course folder, imported once as `name`."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, STUDENT_KERNEL / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
