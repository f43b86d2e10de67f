"""Benchmark of what costs time in this course, measured on the machine it runs on.

    make bench                     # or: python bench/run.py [--runs N] [--class-size N]
    python bench/run.py --folders  # only the crowded submission folders (a minute)

Writes bench/out/results.json and bench/out/results.md (a table with the date and the machine).
Every time is the median of --runs runs (3 by default), but each class is graded once: with two
workers and each kernel started on demand (as before issue 17), with two workers and the next
kernel started ahead (the default), with one worker, and with plain serial `nbgrader autograde`
in one process. The targets are ratios, so they mean the same on any machine.
"""
import argparse
import datetime
import json
import math
import os
import pathlib
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import nbformat
from nbclient import NotebookClient

from grading import ROOT, answers, course

OUT = ROOT / "bench" / "out"
MASTER = ROOT / "source" / course.ASSIGNMENT / course.NOTEBOOK


def median_seconds(action, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bare_import():
    subprocess.run([sys.executable, "-c", "import tensorflow"], check=True, env=course.environment(),
                   capture_output=True)


def kernel_and_import():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import tensorflow")])
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()


def run_notebook(path):
    """Executes a notebook in full, as a student would (no NBGRADER_EXECUTION)."""
    env = course.environment()
    env.pop("NBGRADER_EXECUTION", None)
    notebook = nbformat.read(path, 4)
    NotebookClient(notebook, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute(env=env)
    return notebook


def held_out_errors(notebook):
    """The MSEs the showcase prints: {"cara promedio": ..., "PCA ...": ..., "VAE ...": ...}."""
    cell = next(c for c in notebook.cells if c.get("id") == "vitrina_pca")
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    return {name.strip(): float(value)
            for name, value in re.findall(r"MSE en prueba,\s*(.+?):\s*([0-9.]+)", text)}


def epoch_times(runs):
    """Seconds per training epoch of the reference solution, eager and with tf.function."""
    code = """
import time, numpy as np, tensorflow as tf
from sklearn.datasets import fetch_olivetti_faces
from sklearn.model_selection import train_test_split
X = fetch_olivetti_faces(shuffle=True, random_state=55).data.reshape(400, 64, 64, 1)
"""
    solutions = answers.master_solutions()
    notebook = nbformat.read(MASTER, 4)
    given = next(c.source for c in notebook.cells if c.get("id") == "funciones_dadas")
    code += given + "\n" + "\n".join(solutions[p] for p in
                                     ("data_generator", "build_encoder", "build_decoder", "vae_loss"))
    code += f"""
train, _ = data_generator(X, 0.2, 8)  # the showcase's batches
def epoch_seconds(compiled):
    encoder, decoder = build_encoder(8), build_decoder(8)
    optimizer = tf.keras.optimizers.Adam(1e-3)
    variables = encoder.trainable_variables + decoder.trainable_variables
    def step(x):
        with tf.GradientTape() as tape:
            loss = vae_loss(encoder, decoder, x)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    step = tf.function(step, reduce_retracing=True) if compiled else step
    for x in train:
        step(x)  # warm-up epoch: builds the optimizer and traces the step
    times = []
    for _ in range({runs}):
        start = time.perf_counter()
        for x in train:
            step(x)
        times.append(time.perf_counter() - start)
    return float(np.median(times))
print(epoch_seconds(False), epoch_seconds(True))
"""
    result = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                            text=True, env=course.environment())
    eager, compiled = map(float, result.stdout.split())
    return eager, compiled


def class_submissions(size):
    """`size` submissions cycling through correct and wrong answers."""
    master = answers.master_solutions()
    variants = [master, answers.ALTERNATIVE] + [{**master, w.part: w.code(master)}
                                                for w in answers.WRONG]
    return {f"estudiante_{k:03d}": course.filled(variants[k % len(variants)]) for k in range(size)}


def course_with_one_submission(folder):
    demo = course.new_course(folder)
    course.release(demo)
    course.submit("ana_completa", course.filled(answers.ALTERNATIVE, demo), demo)
    return demo


def autograde_one(folder, *options):
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", course.ASSIGNMENT,
                    "--student=ana_completa", "--force", *options], cwd=folder,
                   env=course.environment(), check=True, capture_output=True)


