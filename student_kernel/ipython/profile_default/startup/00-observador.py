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

_LIMITE_DE_SALIDA = 1_000_000  # caracteres por celda y flujo; la calificación guarda 1 MB


def _salida_limitada(flujo, shell=get_ipython()):  # noqa: F821
    """Cada celda escribe a lo sumo _LIMITE_DE_SALIDA caracteres en stdout y en stderr: el
    resto no llega a salir del kernel. Una inundación de salida no ocupa el kernel en enviarla
    y la celda sigue atendiendo su interrupción. (La calificación corta la salida por su
    cuenta, fuera del kernel: esto no la sustituye.)"""
    escribir, usados = flujo.write, [0]

    def write(texto):
        libre = _LIMITE_DE_SALIDA - usados[0]
        if libre > 0:
            usados[0] += len(texto)
            escribir(texto[:libre])
            if len(texto) > libre:
                escribir("\nSalida recortada: la celda escribió más de 1 MB; el resto de su "
                         "salida no se guarda.\n")
        return len(texto)

    flujo.write = write
    shell.events.register("pre_run_cell", lambda *argumentos: usados.__setitem__(0, 0))


for _flujo in (__import__("sys").stdout, __import__("sys").stderr):
    _salida_limitada(_flujo)
# Los hijos que terminan no quedan como zombis (contarían en el límite de procesos del kernel).
_signal.signal(_signal.SIGCHLD, _signal.SIG_IGN)
del _os, _signal, _Observador, _hijo_sin_kernel, _salida_limitada, _flujo
