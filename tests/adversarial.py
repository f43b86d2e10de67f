"""Submissions a real class hands in: crashes, hangs, dying kernels, floods of output,
tampering and messy notebooks. Each case says which parts must lose points (the others must
keep full marks) or that nbgrader must report the student and go on."""
import copy
import dataclasses
import os
import stat
import textwrap
from typing import Callable

import nbformat

from grading import answers, course

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
    same_as_wrong: str = ""  # or: the grades of this wrong answer from grading/answers.py
    # plant(folder, classmate): adds what the notebook alone cannot hold (links, FIFOs) to the
    # submitted folder, once submitted; `classmate` is a correct classmate's notebook.
    plant: Callable = None
    graded: bool = True  # False: nbgrader has no notebook of the student's to grade


# 6 GiB, a page at a time: past the sandbox's cgroup (4 GiB), within its address space (8 GiB).
BALLOON = """import numpy as np

def build_decoder(latent_dim):
    bloques = [np.ones(256 << 20, dtype=np.uint8) for _ in range(24)]
    return bloques
"""

CASES = {
    "adv_crash": Case("build_encoder raises ValueError",
                      lambda: with_part("build_encoder", "def build_encoder(latent_dim):\n"
                                        "    raise ValueError('todavía no')\n"),
                      ("build_encoder",)),
    # (The interrupt at the cell's timeout finds it spinning or sleeping: both end the same.)
    "adv_hang": Case("reconstruct_faces never returns (a loop that spins and sleeps)",
                     lambda: with_part("reconstruct_faces",
                                       "import time\n\n"
                                       "def reconstruct_faces(encoder, decoder, test_image):\n"
                                       "    while True:\n        sum(range(3_000_000))\n"
                                       "        time.sleep(0.2)\n"),
                     ("reconstruct_faces",)),
    "adv_kernel_dies": Case("face_interpolation kills the kernel (os._exit): graded anyway",
                            lambda: with_part("face_interpolation",
                                              "import os\n\n"
                                              "def face_interpolation(encoder, decoder, face1, face2, "
                                              "num_steps):\n    os._exit(1)\n"),
                            ("face_interpolation",)),
    # A kernel that dies costs only the part where it died: a fresh kernel grades the next parts.
    "adv_memoria": Case("build_decoder allocates 6 GiB, past the sandbox's 4 GiB: the kernel "
                        "dies (twice: a given cell calls it again), its later parts are graded",
                        lambda: with_part("build_decoder", BALLOON), ("build_decoder",)),
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


# ---------------------------------------------------------------------------------- attacks
# What a student who has read nbgrader's documentation and this repository would try. Each one
# is empty or wrong in the part it attacks and correct elsewhere; in an unsandboxed kernel with
# the verdicts inside it, the first eight would have earned the attacked part's points.

NETWORK_PORT = 47_011  # tests/test_sandbox.py listens here on 127.0.0.1


def attack(part, code):
    """The master's answers, with `code` (dedented) as the solution of `part`."""
    return lambda: with_part(part, textwrap.dedent(code))


PATCH_EVERY_MODULE = """\
    import sys, types
    instalacion = (sys.prefix, sys.base_prefix)
    for modulo in list(sys.modules.values()):
        archivo = getattr(modulo, "__file__", None) or ""
        if archivo and not archivo.startswith(instalacion):
            for nombre, valor in list(vars(modulo).items()):
                if isinstance(valor, types.FunctionType):
                    setattr(modulo, nombre, lambda *a, **k: None)
"""

ATTACKS = {
    "atk_lee_fuente": Case(
        "face_interpolation runs the master's solution found by searching the disk for "
        "source/*/*.ipynb",
        attack("face_interpolation", """
            import json, os

            def face_interpolation(encoder, decoder, face1, face2, num_steps):
                for raiz, carpetas, archivos in os.walk("/"):
                    carpetas[:] = [c for c in carpetas if c not in ("proc", "sys", "usr", "dev")]
                    for nombre in archivos:
                        if nombre.endswith(".ipynb") and "source" in raiz:
                            celdas = json.load(open(os.path.join(raiz, nombre)))["cells"]
                            for celda in celdas:
                                codigo = "".join(celda["source"])
                                if codigo.startswith("def face_interpolation"):
                                    exec(codigo, globals())
                                    return globals()["face_interpolation"](
                                        encoder, decoder, face1, face2, num_steps)
                raise FileNotFoundError("no encontré la solución")
            """),
        ("face_interpolation",)),
    "atk_lee_companeros": Case(
        "reconstruct_faces copies another student's answer from submitted/",
        attack("reconstruct_faces", """
            import json, os

            def reconstruct_faces(encoder, decoder, test_image):
                for raiz, carpetas, archivos in os.walk("/"):
                    carpetas[:] = [c for c in carpetas if c not in ("proc", "sys", "usr", "dev")]
                    if "submitted" in raiz and "atk_lee_companeros" not in raiz:
                        for nombre in archivos:
                            if nombre.endswith(".ipynb"):
                                for celda in json.load(open(os.path.join(raiz, nombre)))["cells"]:
                                    codigo = "".join(celda["source"])
                                    if codigo.startswith("def reconstruct_faces"):
                                        exec(codigo, globals())
                                        return globals()["reconstruct_faces"](
                                            encoder, decoder, test_image)
                raise FileNotFoundError("no encontré a nadie")
            """),
        ("reconstruct_faces",)),
    "atk_parchea_modulos": Case(
        "wrong build_decoder (sigmoid) that, when called, replaces every function of every "
        "module loaded from outside the Python installation by a no-op",
        lambda: with_part("build_decoder", answers.wrong("sigmoid on the last layer").code(
            MASTER).replace("    return decoder", PATCH_EVERY_MODULE + "    return decoder")),
        same_as_wrong="sigmoid on the last layer"),
    "atk_gancho_import": Case(
        "wrong data_generator (random_state=0) that installs an import hook "
        "(builtins.__import__): every module imported later from outside the Python "
        "installation (a grader, an observer) comes back with functions that do nothing",
        lambda: with_part("data_generator", answers.wrong("split with random_state=0").code(
            MASTER) + textwrap.dedent("""

            import builtins, sys, types
            _importar = builtins.__import__
            _instalacion = (sys.prefix, sys.base_prefix)

            def _gancho(nombre, *args, **kwargs):
                modulo = _importar(nombre, *args, **kwargs)
                archivo = getattr(modulo, "__file__", None) or ""
                if not archivo or archivo.startswith(_instalacion):
                    return modulo  # los módulos de Python y de la instalación, intactos
                falso = types.ModuleType(modulo.__name__)
                for clave, valor in vars(modulo).items():
                    setattr(falso, clave, (lambda *a, **k: None) if callable(valor) else valor)
                return falso

            builtins.__import__ = _gancho
            """)),
        same_as_wrong="split with random_state=0"),
    "atk_importa_calificador": Case(
        "vae_loss that imports the grader and calls its reference (searching the disk for "
        "grading/calificador.py)",
        attack("vae_loss", """
            import importlib.util, os, sys

            def vae_loss(encoder, decoder, x):
                for raiz, carpetas, archivos in os.walk("/"):
                    carpetas[:] = [c for c in carpetas if c not in ("proc", "sys", "usr", "dev")]
                    if "calificador.py" in archivos:
                        sys.path.insert(0, raiz)
                        import calificador
                        return calificador.vae_loss_referencia(encoder, decoder, x)
                raise ModuleNotFoundError("calificador")
            """),
        ("vae_loss",)),
    "atk_escribe_archivos": Case(
        "train_vae that writes into every gradebook.db, grading/ and source/ it can find",
        attack("train_vae", """
            import os

            def train_vae(encoder, decoder, train_dataset, epochs):
                escritos = 0
                for raiz, carpetas, archivos in os.walk("/"):
                    carpetas[:] = [c for c in carpetas if c not in ("proc", "sys", "usr", "dev")]
                    for nombre in archivos:
                        if nombre in ("gradebook.db", "calificador.py", "vae_olivetti.ipynb",
                                      "nbgrader_config.py", "observador.py"):
                            try:
                                with open(os.path.join(raiz, nombre), "a") as archivo:
                                    archivo.write("# atk_escribe_archivos estuvo aquí\\n")
                                escritos += 1
                            except OSError:
                                pass
                raise PermissionError(f"{escritos} archivos modificados")
            """),
        ("train_vae",)),
    "atk_falsifica": Case(
        "empty vae_loss whose cell replaces the hidden cells' observer so that it publishes a "
        "plausible loss (4096 log 2) instead of observing",
        attack("vae_loss", """
            import math
            from IPython.display import publish_display_data

            def vae_loss(encoder, decoder, x):
                raise NotImplementedError()

            _observar = _observador.observar

            def _falso(prueba, ns):
                if not prueba.startswith("test_vae_loss"):
                    return _observar(prueba, ns)
                publish_display_data({_observador.MIME: {
                    "prueba": prueba, "datos": {"perdida": 4096 * math.log(2)}}})

            _observador.observar = _falso
            """),
        ("vae_loss",)),
    "atk_red": Case(
        f"reconstruct_faces that asks a server on 127.0.0.1:{NETWORK_PORT} for the answer",
        attack("reconstruct_faces", f"""
            import socket

            def reconstruct_faces(encoder, decoder, test_image):
                with socket.create_connection(("127.0.0.1", {NETWORK_PORT}), timeout=3) as canal:
                    canal.sendall(b"atk_red: la respuesta, por favor")
                mean, logvar = encoder(test_image)
                return tf.sigmoid(decoder(reparameterize(mean, logvar)))
            """),
        ("reconstruct_faces",)),
    "atk_bomba": Case(
        "face_interpolation that forks for ever (fork bomb)",
        attack("face_interpolation", """
            import os

            def face_interpolation(encoder, decoder, face1, face2, num_steps):
                while True:
                    os.fork()
            """),
        ("face_interpolation",)),
    "atk_memoria": Case(
        "reconstruct_faces that allocates 20 GB",
        attack("reconstruct_faces", """
            def reconstruct_faces(encoder, decoder, test_image):
                reserva = np.ones(20 * 2**30 // 8)
                return reserva[: test_image.size].reshape(test_image.shape)
            """),
        ("reconstruct_faces",)),
    "atk_mata_padre": Case(
        "build_encoder that kills its parent process and every other process it can see",
        attack("build_encoder", """
            import os, signal

            def build_encoder(latent_dim):
                propios = {os.getpid()}
                for pid in [os.getppid()] + [int(p) for p in os.listdir("/proc") if p.isdigit()]:
                    if pid not in propios:
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except OSError:
                            pass
                raise RuntimeError("sigo aquí")
            """),
        ("build_encoder",)),
    "atk_oculta_errores": Case(
        "wrong data_generator (random_state=0) whose cell hides every error: no tracebacks, "
        "every later cell wrapped in a try that swallows its errors, a fake success line",
        lambda: with_part("data_generator", answers.wrong("split with random_state=0").code(
            MASTER) + textwrap.dedent("""

            _ip = get_ipython()
            _ip.showtraceback = lambda *a, **k: None

            def _sin_errores(lineas):  # cada celda siguiente, dentro de un try que calla
                return (["try:\\n"] + ["    " + linea for linea in lineas]
                        + ["\\nexcept BaseException:\\n", "    pass\\n"])

            _ip.input_transformers_post.append(_sin_errores)
            print("Success! Your notebook passes all the tests.")
            """)),
        same_as_wrong="split with random_state=0"),
    "atk_salta_pruebas": Case(
        "wrong build_decoder (sigmoid) whose test cells take the ids of showcase cells "
        "(ungraded, grade_id vitrina_...), which grading does not run: no longer graded "
        "cells, they score nothing",
        lambda: tests_as_showcase(with_part("build_decoder", answers.wrong(
            "sigmoid on the last layer").code(MASTER)), "build_decoder"),
        ("build_decoder",)),
    "atk_id_desconocido": Case(
        "wrong build_decoder whose test cells are relabeled ungraded, with ids the course does "
        "not have: nbgrader refuses the notebook (reported once, not retried)",
        lambda: tests_as_showcase(with_part("build_decoder", answers.wrong(
            "sigmoid on the last layer").code(MASTER)), "build_decoder", known_ids=False),
        graded=False),
}
CASES.update(ATTACKS)


def tests_as_showcase(notebook, part, known_ids=True):
    """`notebook` with the test cells of `part` relabeled as showcase cells, which
    `SandboxedExecute.skip_cells` does not run: each takes the grade_id (and the locked,
    ungraded metadata) of a showcase cell the student deleted, or with `known_ids=False` an id
    of that form the course does not have (nbgrader then drops the id and refuses the
    notebook)."""
    def grade_id(cell):
        return cell.metadata.get("nbgrader", {}).get("grade_id", "")

    showcase = [cell for cell in notebook.cells if grade_id(cell).startswith("vitrina_")]
    tests = [cell for cell in notebook.cells if grade_id(cell).startswith(f"test_{part}_")]
    for test, taken in zip(tests, showcase):
        test.metadata.nbgrader.update(
            grade=False, grade_id=grade_id(taken) if known_ids else f"vitrina_{grade_id(test)}")
        test.metadata.nbgrader.pop("points", None)
        if known_ids:
            notebook.cells.remove(taken)
    return notebook

# ------------------------------------------------------------------------------------ doors
# What a submission folder, a kernel message or an output can carry across the sandbox's
# doors (issue 16). The classmate whose notebook the links point at is graded in the same class.

ALL_PARTS = tuple(answers.PARTS)

COPY_THROUGH_LINKS = """
    import json

    def reconstruct_faces(encoder, decoder, test_image):
        for nombre in ("companero.ipynb", "duro.ipynb", "carpeta/companero.ipynb"):
            try:
                celdas = json.load(open(nombre))["cells"]
            except (OSError, ValueError):
                continue
            for celda in celdas:
                codigo = "".join(celda["source"])
                if "def reconstruct_faces" in codigo:
                    exec(codigo, globals())
                    return globals()["reconstruct_faces"](encoder, decoder, test_image)
        raise FileNotFoundError("no encontré a mi compañero")
    """


def links_to_the_classmate(folder, classmate):
    """A symbolic link and a hard link to the classmate's notebook, a link to a folder, a FIFO
    (a naive copy blocks on it) and, as root, /dev/zero's device (a naive copy never ends)."""
    (folder / "companero.ipynb").symlink_to(os.path.relpath(classmate, folder))
    os.link(classmate, folder / "duro.ipynb")
    (folder / "carpeta").symlink_to(os.path.relpath(classmate.parent, folder))
    os.mkfifo(folder / "tuberia")
    if os.geteuid() == 0:
        os.mknod(folder / "cero", stat.S_IFCHR | 0o600, os.makedev(1, 5))


def heavy_extra_file(folder, classmate):
    """A 60 MB extra file (sparse: it takes no disk), over the 50 MB a submission may hold."""
    with open(folder / "datos.bin", "wb") as extra:
        extra.truncate(60_000_000)


def crowded_folder(folder, classmate, folders=100, files=1_000):
    """A virtual environment handed in by mistake: venv/ with 100,000 one-byte files (in 100
    folders), a few MB in all, far under the size limit (made in about 1.5 s); beside the
    notebook, the secret `nbgrader submit` leaves, which release_feedback needs."""
    (folder / "submission_secret.txt").write_text("secreto de la entrega")
    for k in range(folders):
        inner = folder / "venv" / f"paquete_{k}"
        inner.mkdir(parents=True)
        for j in range(files):
            fd = os.open(inner / f"modulo_{j}.py", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, b"#")
            os.close(fd)


def cut_notebook(folder, classmate):
    """The notebook cut in the middle, as a copy interrupted or a disk that filled up leaves it."""
    notebook = folder / course.NOTEBOOK
    notebook.write_bytes(notebook.read_bytes()[:5000])


def deep_notebook(folder, classmate):
    """A notebook whose metadata nests 100,000 lists deep: JSON no reader should follow."""
    (folder / course.NOTEBOOK).write_text(
        '{"cells": [], "metadata": {"x": ' + "[" * 100_000 + "]" * 100_000 + '}, '
        '"nbformat": 4, "nbformat_minor": 5}')


def with_harmless_metadata():
    """Correct answers, with what editors leave in a notebook: a widget state, VS Code's and
    JupyterLab's keys on the cells, a Colab section."""
    notebook = course.filled(MASTER)
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "version_major": 2, "version_minor": 0, "state": {"a1b2": {
            "model_name": "LayoutModel", "model_module": "@jupyter-widgets/base",
            "model_module_version": "2.0.0", "state": {"width": "50%"}}}}}
    notebook.metadata["colab"] = {"provenance": [], "toc_visible": True}
    for cell in notebook.cells:
        cell.metadata["vscode"] = {"languageId": "python"}
        cell.metadata.setdefault("jupyter", {})["source_hidden"] = False
        cell.metadata["collapsed"] = False
    return notebook


