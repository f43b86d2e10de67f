"""Submissions a real class hands in: crashes, hangs, dying kernels, floods of output,
tampering and messy notebooks. Each case says which parts must lose points (the others must
keep full marks) or that nbgrader must report the student and go on."""
import copy
import dataclasses
from typing import Callable

import nbformat

import answers
import course

MASTER = answers.master_solutions()


def with_part(part, code):
    return course.filled({**MASTER, part: code})


def messy():
    """Correct answers in a notebook a student has shuffled about: extra cells everywhere,
    markdown deleted, a solution cell duplicated (the first copy an abandoned wrong attempt),
    outputs left in, a read-only cell moved."""
    notebook = course.filled(MASTER)
    cells = [cell for cell in notebook.cells if cell.cell_type != "markdown"]
    extra = [nbformat.v4.new_code_cell("borrador = 1 + 1\nprint(borrador)"),
             nbformat.v4.new_markdown_cell("Mis notas: revisar la parte 4.")]
    messy_cells = []
    for cell in cells:
        if cell.get("id") == "vae_loss":
            attempt = copy.deepcopy(cell)
            attempt.source = answers.wrong("no KL term").code(MASTER)
            messy_cells.append(attempt)
        messy_cells.append(cell)
        messy_cells.extend(copy.deepcopy(extra))
    for cell in messy_cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="salida vieja\n")]
            cell.execution_count = 7
    figure = next(c for c in messy_cells if c.get("id") == "figura_datos")
    messy_cells.remove(figure)
    messy_cells.append(figure)
    for position, cell in enumerate(messy_cells):
        cell.id = f"celda-movida-{position}"
    notebook.cells = messy_cells
    return notebook


TAMPER_HELPERS = """
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
tf.debugging.assert_near = lambda *args, **kwargs: None
"""

REDEFINE_GIVEN = """

def log_normal_pdf(sample, mean, logvar, raxis=1):
    return tf.zeros(tf.shape(sample)[:1])


def reparameterize(mean, logvar):
    return mean
"""


@dataclasses.dataclass(frozen=True)
class Case:
    description: str
    notebook: Callable
    zeroed_parts: tuple = ()  # parts that must score 0; the others keep full marks
    same_as_wrong: str = ""  # or: the grades of this wrong answer from tools/answers.py
    reported: bool = False  # or: nbgrader reports the student as failed and goes on


CASES = {
    "adv_crash": Case("build_encoder raises ValueError",
                      lambda: with_part("build_encoder", "def build_encoder(latent_dim):\n"
                                        "    raise ValueError('todavía no')\n"),
                      ("build_encoder",)),
    "adv_hang": Case("reconstruct_faces never returns (while True)",
                     lambda: with_part("reconstruct_faces",
                                       "def reconstruct_faces(encoder, decoder, test_image):\n"
                                       "    while True:\n        pass\n"),
                     ("reconstruct_faces",)),
    "adv_sleep_loop": Case("reconstruct_faces sleeps for ever (time.sleep loop)",
                           lambda: with_part("reconstruct_faces",
                                             "import time\n\n"
                                             "def reconstruct_faces(encoder, decoder, test_image):\n"
                                             "    while True:\n        time.sleep(1)\n"),
                           ("reconstruct_faces",)),
    "adv_kernel_dies": Case("face_interpolation kills the kernel (os._exit)",
                            lambda: with_part("face_interpolation",
                                              "import os\n\n"
                                              "def face_interpolation(encoder, decoder, face1, face2, "
                                              "num_steps):\n    os._exit(1)\n"),
                            reported=True),
    "adv_flood": Case("reconstruct_faces prints 20 MB (correct otherwise)",
                      lambda: with_part("reconstruct_faces", MASTER["reconstruct_faces"].replace(
                          "    mean, logvar = encoder(test_image)",
                          "    print('x' * 20_000_000)\n    mean, logvar = encoder(test_image)"))),
    "adv_tamper_wrong": Case("wrong decoder (sigmoid) that replaces numpy/TF comparison helpers",
                             lambda: with_part("build_decoder", answers.wrong(
                                 "sigmoid on the last layer").code(MASTER) + TAMPER_HELPERS),
                             same_as_wrong="sigmoid on the last layer"),
    "adv_tamper_given": Case("correct vae_loss cell that also replaces the comparison helpers "
                             "and redefines log_normal_pdf and reparameterize wrongly",
                             lambda: with_part("vae_loss", MASTER["vae_loss"] + TAMPER_HELPERS
                                               + REDEFINE_GIVEN)),
    "adv_messy": Case("correct answers in a messy notebook", messy),
}
