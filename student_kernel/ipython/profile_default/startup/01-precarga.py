# Al calificar, el kernel carga de antemano las bibliotecas del cuaderno (el observador ya cargó
# TensorFlow): un kernel preparado antes de su turno (grading/sandbox.py, KernelPool) las tiene
# listas cuando llega el cuaderno del estudiante. Nada queda en el espacio de nombres del
# estudiante: sus celdas importan lo suyo como siempre.
def _precargar():
    import importlib

    for _modulo in ("keras", "matplotlib.pyplot", "sklearn.datasets", "sklearn.decomposition",
                    "sklearn.model_selection"):
        try:
            importlib.import_module(_modulo)
        except Exception:  # noqa: BLE001 (la celda del estudiante dirá lo que falte)
            pass
    import tensorflow as tf

    tf.constant(0.0).numpy()  # el contexto de ejecución inmediata, creado una vez


_precargar()
del _precargar
