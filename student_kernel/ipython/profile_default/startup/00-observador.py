# Al calificar, el kernel carga el observador antes de cualquier celda del estudiante
# (student_kernel/observador.py): la parte oculta de cada celda de pruebas lo usa.
import os as _os
import signal as _signal

from observador import Observador as _Observador

_observador = _Observador()


def _hijo_sin_kernel(shell=get_ipython(), salir=_os._exit):  # noqa: F821 (IPython lo define)
    """Un proceso hijo del kernel (os.fork) que vuelve al kernel (con un error que mostrar, o
    para responder una celda o publicar una salida) termina ahí mismo: las copias de una bomba
    de procesos no gastan la máquina en trazas de error, no responden por el kernel ni le roban
    sus mensajes. Los hijos que queden al terminar cada celda los mata la calificación
    (grading/sandbox.py)."""
    shell.showtraceback = shell.kernel.session.send = lambda *argumentos, **opciones: salir(0)


_os.register_at_fork(after_in_child=_hijo_sin_kernel)
# Los hijos que terminan no quedan como zombis (contarían en el límite de procesos del kernel).
_signal.signal(_signal.SIGCHLD, _signal.SIG_IGN)
del _os, _signal, _Observador, _hijo_sin_kernel