def notebook_is_the_classmates(folder, classmate):
    (folder / course.NOTEBOOK).unlink()
    (folder / course.NOTEBOOK).symlink_to(os.path.relpath(classmate, folder))


# Sends, from build_encoder, a correctly signed display_data whose JSON nests 200,000 levels:
# jupyter_client's decoder raises RecursionError on it.
DEEP_MESSAGE = """

_construir_encoder = build_encoder


def build_encoder(latent_dim):
    ip = get_ipython()
    profundo = b"[" * 200_000 + b"]" * 200_000
    ip.kernel.session.send(ip.display_pub.pub_socket, "display_data", content=profundo,
                           parent=ip.display_pub.parent_header)
    return _construir_encoder(latent_dim)
"""

# 600 MB to stdout on every call (in 100 MB writes), and a wrong answer (of the wrong shape too).
FLOOD = """
    import sys

    def reconstruct_faces(encoder, decoder, test_image):
        for _ in range(6):
            sys.stdout.write("x" * 100_000_000)
            sys.stdout.flush()
        return tf.zeros((1,))
    """

# Correct answers, and cells of the student's own whose outputs and markdown carry scripts;
# a figure and a line of text that the feedback page must still show.
SCRIPT_MARKDOWN = ('Mis notas <script>window.__alumno = "script en markdown"</script>'
                   '<img src="x" onerror="window.__alumno = \'onerror en markdown\'">'
                   '<a id="enlace-alumno" href="javascript:window.__alumno=\'enlace\'">enlace</a>')
