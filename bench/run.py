"""Benchmark of what costs time in this course, measured on the machine it runs on.

    make bench                     # or: python bench/run.py [--runs N] [--class-size N]

Writes bench/out/results.json and bench/out/results.md (a table with the date and the machine).
Every time is the median of --runs runs (3 by default), but a class is graded once with one
worker and once with two (--class-runs); the targets are ratios, so they mean the same on any
machine.
"""
import argparse
import datetime
import json
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

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import answers  # noqa: E402
import course  # noqa: E402

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


BASELINE = "73404a1"  # the last commit before the sandbox and the out-of-kernel verdicts
DOORS_BASELINE = "836713e"  # the last commit before the sandbox's doors were closed (issue 16)


def course_at(commit, folder):
    """The course files (config, grader, master) of an earlier commit, in `folder`."""
    folder.mkdir()
    names = subprocess.run(["git", "ls-tree", "--name-only", commit], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    wanted = [name for name in ("nbgrader_config.py", "grading", "source", "student_kernel")
              if name in names]
    archive = subprocess.run(["git", "archive", commit, *wanted],
                             cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def course_with_one_submission(folder, origin=ROOT):
    demo = course.new_course(folder, origin)
    course.release(demo)
    course.submit("ana_completa", course.filled(answers.ALTERNATIVE, demo), demo)
    return demo


def autograde_one(folder, env):
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", course.ASSIGNMENT,
                    "--student=ana_completa", "--force"], cwd=folder, env=env, check=True,
                   capture_output=True)


def autograde_one_before_and_after(runs):
    """Median seconds of `nbgrader autograde` of one complete submission with this course,
    with the BASELINE commit's (hidden tests in the kernel, no sandbox) and with the
    DOORS_BASELINE commit's (the sandbox before its doors were closed), alternating."""
    now_env = course.environment()
    before_env = {k: v for k, v in now_env.items() if k not in ("PYTHONPATH", "IPYTHONDIR")}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        courses = [
            ("now", course_with_one_submission(scratch / "now"), now_env),
            ("before", course_with_one_submission(
                scratch / "before", course_at(BASELINE, scratch / "baseline")), before_env),
            ("doors", course_with_one_submission(
                scratch / "doors", course_at(DOORS_BASELINE, scratch / "doors_baseline")),
             now_env)]
        times = {name: [] for name, _, _ in courses}
        for _ in range(runs):
            for name, folder, env in courses:
                start = time.perf_counter()
                autograde_one(folder, env)
                times[name].append(time.perf_counter() - start)
    return tuple(statistics.median(times[name]) for name, _, _ in courses)


def grade_class(size, workers):
    """(wall seconds, {student: Outcome}) of a released class of `size` graded on a local Dask
    cluster of `workers` single-threaded workers (cluster start included, release not)."""
    with tempfile.TemporaryDirectory() as folder:
        graded = course.course_with(class_submissions(size), pathlib.Path(folder))
        start = time.perf_counter()
        outcomes, _ = course.autograde_class(graded, workers=workers, progress=False)
        return time.perf_counter() - start, outcomes


