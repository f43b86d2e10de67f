"""What an instructor adds by hand in the formgrader (a comment on an answer, extra credit on a
test) survives a new grading of the class with `make autograde`: the Dask client records only
nbgrader's automatic score and comment (grading/dask_grading.py, `record`). The same for
`nbgrader autograde` is tested in the browser (tests/test_formgrader.py)."""
import shutil

from grading import course, dask_grading, html_pages

STUDENT = "beto_parcial"
WHERE = (course.NOTEBOOK[:-6], course.ASSIGNMENT, STUDENT)


def test_recording_a_new_grading_keeps_the_instructors_comment_and_extra_credit(tmp_path):
    course.new_course(tmp_path)
    shutil.copy(course.ROOT / "gradebook.db", tmp_path / "gradebook.db")
    with course.gradebook(tmp_path) as grades:
        grades.find_comment("build_decoder", *WHERE).manual_comment = "Revise la última capa."
        grades.find_grade("test_build_decoder_capas", *WHERE).extra_credit = 2.0
        grades.db.commit()
    # The committed demo's own grading of the student, as a worker returns it.
    result = {"student": STUDENT, "gradebook": dask_grading.gradebook_entries(course.ROOT, STUDENT),
              "autograded": dask_grading.folder_as_data(course.ROOT / "autograded" / STUDENT)}
    dask_grading.record(tmp_path, result)
    with course.gradebook(tmp_path) as grades:
        comment = grades.find_comment("build_decoder", *WHERE).manual_comment
        extra = grades.find_grade("test_build_decoder_capas", *WHERE).extra_credit
        total = grades.find_submission(course.ASSIGNMENT, STUDENT).score
    assert (comment, extra) == ("Revise la última capa.", 2.0), (
        f"expected the comment and the extra credit kept, found {comment!r} and {extra!r}")
    assert total == 67.0, f"expected 65 points plus 2 of extra credit, found {total}"


def test_a_students_html_cannot_take_the_id_of_a_score_box_in_the_review_page():
    """nbgrader's review page finds each test's score box by id: a student's element with that
    id (or a heading whose text is a grade_id) placed before it would take the marks typed
    there. The review page's cleaning drops ids and classes; the feedback page's keeps them."""
    html = ('<span id="test_build_decoder_capas" class="score tabbable">mía</span>'
            '<h2 id="test_vae_loss_kl">Parte 4</h2>')
    cleaned = html_pages.clean_html_for_review(html)
    assert cleaned == "<span>mía</span><h2>Parte 4</h2>", cleaned
    assert 'id="test_build_decoder_capas"' in html_pages.clean_html(html)