NO_PRESTART = "--SandboxedExecute.prestart=False"

# A crowded submission folder (issue 23): files of one byte in one folder, nbgrader's worst case.
FOLDER_SIZES = (1_000, 10_000, 100_000)
NBGRADER_SIZES = (1_000, 2_000, 4_000)  # quadratic: 10,000 would take minutes, 100,000 hours


def crowded(folder, files):
    folder.mkdir(parents=True)
    (folder / course.NOTEBOOK).write_text("{}")
    (folder / "venv").mkdir()
    for k in range(files):
        fd = os.open(folder / "venv" / f"f{k}", os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, b"#")
        os.close(fd)
    return folder


def folder_growth():
    """Seconds to read a submission folder of 1,000, 10,000 and 100,000 files: the course's
    pass with its limit (1,000 files), the same pass with no limit (all of them read), and
    nbgrader's own listing (find_all_files, with the course's ignore list) on the smaller
    folders it can list in time."""
    from nbgrader.utils import find_all_files

    from grading import submission_files

    ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
              submission_files.LEFT_OUT_FOLDER, "*.ipynb"]
    growth = {"course_pass_s": {}, "course_pass_unlimited_s": {}, "nbgrader_find_all_files_s": {}}
    with tempfile.TemporaryDirectory() as scratch:
        for files in sorted(set(FOLDER_SIZES) | set(NBGRADER_SIZES)):
            folder = crowded(pathlib.Path(scratch) / str(files), files)
            if files in FOLDER_SIZES:
                growth["course_pass_s"][files] = median_seconds(
                    lambda: submission_files.read_submission(folder, contents=False), 3)
                growth["course_pass_unlimited_s"][files] = median_seconds(
                    lambda: submission_files.read_submission(folder, contents=False,
                                                             max_files=files + 10), 3)
            if files in NBGRADER_SIZES:
                growth["nbgrader_find_all_files_s"][files] = median_seconds(
                    lambda: find_all_files(str(folder), ignore), 1)
    return growth


def autograde_one_crowded(runs):
    """Median seconds of `nbgrader autograde` of one complete submission handed in with a
    virtual environment of 100,000 files, and of the same submission without it, alternating
    (the hook moves the environment aside; it is put back before each crowded run)."""
    from grading.submission_files import LEFT_OUT_FOLDER

    with tempfile.TemporaryDirectory() as scratch:
        folder = course_with_one_submission(pathlib.Path(scratch) / "uno")
        student = folder / "submitted" / "ana_completa"
        store = crowded(pathlib.Path(scratch) / "entorno", 100_000) / "venv"
        times = {"alone": [], "crowded": []}
        for _ in range(runs):
            for name in times:
                if name == "crowded":
                    os.replace(store, student / course.ASSIGNMENT / "venv")
                start = time.perf_counter()
                autograde_one(folder)
                times[name].append(time.perf_counter() - start)
                if name == "crowded":
                    os.replace(student / LEFT_OUT_FOLDER / course.ASSIGNMENT / "venv", store)
    return {name: statistics.median(values) for name, values in times.items()}


def folders_markdown(growth, autograde):
    lines = ["| files in the folder | course's pass (limit 1,000) | course's pass, no limit | "
             "nbgrader's `find_all_files` |", "|---|---|---|---|"]
    for files in sorted(set(FOLDER_SIZES) | set(NBGRADER_SIZES)):
        cells = [growth[name].get(files) for name in ("course_pass_s", "course_pass_unlimited_s",
                                                      "nbgrader_find_all_files_s")]
        lines.append(f"| {files:,} | " + " | ".join(
            "-" if cell is None else f"{cell:.4f} s" for cell in cells) + " |")
    lines += ["", f"`nbgrader autograde` of one complete submission, median of alternating "
              f"runs: {autograde['alone']:.1f} s alone, {autograde['crowded']:.1f} s with a "
              "virtual environment of 100,000 files in its folder."]
    return "\n".join(lines) + "\n"


