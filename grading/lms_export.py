"""Grades into the LMS: `nbgrader export` writes Canvas's or Moodle's own import file.

Registered in nbgrader_config.py as the course's export plugin (`c.ExportApp.plugin_class`);
one option picks the format:

    nbgrader export                          # grades.csv, nbgrader's own CSV (as before)
    nbgrader export --CourseExport.lms=canvas   # lms/canvas_import.csv, from lms/canvas_gradebook.csv
    nbgrader export --CourseExport.lms=moodle   # lms/moodle_import.csv, from lms/moodle_participants.csv

The roster is the file the LMS itself exports: for Canvas, the gradebook CSV (Grades > Export),
whose columns and ids are kept and whose column for this assignment is filled; for Moodle, the
participants' CSV (Site administration > Users > Bulk user actions > Download), which maps
nbgrader's student ids (the JupyterHub user names) to the e-mail or ID number that Moodle's grade
import (Grades > Import > CSV file) is keyed by. A student on one side only is never dropped
silently nor given 0: the report lists them, and their grade is left blank. Neither is a
student the grader could not grade (grading/not_graded.py: their notebook could not be read): in
grades.csv as in the LMS files their grade is blank, and the export prints each one with the
reason.
"""
import csv
import dataclasses
import pathlib

from nbgrader.api import MissingEntry
from nbgrader.plugins import CsvExportPlugin
from traitlets import Enum, Unicode

from grading import not_graded

# Canvas's own columns before the assignments (its gradebook export), and the row under the
# header that holds each column's points.
CANVAS_ID_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_ROW = "Points Possible"


@dataclasses.dataclass
class Matching:
    """Who is on which side: what the report says."""
    exported: list = dataclasses.field(default_factory=list)  # nbgrader ids with a grade
    no_submission: list = dataclasses.field(default_factory=list)  # in the roster only
    not_in_roster: list = dataclasses.field(default_factory=list)  # graded, not in the LMS
    not_graded: dict = dataclasses.field(default_factory=dict)  # {student: why}

    def report(self, lms, destination):
        lines = [f"{lms}: {len(self.exported)} grade(s) written to {destination}."]
        lines += not_graded_lines(self.not_graded)
        if self.no_submission:
            lines.append(f"In the roster without a graded submission (grade left blank, not 0): "
                         f"{', '.join(sorted(self.no_submission))}")
        if self.not_in_roster:
            lines.append(f"Graded but not in the roster (NOT exported: add them to the LMS or "
                         f"fix their id): {', '.join(sorted(self.not_in_roster))}")
        return "\n".join(lines)


def grades_of(gradebook, assignment):
    """{student id: score after the late penalty} of the submissions of `assignment`."""
    grades = {}
    for student in gradebook.students:
        try:
            submission = gradebook.find_submission(assignment, student.id)
        except MissingEntry:
            continue
        grades[student.id] = max(0.0, submission.score - submission.late_submission_penalty)
    return grades


def not_graded_lines(students):
    return [f"NOT GRADED (grade left blank): {student}: {why}"
            for student, why in sorted(students.items())]


def read_csv(path):
    with open(path, newline="", encoding="utf-8-sig") as roster:
        return list(csv.reader(roster))


def number(score):
    return f"{score:g}"


