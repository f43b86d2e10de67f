# Al calificar, el kernel carga el observador antes de cualquier celda del estudiante
# (student_kernel/observador.py): la parte oculta de cada celda de pruebas lo usa.
from observador import Observador as _Observador

_observador = _Observador()
del _Observador