def autograde_one_with_and_without_prestart(runs):
    """Median seconds of `nbgrader autograde` of one complete submission, with the next
    kernel started ahead (the default: for one student it is started and thrown away) and
    without, alternating."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = course_with_one_submission(pathlib.Path(scratch) / "uno")
        times = {"with": [], "without": []}
        for _ in range(runs):
            for name, options in (("with", ()), ("without", (NO_PRESTART,))):
                start = time.perf_counter()
                autograde_one(folder, *options)
                times[name].append(time.perf_counter() - start)
    return statistics.median(times["with"]), statistics.median(times["without"])


def busy_cores(action):
    """(what `action` returns, the mean number of busy cores while it ran): /proc/stat."""
    def jiffies():
        fields = [int(value) for value in pathlib.Path("/proc/stat").read_text().split()[1:9]]
        return sum(fields), fields[3] + fields[4]  # all, idle + iowait
    total, idle = jiffies()
    result = action()
    total_after, idle_after = jiffies()
    cores = os.cpu_count()
    return result, cores * (1 - (idle_after - idle) / max(1, total_after - total))


def grade_class(size, workers, settings=None):
    """(wall seconds, {student: Outcome}, mean busy cores, the report `make autograde` prints)
    of a released class of `size` graded on a local Dask cluster of `workers` single-threaded
    workers (cluster start included, release not)."""
    with tempfile.TemporaryDirectory() as folder:
        graded = course.course_with(class_submissions(size), pathlib.Path(folder))

        def grade():
            start = time.perf_counter()
            outcomes, report = course.autograde_class(graded, workers=workers,
                                                      settings=settings, progress=False)
            return time.perf_counter() - start, outcomes, report
        (wall, outcomes, report), cores = busy_cores(grade)
        return wall, outcomes, cores, report


def serial_class(size):
    """(wall seconds, mean busy cores) of plain `nbgrader autograde` of the same class, in one
    process, with this course's configuration."""
    with tempfile.TemporaryDirectory() as folder:
        graded = course.course_with(class_submissions(size), pathlib.Path(folder))

        def grade():
            start = time.perf_counter()
            course.autograde(graded)
            return time.perf_counter() - start
        return busy_cores(grade)


def warm(outcomes):
    """The students graded in a warm worker: all but each worker's first (which also pays for
    installing the course, importing TensorFlow in the worker and starting its first kernel)."""
    firsts = {}
    for outcome in sorted(outcomes.values(), key=lambda o: o.started):
        firsts.setdefault(outcome.worker, outcome.student)
    return [o for o in outcomes.values() if o.student not in firsts.values()]


# One student's grading in a warm worker, term by term (grading/dask_grading.py, timings_in).
# The floor: what the student's notebook and the checks need. The rest is overhead.
BREAKDOWN = [
    ("sandbox", "sandbox: a kernel taken, the student's files copied in", "overhead"),
    ("kernel_start", "kernel start and imports, waited for by this student", "overhead"),
    ("kernel_start_ahead", "(kernel start and imports in all, ahead or not)", None),
    ("cells_notebook", "the notebook's own cells (imports, data, solutions, showcase)", "floor"),
    ("visible_tests", "test cells, visible part", "floor"),
    ("observations", "test cells, hidden part: the observations (kernel's clock)", "floor"),
    ("verdicts", "verdicts in the worker (references, checks)", "floor"),
    ("kernel_end", "kernel stopped, sandbox removed", "overhead"),
    ("nbgrader", "nbgrader's own work (copies, validation, gradebook)", "overhead"),
    ("task", "the task's own work (private course, results as data)", "overhead"),
]


def breakdown(outcomes):
    """{term: median seconds} over the warm students, with the total."""
    rows = []
    for outcome in warm(outcomes):
        timings = dict(outcome.timings)
        timings["visible_tests"] = timings.get("cells_tests", 0) - timings.get("observations", 0)
        timings["total"] = outcome.seconds
        rows.append(timings)
    return {name: statistics.median(row.get(name, 0) for row in rows)
            for name in [term for term, _, _ in BREAKDOWN] + ["total"]}