SCRIPT_OUTPUTS = """\
import io
import matplotlib.pyplot as plt
from IPython.display import HTML, Image, Javascript, display

display(HTML('<b>negrita del alumno</b><script>window.__alumno = "script en HTML"</script>'
             '<img src="x" onerror="window.__alumno = \\'onerror en HTML\\'">'))
display(Javascript('window.__alumno = "Javascript"'))
figura, ejes = plt.subplots(figsize=(2, 2))
ejes.plot([0, 1], [1, 0])
imagen = io.BytesIO()
figura.savefig(imagen, format="png")
display(Image(data=imagen.getvalue()))
print("texto del alumno")
"""


def with_scripts():
    notebook = course.filled(MASTER)
    notebook.cells[1:1] = [nbformat.v4.new_markdown_cell(SCRIPT_MARKDOWN),
                           nbformat.v4.new_code_cell(SCRIPT_OUTPUTS)]
    return notebook


DOORS = {
    "puerta_enlaces": Case(
        "reconstruct_faces reads a classmate's notebook through links its folder holds "
        "(symbolic, hard, to a folder), beside a FIFO and a device",
        attack("reconstruct_faces", COPY_THROUGH_LINKS), ("reconstruct_faces",),
        plant=links_to_the_classmate),
    "puerta_cuaderno_enlazado": Case(
        "the submitted notebook is a symbolic link to a classmate's notebook: not graded",
        lambda: course.filled({}), ALL_PARTS, plant=notebook_is_the_classmates, graded=False),
    "puerta_abarrotada": Case(
        "correct answers in a folder with a virtual environment of 100,000 tiny files: graded "
        "without it, in the time of a normal submission",
        lambda: course.filled(MASTER), plant=crowded_folder),
    "puerta_no_json": Case(
        "the notebook is cut in the middle (not JSON): NOT GRADED, its grade blank, not 0",
        lambda: course.filled(MASTER), ALL_PARTS, plant=cut_notebook, graded=False),
    "puerta_json_profundo": Case(
        "the notebook's JSON nests 100,000 levels deep: NOT GRADED, its grade blank, not 0",
        lambda: course.filled({}), ALL_PARTS, plant=deep_notebook, graded=False),
    "puerta_segfault": Case(
        "reconstruct_faces crashes natively (a segmentation fault): face_interpolation, after "
        "it, is graded by a fresh kernel",
        attack("reconstruct_faces", """
            import ctypes

            def reconstruct_faces(encoder, decoder, test_image):
                return ctypes.string_at(0)
            """), ("reconstruct_faces",)),
    "puerta_mensaje_profundo": Case(
        "build_encoder sends a kernel message nested 200,000 levels deep",
        lambda: with_part("build_encoder", MASTER["build_encoder"] + DEEP_MESSAGE),
        ("build_encoder",)),
}
# Graded on the command line only (tests/conftest.py, doors_run): the flood would cost the
# Dask run its time, and its grading process's memory is measured there.
COMMAND_LINE_DOORS = {
    "puerta_inundacion": Case("reconstruct_faces writes 600 MB to stdout per call (and is "
                              "wrong)", attack("reconstruct_faces", FLOOD), ("reconstruct_faces",)),
    "puerta_pesada": Case("correct answers in a folder of 60 MB (an extra file)",
                          lambda: course.filled(MASTER), plant=heavy_extra_file),
}
# Graded on Dask only, with the class: its feedback page is opened in Chromium.
DASK_DOORS = {
    "puerta_guiones": Case("correct answers, with scripts in its markdown and outputs",
                           with_scripts),
    "puerta_metadatos": Case("correct answers, with a widget state and editors' keys in its "
                             "metadata: graded as usual", with_harmless_metadata),
}
CASES.update(DOORS)
CASES.update(DASK_DOORS)
