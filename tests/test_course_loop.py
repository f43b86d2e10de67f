"""The course loop as people live it, through nbgrader's exchange: the instructor releases,
two students (each in a folder of their own, as separate users) fetch, fill and submit, the
instructor collects, grades and releases feedback, and the students fetch it."""
import html

import nbformat

from grading import course
from conftest import FULL, hidden_lines, points_by_part

COURSE_ID = "vae-olivetti"


def test_release_fetch_submit_collect_grade_and_feedback_through_the_exchange(tmp_path):
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)
    to_exchange = f"--Exchange.root={exchange}"
    instructor = course.new_course(tmp_path / "profesora")
    course.release(instructor)
    course.nbgrader("release_assignment", course.ASSIGNMENT, to_exchange, course=instructor)

    students = {"alumna_completa": course.answers.ALTERNATIVE,
                "alumno_parcial": course.demo_submissions()["beto_parcial"]}
    homes = {student: tmp_path / student for student in students}

    def as_student(student, command):
        homes[student].mkdir(exist_ok=True)
        # On one machine every student is the same OS user: --student says who is who, and
        # each gets the submission cache a user of their own would have.
        return course.nbgrader(command, course.ASSIGNMENT, f"--course={COURSE_ID}",
                               f"--student={student}", to_exchange,
                               f"--Exchange.cache={homes[student] / '.nbgrader_cache'}",
                               course=homes[student])

    for student, answers_by_part in students.items():
        as_student(student, "fetch_assignment")
        path = homes[student] / course.ASSIGNMENT / course.NOTEBOOK
        nbformat.write(course.fill(nbformat.read(path, 4), answers_by_part), path)
        as_student(student, "submit")

    course.nbgrader("collect", course.ASSIGNMENT, to_exchange, course=instructor)
    course.autograde(instructor)
    course.nbgrader("generate_feedback", course.ASSIGNMENT, course=instructor)
    course.nbgrader("release_feedback", course.ASSIGNMENT, to_exchange, course=instructor)

    totals = {student: sum(points_by_part(course.scores(student, instructor)).values())
              for student in students}
    assert totals == {"alumna_completa": 100.0, "alumno_parcial": 100.0 - FULL["build_decoder"]
                      - FULL["vae_loss"]}

    for student in students:
        as_student(student, "fetch_feedback")
        pages = list((homes[student] / course.ASSIGNMENT / "feedback").glob("*/*.html"))
        assert len(pages) == 1, f"{student} received {pages}"
        text = html.unescape(pages[0].read_text(encoding="utf-8"))
        leaks = sorted(line for line in hidden_lines() | {"calificador"} if line in text)
        assert not leaks, f"{student}'s feedback shows {leaks[:3]}"