CLASSES = {  # name: (workers, settings)
    "before": (2, {"SandboxedExecute": {"prestart": False}}),  # each kernel started on demand
    "after": (2, None),  # the next kernel started ahead (the default)
    "one_worker": (1, None),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--class-size", type=int, default=30)
    parser.add_argument("--master-runs", type=int, help="full runs of the master notebook "
                        "(default: --runs)")
    parser.add_argument("--folders", action="store_true", help="only the crowded submission "
                        "folders: bench/out/folders.{json,md}")
    args = parser.parse_args()
    growth, autograde = folder_growth(), autograde_one_crowded(args.runs)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "folders.json").write_text(json.dumps(
        {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="minutes"),
         "growth": growth, "autograde_one_s": autograde}, indent=2) + "\n")
    (OUT / "folders.md").write_text(folders_markdown(growth, autograde))
    print(folders_markdown(growth, autograde))
    if args.folders:
        return
    results = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="minutes"),
               "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
                          f"{platform.release()}, Python {platform.python_version()}",
               "runs": args.runs, "class_size": args.class_size,
               "master_runs": args.master_runs or args.runs}

    results["import_tensorflow_s"] = median_seconds(bare_import, args.runs)
    results["kernel_start_and_import_s"] = median_seconds(kernel_and_import, args.runs)
    (results["autograde_one_s"],
     results["autograde_one_without_prestart_s"]) = autograde_one_with_and_without_prestart(
        args.runs)

    for name, (workers, settings) in CLASSES.items():
        wall, outcomes, cores, report = grade_class(args.class_size, workers, settings)
        (OUT / f"report_{name}.txt").parent.mkdir(parents=True, exist_ok=True)
        (OUT / f"report_{name}.txt").write_text(report + "\n")
        results[f"class_{name}"] = {
            "workers": workers, "wall_s": wall, "busy_cores": cores,
            "scores": {o.student: o.score for o in outcomes.values()},
            "warm_per_student_s": statistics.median(o.seconds for o in warm(outcomes)),
            "breakdown_s": breakdown(outcomes)}
    results["serial_wall_s"], results["serial_busy_cores"] = serial_class(args.class_size)

    full_runs = []
    for _ in range(results["master_runs"]):
        start = time.perf_counter()
        notebook = run_notebook(MASTER)
        full_runs.append((time.perf_counter() - start, held_out_errors(notebook)))
    results["master_full_run_s"] = statistics.median(t for t, _ in full_runs)
    errors = {name: statistics.median(run[1][name] for run in full_runs)
              for name in full_runs[0][1]}
    results["held_out_mse"] = errors

    eager, compiled = epoch_times(args.runs)
    results["epoch_eager_s"], results["epoch_tf_function_s"] = eager, compiled

    before, after, alone = (results[f"class_{name}"] for name in CLASSES)
    vae = next(v for k, v in errors.items() if k.startswith("VAE"))
    pca = next(v for k, v in errors.items() if k.startswith("PCA"))
    per_student = after["wall_s"] / args.class_size  # of the whole class, 2 workers
    results["projection"] = {
        "minutes_for_100_on_one_machine": round(per_student * 100 / 60, 1),
        "minutes_for_2000_on_one_machine": round(per_student * 2000 / 60),
        "machines_for_2000_in_15_minutes": math.ceil(per_student * 2000 / (15 * 60))}
    results["targets"] = {
        "warm worker, seconds per student / import_tensorflow <= 1.0 (2 workers)": round(
            after["warm_per_student_s"] / results["import_tensorflow_s"], 2),
        "the same, 1 worker": round(
            alone["warm_per_student_s"] / results["import_tensorflow_s"], 2),
        f"serial nbgrader autograde of {args.class_size} / make autograde (2 workers) >= 4": round(
            results["serial_wall_s"] / after["wall_s"], 2),
        "parallel efficiency at 2 workers on 2 cores (wall 1 / (2 x wall 2)) >= 0.9": round(
            alone["wall_s"] / (2 * after["wall_s"]), 2),
        "busy cores while 2 workers grade (of 2)": round(after["busy_cores"], 2),
        "class wall, kernels started ahead / on demand (2 workers)": round(
            after["wall_s"] / before["wall_s"], 2),
        "class of 100 on one 2-core machine, projected minutes <= 15": results["projection"][
            "minutes_for_100_on_one_machine"],
        "master full run seconds <= 90": round(results["master_full_run_s"], 1),
        "VAE MSE / PCA MSE <= 0.85": round(vae / pca, 3),
        "tf.function speed-up (eager / compiled)": round(eager / compiled, 2),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    (OUT / "results.md").write_text(markdown(results))
    print(markdown(results))


def markdown(results):
    size = results["class_size"]
    before, after, alone = (results[f"class_{name}"] for name in CLASSES)
    rows = [
        ("`python -c 'import tensorflow'`", f"{results['import_tensorflow_s']:.1f} s"),
        ("kernel start + TensorFlow import (nbclient)",
         f"{results['kernel_start_and_import_s']:.1f} s"),
        ("`nbgrader autograde` of one complete submission (next kernel started ahead / not)",
         f"{results['autograde_one_s']:.1f} s / "
         f"{results['autograde_one_without_prestart_s']:.1f} s"),
        ("one student in a warm Dask worker, median (2 workers: kernels on demand / ahead; "
         "1 worker: ahead)", f"{before['warm_per_student_s']:.1f} s / "
         f"{after['warm_per_student_s']:.1f} s / {alone['warm_per_student_s']:.1f} s"),
        (f"a class of {size}, `make autograde`, 2 workers, kernels on demand (wall; busy cores)",
         f"{before['wall_s']:.0f} s; {before['busy_cores']:.2f}"),
        (f"a class of {size}, `make autograde`, 2 workers, kernels ahead (wall; busy cores)",
         f"{after['wall_s']:.0f} s; {after['busy_cores']:.2f}"),
        (f"a class of {size}, `make autograde`, 1 worker, kernels ahead (wall; busy cores)",
         f"{alone['wall_s']:.0f} s; {alone['busy_cores']:.2f}"),
        (f"a class of {size}, plain serial `nbgrader autograde` in one process (wall; busy cores)",
         f"{results['serial_wall_s']:.0f} s; {results['serial_busy_cores']:.2f}"),
        (f"master notebook, full run (default settings; median of {results['master_runs']})",
         f"{results['master_full_run_s']:.0f} s"),
        ("one training epoch (batches of 8), eager", f"{results['epoch_eager_s']:.2f} s"),
        ("one training epoch (batches of 8), `tf.function` step",
         f"{results['epoch_tf_function_s']:.2f} s"),
    ] + [(f"held-out pixel MSE, {name}", f"{value:.4f}")
         for name, value in results["held_out_mse"].items()]
    lines = [f"Measured {results['date']} on {results['machine']}; medians of {results['runs']} "
             "runs (each class graded once).", "", "| what | value |", "|---|---|"]
    lines += [f"| {what} | {value} |" for what, value in rows]
    lines += ["", "One student in a warm worker, 2 workers, median seconds of each term over the "
              "warm students (a median total is not the sum of the medians):", "",
              "| term | floor or overhead | kernels on demand | kernels ahead |", "|---|---|---|---|"]
    for term, meaning, kind in BREAKDOWN + [("total", "total", "")]:
        lines.append(f"| {meaning} | {kind or ''} | {before['breakdown_s'][term]:.2f} | "
                     f"{after['breakdown_s'][term]:.2f} |")
    lines += ["", "| target | measured |", "|---|---|"]
    lines += [f"| {target} | {value} |" for target, value in results["targets"].items()]
    projection = results["projection"]
    lines += ["", f"Projected from the 2-worker class: 100 students in "
              f"{projection['minutes_for_100_on_one_machine']} min on one 2-core machine, 2,000 "
              f"in {projection['minutes_for_2000_on_one_machine']} min, or 15 min on "
              f"{projection['machines_for_2000_in_15_minutes']} such machines."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