class CourseExport(CsvExportPlugin):
    """nbgrader's CSV by default; Canvas's or Moodle's import file with `lms`."""

    lms = Enum(["csv", "canvas", "moodle"], default_value="csv",
               help="csv (nbgrader's own), canvas or moodle").tag(config=True)
    canvas_roster = Unicode("lms/canvas_gradebook.csv", help="the gradebook CSV that Canvas "
                            "exports (Grades > Export)").tag(config=True)
    canvas_column = Unicode("", help="this assignment's column in it (default: the one whose "
                            "name holds the assignment's name)").tag(config=True)
    canvas_id_column = Unicode("SIS Login ID", help="Canvas's column that holds nbgrader's "
                               "student ids (the JupyterHub user names)").tag(config=True)
    moodle_roster = Unicode("lms/moodle_participants.csv", help="the participants' CSV that "
                            "Moodle exports (bulk user download)").tag(config=True)
    moodle_id_column = Unicode("username", help="its column that holds nbgrader's student "
                               "ids").tag(config=True)
    moodle_key = Enum(["email", "idnumber"], default_value="email", help="what Moodle's grade "
                      "import matches users by").tag(config=True)
    moodle_item = Unicode("", help="the grade item's name in Moodle (default: the "
                          "assignment's name)").tag(config=True)

    def not_graded(self, assignment):
        """{student: why} of the students the last grading could not grade."""
        return not_graded.not_graded(self.parent.coursedir.root, assignment)

    def export(self, gradebook):
        if self.lms == "csv":
            return self.csv(gradebook)
        assignments = [str(a) for a in self.assignment] or [a.name for a in gradebook.assignments]
        if len(assignments) != 1:
            raise ValueError(f"an LMS file holds one assignment: give --assignment (one of "
                             f"{', '.join(assignments)})")
        refused = self.not_graded(assignments[0])
        grades = {s: g for s, g in grades_of(gradebook, assignments[0]).items()
                  if s not in refused}
        if self.student:
            grades = {s: g for s, g in grades.items() if s in {str(x) for x in self.student}}
        destination = pathlib.Path(self.to or f"lms/{self.lms}_import.csv")
        destination.parent.mkdir(parents=True, exist_ok=True)
        write = self.canvas if self.lms == "canvas" else self.moodle
        matching = write(grades, assignments[0], destination)
        matching.not_graded = refused
        matching.no_submission = [s for s in matching.no_submission if s not in refused]
        self.log.warning("%s", matching.report(self.lms, destination))
        return matching

    def csv(self, gradebook):
        """nbgrader's grades.csv, with the scores of a student the grader could not grade left
        blank (nbgrader wrote 0), and each such student printed with the reason."""
        result = super().export(gradebook)
        destination = self.to or "grades.csv"
        rows = read_csv(destination)
        header = rows[0]
        blank = [header.index(name) for name in ("raw_score", "late_submission_penalty",
                                                  "score") if name in header]
        where, who = header.index("assignment"), header.index("student_id")
        refused, reasons = {}, {}
        for row in rows[1:]:
            if row[where] not in reasons:
                reasons[row[where]] = self.not_graded(row[where])
            why = reasons[row[where]].get(row[who])
            if why:
                refused[row[who]] = why
                for column in blank:
                    row[column] = ""
        if refused:
            with open(destination, "w", newline="", encoding="utf-8") as out:
                csv.writer(out, lineterminator="\n").writerows(rows)  # as nbgrader writes it
            self.log.warning("%s", "\n".join(not_graded_lines(refused)))
        return result

    def canvas(self, grades, assignment, destination):
        """Canvas's gradebook CSV with this assignment's column filled."""
        rows = read_csv(self.canvas_roster)
        header = rows[0]
        column = self.canvas_column or next(
            (name for name in header if assignment.lower() in name.lower()), None)
        if column not in header or self.canvas_id_column not in header:
            raise ValueError(f"{self.canvas_roster}: no column {column or assignment!r} or "
                             f"{self.canvas_id_column!r}; its columns: {', '.join(header)} "
                             "(set CourseExport.canvas_column)")
        where, who = header.index(column), header.index(self.canvas_id_column)
        matching, seen = Matching(), set()
        for row in rows[1:]:
            if not row or CANVAS_POINTS_ROW in row[0] or len(row) <= max(where, who):
                continue  # the points row, or a row that is not a student's
            student = row[who].strip()
            seen.add(student)
            if student in grades:
                row[where] = number(grades[student])
                matching.exported.append(student)
            else:
                matching.no_submission.append(student or row[0])
        matching.not_in_roster = sorted(set(grades) - seen)
        with open(destination, "w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerows(rows)
        return matching

    def moodle(self, grades, assignment, destination):
        """Moodle's grade import CSV: the user's e-mail or ID number, and the grade."""
        rows = read_csv(self.moodle_roster)
        header = [name.strip().lower() for name in rows[0]]
        for name in (self.moodle_id_column, self.moodle_key):
            if name.lower() not in header:
                raise ValueError(f"{self.moodle_roster}: no column {name!r}; its columns: "
                                 f"{', '.join(rows[0])}")
        who, key = header.index(self.moodle_id_column.lower()), header.index(self.moodle_key)
        item = self.moodle_item or assignment
        matching, seen, lines = Matching(), set(), []
        for row in rows[1:]:
            if len(row) <= max(who, key) or not row[who].strip():
                continue
            student = row[who].strip()
            seen.add(student)
            if student in grades and row[key].strip():
                lines.append([row[key].strip(), number(grades[student])])
                matching.exported.append(student)
            elif student in grades:
                matching.not_in_roster.append(f"{student} (no {self.moodle_key} in the roster)")
            else:
                matching.no_submission.append(student)
        matching.not_in_roster += sorted(set(grades) - seen)
        with open(destination, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow([self.moodle_key, item])
            writer.writerows(lines)
        return matching
