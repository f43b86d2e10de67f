"""The HTML pages nbgrader makes of a student's notebook, and what each may show.

Two pages, two exporters, both configured in nbgrader_config.py:

- **The feedback page** (`nbgrader generate_feedback`, from the terminal or the formgrader's
  button), for the student: `FeedbackExporter`, named by `c.GenerateFeedback.exporter_class`,
  with the course's Spanish template (grading/templates/retroalimentacion). It is a class of its
  own so that its template is configured on it alone: settings of nbconvert's `HTMLExporter`
  reach every HTML page nbgrader makes, the formgrader's included, and nbgrader's API sets
  `HTMLExporter.template_name = "feedback"` whenever the formgrader generates feedback.
- **The formgrader's review page** (`/formgrader/submissions/<id>`), for the instructor: the
  formgrader's own `HTMLExporter`, with nbgrader's `formgrade` template made safe
  (grading/templates/formgrade_sanitized). It is served by the instructor's Jupyter server, on
  the origin of the Jupyter REST API: a student's script there could act as the instructor.

In both, the HTML of the student's markdown and outputs goes through `clean_html`.
"""
import re

import bleach
from bleach.css_sanitizer import CSSSanitizer
from nbconvert.exporters import HTMLExporter
from nbgrader.preprocessors import GetGrades


class FeedbackExporter(HTMLExporter):
    """The feedback page's exporter: nbconvert's HTMLExporter, configured under its own name
    (`c.FeedbackExporter.template_name`, ...), which wins over any `HTMLExporter` setting."""


class GetGradesAndExtraCredit(GetGrades):
    """nbgrader's GetGrades, which puts each graded cell's score (extra credit included) and
    comment in its metadata, and also the extra credit alone (`extra_credit`), so that the
    feedback page can say how much of a score an instructor added by hand."""

    def _get_score(self, cell, resources):
        super()._get_score(cell, resources)
        grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"],
                                          self.notebook_id, self.assignment_id, self.student_id)
        cell.metadata.nbgrader["extra_credit"] = grade.extra_credit or 0.0


# What a page keeps of the HTML in a student's markdown and outputs: what markdown and
# the usual outputs (tables, figures) make, and no script, handler, style sheet or active URL.
TAGS = {"a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div",
        "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li",
        "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "summary", "sup",
        "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var"}
ATTRIBUTES = {"*": {"class", "id", "title", "align", "style"}, "a": {"href", "name"},
              "img": {"src", "alt", "width", "height"}, "td": {"colspan", "rowspan"},
              "th": {"colspan", "rowspan"}, "ol": {"start"}}
IMAGE_DATA = re.compile(r"^data:image/(png|jpeg|gif);base64,", re.I)


def allowed_attribute(tag, name, value):
    if name not in ATTRIBUTES["*"] | ATTRIBUTES.get(tag, set()):
        return False
    if name in ("href", "src") and value.strip().lower().startswith("data:"):
        return tag == "img" and bool(IMAGE_DATA.match(value.strip()))
    return True


def clean_html_for_review(html):
    """`clean_html` for the formgrader's review page, where the student's HTML also loses its
    `id` and `class` attributes: nbgrader's script finds each test's score and extra-credit
    boxes by id (`#<grade_id>`), so an element of the student's with that id, placed before the
    box, would take the instructor's marks (saved nowhere, without a word); and the page's
    Bootstrap classes would let a student's element cover the page's own."""
    return _clean(html, review_attribute)


def review_attribute(tag, name, value):
    return name not in ("id", "class") and allowed_attribute(tag, name, value)


def clean_html(html):
    """The `clean_html` filter of both pages' templates (in place of nbconvert's, which escapes
    paragraphs and headings): keeps TAGS with their ATTRIBUTES, URLs of http, https and
    mailto (and PNG, JPEG or GIF data in an image), plain CSS properties; escapes the rest."""
    return _clean(html, allowed_attribute)


def _clean(html, attributes):
    html = html.decode() if isinstance(html, bytes) else str(html)
    return bleach.clean(html, tags=TAGS, attributes=attributes,
                        protocols={"http", "https", "mailto", "data"},
                        css_sanitizer=CSSSanitizer(), strip_comments=True)