def warm_seconds(outcomes):
    """Seconds per student in a warm worker: every student but each worker's first (which
    also pays for installing the course and importing TensorFlow in the worker)."""
    firsts = {}
    for outcome in sorted(outcomes.values(), key=lambda o: o.started):
        firsts.setdefault(outcome.worker, outcome.student)
    return [o.seconds for o in outcomes.values() if o.student not in firsts.values()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--class-size", type=int, default=30)
    parser.add_argument("--class-runs", type=int, default=1)
    args = parser.parse_args()
    results = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="minutes"),
               "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
                          f"{platform.release()}, Python {platform.python_version()}",
               "runs": args.runs}

    results["import_tensorflow_s"] = median_seconds(bare_import, args.runs)
    results["kernel_start_and_import_s"] = median_seconds(kernel_and_import, args.runs)

    (results["autograde_one_submission_s"], results["autograde_one_before_sandbox_s"],
     results["autograde_one_before_doors_s"]) = autograde_one_before_and_after(args.runs)
    results["class_size"] = args.class_size
    for workers in (1, 2):
        runs = [grade_class(args.class_size, workers) for _ in range(args.class_runs)]
        results[f"class_wall_{workers}_workers_s"] = statistics.median(wall for wall, _ in runs)
        results[f"warm_worker_per_student_{workers}_workers_s"] = statistics.median(
            seconds for _, outcomes in runs for seconds in warm_seconds(outcomes))

    full_runs = []
    for _ in range(args.runs):
        start = time.perf_counter()
        notebook = run_notebook(MASTER)
        full_runs.append((time.perf_counter() - start, held_out_errors(notebook)))
    results["master_full_run_s"] = statistics.median(t for t, _ in full_runs)
    errors = {name: statistics.median(run[1][name] for run in full_runs)
              for name in full_runs[0][1]}
    results["held_out_mse"] = errors

    eager, compiled = epoch_times(args.runs)
    results["epoch_eager_s"], results["epoch_tf_function_s"] = eager, compiled

    vae = next(v for k, v in errors.items() if k.startswith("VAE"))
    pca = next(v for k, v in errors.items() if k.startswith("PCA"))
    per_100 = results["class_wall_2_workers_s"] / args.class_size * 100
    results["targets"] = {
        "warm worker, seconds per student / import_tensorflow <= 2.2": round(
            results["warm_worker_per_student_1_workers_s"] / results["import_tensorflow_s"], 2),
        "parallel efficiency at 2 workers on 2 cores (wall 1 / (2 x wall 2)) >= 0.9": round(
            results["class_wall_1_workers_s"] / (2 * results["class_wall_2_workers_s"]), 2),
        "autograde_one / import_tensorflow (one `nbgrader autograde` process) <= 2.5": round(
            results["autograde_one_submission_s"] / results["import_tensorflow_s"], 2),
        f"autograde_one, sandboxed / before the sandbox ({BASELINE}) <= 1.15": round(
            results["autograde_one_submission_s"] / results["autograde_one_before_sandbox_s"], 2),
        f"autograde_one, doors closed / before ({DOORS_BASELINE}) <= 1.05": round(
            results["autograde_one_submission_s"] / results["autograde_one_before_doors_s"], 2),
        "class of 100 on 2 workers, projected minutes <= 15": round(per_100 / 60, 1),
        "master full run seconds <= 90": round(results["master_full_run_s"], 1),
        "VAE MSE / PCA MSE <= 0.85": round(vae / pca, 3),
        "tf.function speed-up (eager / compiled)": round(eager / compiled, 2),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    (OUT / "results.md").write_text(markdown(results))
    print(markdown(results))


def markdown(results):
    rows = [
        ("`python -c 'import tensorflow'`", f"{results['import_tensorflow_s']:.1f} s"),
        ("kernel start + TensorFlow import (nbclient)", f"{results['kernel_start_and_import_s']:.1f} s"),
        ("`nbgrader autograde` of one complete submission (sandboxed, verdicts outside)",
         f"{results['autograde_one_submission_s']:.1f} s"),
        (f"the same before the sandbox (commit {BASELINE}: hidden tests in the kernel)",
         f"{results['autograde_one_before_sandbox_s']:.1f} s"),
        (f"the same before the sandbox's doors were closed (commit {DOORS_BASELINE})",
         f"{results['autograde_one_before_doors_s']:.1f} s"),
        ("one student in a warm Dask worker (median; 1 worker / 2 workers)",
         f"{results['warm_worker_per_student_1_workers_s']:.1f} s / "
         f"{results['warm_worker_per_student_2_workers_s']:.1f} s"),
        (f"a class of {results['class_size']} on a local Dask cluster, 1 worker (wall)",
         f"{results['class_wall_1_workers_s']:.0f} s"),
        (f"a class of {results['class_size']} on a local Dask cluster, 2 workers (wall)",
         f"{results['class_wall_2_workers_s']:.0f} s"),
        ("master notebook, full run (default settings)", f"{results['master_full_run_s']:.0f} s"),
        ("one training epoch (batches of 8), eager", f"{results['epoch_eager_s']:.2f} s"),
        ("one training epoch (batches of 8), `tf.function` step", f"{results['epoch_tf_function_s']:.2f} s"),
    ] + [(f"held-out pixel MSE, {name}", f"{value:.4f}")
         for name, value in results["held_out_mse"].items()]
    lines = [f"Measured {results['date']} on {results['machine']}; medians of {results['runs']} runs.",
             "", "| what | value |", "|---|---|"]
    lines += [f"| {what} | {value} |" for what, value in rows]
    lines += ["", "| target | measured |", "|---|---|"]
    lines += [f"| {target} | {value} |" for target, value in results["targets"].items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
