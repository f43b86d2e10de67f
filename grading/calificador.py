"""Veredictos de las pruebas ocultas del taller «Autoencoder variacional con las caras Olivetti».

Solo para el equipo docente, y nunca corre en el kernel de un estudiante. En el kernel, la parte
oculta de cada celda de pruebas solo observa (student_kernel/observador.py): llama a las
funciones del estudiante con entradas fijadas por la semilla de la calificación y publica lo que
devolvieron como datos. Después de ejecutar el cuaderno, el preprocesador
`VerifyObservations` (grading/course_preprocessors.py) llama aquí a `veredicto` con esas
observaciones: se regeneran las mismas entradas, se calculan las referencias y se decide.

Reglas de todas las comprobaciones:

* Prueban comportamiento y configuración de capas, nunca el texto del código.
* Aislamiento: no usan otras partes del estudiante (modelos lineales para las partes 4, 6 y 7,
  pérdida sencilla para la parte 5, `reparameterize` con ruido fijo).
* Los valores con azar se comparan con una referencia calculada aquí con los mismos pesos, las
  mismas imágenes y el mismo ruido, y una tolerancia estrecha. Las entradas cambian en cada
  calificación: una tabla de valores preparada de antemano no sirve.
* Los mensajes dicen qué se esperaba y qué se encontró sin revelar valores de referencia.
"""
import base64

import numpy as np
import tensorflow as tf
from sklearn.model_selection import train_test_split

from grading import student_kernel_module

# Las entradas se regeneran con el mismo archivo que usa el kernel (el de la carpeta del curso,
# no el del kernel: nada de lo que pase en el kernel llega aquí).
_observador = student_kernel_module("observador")
LADO, PIXELES, Observador = _observador.LADO, _observador.PIXELES, _observador.Observador

CONVS_ENCODER = ((16, 5, 2), (32, 3, 2), (64, 3, 2), (128, 3, 2))
CONVS_DECODER = ((128, 3, 2), (64, 3, 2), (32, 3, 2), (16, 5, 2), (1, 3, 1))
ORDINALES = ("primera", "segunda", "tercera", "cuarta", "quinta")
LOG_2PI = float(np.log(2.0 * np.pi))


# ------------------------------------------------------------------------------ entrada

def veredicto(prueba, observaciones, semilla):
    """None si la prueba `prueba` pasa con estas observaciones; si no, el mensaje en español."""
    if len(observaciones) != 1 or not isinstance(observaciones[0], dict):
        return ("La prueba oculta no pudo observar sus funciones (se esperaba una observación y "
                f"hubo {len(observaciones)}): ¿algo en el cuaderno impidió ejecutarla?")
    observacion = observaciones[0]
    if observacion.get("prueba") != prueba:
        return "La observación de esta celda no corresponde a su prueba."
    try:
        VERIFICACIONES[prueba](decodificar(observacion.get("datos")),
                               Observador.entradas(prueba, semilla))
    except AssertionError as fallo:
        return str(fallo)
    except (KeyError, IndexError, TypeError, ValueError) as error:
        return ("Lo que devolvieron sus funciones no tiene la forma esperada y no se pudo "
                f"revisar ({type(error).__name__}).")
    return None


MAX_VALORES = 2_000_000  # una observación honesta tiene menos de 100 000 números


def decodificar(valor, restantes=None):
    """Lo contrario de Observador.codificar: solo datos (JSON y arreglos numéricos), y no más
    de MAX_VALORES números (una observación enorme no debe frenar la calificación de todos)."""
    restantes = [MAX_VALORES] if restantes is None else restantes
    if isinstance(valor, list):
        return [decodificar(v, restantes) for v in valor]
    if isinstance(valor, dict) and "__arreglo__" in valor:
        tipo = {"<f8": "<f8", "<i8": "<i8"}[valor["tipo"]]
        forma = [int(d) for d in valor["forma"]]
        restantes[0] -= len(valor["__arreglo__"]) * 3 // 32  # 8 bytes por número, en base64
        if restantes[0] < 0:
            raise ValueError("observación demasiado grande")
        arreglo = np.frombuffer(base64.b64decode(valor["__arreglo__"]), dtype=tipo)
        return arreglo.reshape(forma).astype(np.float64)
    if isinstance(valor, dict):
        return {k: decodificar(v, restantes) for k, v in valor.items()}
    return valor


# --------------------------------------------------------------------------- utilidades

def exigir(condicion, mensaje):
    if not condicion:
        raise AssertionError(mensaje)


def a_numpy(valor):
    return np.array(valor.numpy() if hasattr(valor, "numpy") else valor, dtype=np.float64)


def error_maximo(obtenido, esperado):
    obtenido, esperado = a_numpy(obtenido), a_numpy(esperado)
    exigir(obtenido.size == esperado.size,
           f"Se esperaban {esperado.size} valores y se encontraron {obtenido.size}.")
    return float(np.abs(obtenido.reshape(-1) - esperado.reshape(-1)).max(initial=0.0))


def parecidos(obtenido, esperado, tolerancia_relativa=1e-5):
    escala = max(1.0, float(np.abs(a_numpy(esperado)).max(initial=0.0)))
    return error_maximo(obtenido, esperado) <= tolerancia_relativa * escala


def forma(arreglo):
    return tuple(np.shape(arreglo))


# ----------------------------------------------------------------------- data_generator

def _datasets(llamada):
    exigir(llamada["tipo"] in ("tuple", "list") and llamada.get("longitud") == 2,
           "data_generator debe devolver dos datasets: (train_dataset, test_dataset).")
    for dataset in llamada["datasets"]:
        exigir(dataset["es_dataset"], f"data_generator debe devolver tf.data.Dataset; se "
                                      f"encontró {dataset.get('tipo')}.")
    return llamada["datasets"]


def _posiciones(dataset, valores):
    """Cada imagen de prueba es constante con su propio valor: de él sale su posición en X."""
    posicion = {float(valor): k for k, valor in enumerate(valores)}
    lotes = []
    for lote in dataset["lotes"]:
        exigir(lote["constantes"] and all(float(v) in posicion for v in lote["valores"]),
               "Los lotes deben contener las imágenes de X tal como son (sin modificarlas).")
        lotes.append([posicion[float(v)] for v in lote["valores"]])
    return lotes


def _division_esperada(cantidad, test_size):
    return [ids.tolist() for ids in
            train_test_split(np.arange(cantidad), test_size=test_size, random_state=42)]


def verificar_data_generator_tipos(datos, entradas):
    for dataset in _datasets(datos["llamadas"][0]):
        exigir(dataset["lotes"], "Un dataset no tiene ningún lote.")
        lote = dataset["lotes"][0]
        exigir(len(lote["forma"]) == 4 and lote["forma"][0] > 0
               and tuple(lote["forma"][1:]) == (LADO, LADO, 1) and lote["tipo"] == "float32",
               f"Cada lote debe tener forma (lote, 64, 64, 1) y tipo float32; se encontró "
               f"{tuple(lote['forma'])} y {lote['tipo']}.")
        _posiciones(dataset, entradas["valores"])


def verificar_data_generator_division(datos, entradas):
    for llamada, (cantidad, test_size, _, _) in zip(datos["llamadas"], entradas["llamadas"]):
        for nombre, dataset, ids in zip(("entrenamiento", "prueba"), _datasets(llamada),
                                        _division_esperada(cantidad, test_size)):
            encontrados = sorted(i for lote in _posiciones(dataset, entradas["valores"])
                                 for i in lote)
            exigir(encontrados == sorted(ids),
                   f"El conjunto de {nombre} (test_size={test_size}) no tiene las imágenes "
                   f"que da train_test_split(X, test_size={test_size}, random_state=42).")


def verificar_data_generator_lotes(datos, entradas):
    for llamada, (cantidad, test_size, batch_size, _) in zip(datos["llamadas"],
                                                             entradas["llamadas"]):
        for nombre, dataset, ids in zip(("entrenamiento", "prueba"), _datasets(llamada),
                                        _division_esperada(cantidad, test_size)):
            total = len(ids)
            esperado = [batch_size] * (total // batch_size) + (
                [total % batch_size] if total % batch_size else [])
            encontrado = [len(lote) for lote in _posiciones(dataset, entradas["valores"])]
            exigir(encontrado == esperado,
                   f"Con batch_size={batch_size}, los lotes de {nombre} deben medir {esperado}; "
                   f"miden {encontrado}.")


def verificar_data_generator_mezcla(datos, entradas):
    cantidad, test_size, _, _ = entradas["llamadas"][0]
    primera, segunda = ([_posiciones(d, entradas["valores"]) for d in _datasets(llamada)]
                        for llamada in datos["llamadas"])
    for nombre, lotes, repetidos, ids in zip(("entrenamiento", "prueba"), primera, segunda,
                                             _division_esperada(cantidad, test_size)):
        orden = [i for lote in lotes for i in lote]
        exigir(sorted(orden) == sorted(ids),
               f"No se puede revisar la mezcla de {nombre}: sus imágenes no son las de "
               "train_test_split(X, test_size=test_size, random_state=42).")
        exigir(orden != ids, f"El dataset de {nombre} debe estar mezclado con shuffle; sale en "
                             "el mismo orden que train_test_split.")
        posicion = {imagen: k for k, imagen in enumerate(ids)}
        contiguos = all(sorted(posicion[i] for i in lote) == list(range(
            min(posicion[i] for i in lote), min(posicion[i] for i in lote) + len(lote)))
            for lote in lotes)
        exigir(not contiguos, f"En {nombre}, cada lote trae imágenes seguidas de la división: "
                              "hay que mezclar (shuffle) antes de dividir en lotes (batch).")
        exigir(lotes == repetidos,
               f"El dataset de {nombre} cambia de una llamada a otra: fije las semillas "
               "np.random.seed(0) y tf.keras.utils.set_random_seed(0) dentro de la función.")


# ------------------------------------------------------------- build_encoder / decoder

def encoder_referencia(latent_dim):
    capas = tf.keras.layers
    entrada = capas.Input(shape=(LADO, LADO, 1))
    x = entrada
    for filtros, nucleo, pasos in CONVS_ENCODER:
        x = capas.Conv2D(filtros, nucleo, strides=pasos, padding="same", activation="relu")(x)
    x = capas.Flatten()(x)
    return tf.keras.Model(entrada, [capas.Dense(latent_dim)(x), capas.Dense(latent_dim)(x)])


def decoder_referencia(latent_dim):
    capas = tf.keras.layers
    entrada = capas.Input(shape=(latent_dim,))
    x = capas.Dense(4 * 4 * 128, activation="relu")(entrada)
    x = capas.Reshape((4, 4, 128))(x)
    for k, (filtros, nucleo, pasos) in enumerate(CONVS_DECODER):
        ultima = k == len(CONVS_DECODER) - 1
        x = capas.Conv2DTranspose(filtros, nucleo, strides=pasos, padding="same",
                                  activation=None if ultima else "relu")(x)
    return tf.keras.Model(entrada, x)


def _modelos(datos, funcion):
    for modelo in datos["modelos"]:
        exigir(modelo["es_modelo"], f"{funcion} debe devolver un tf.keras.Model; devolvió "
                                    f"{modelo.get('tipo')}.")
    return datos["modelos"]


def verificar_build_encoder_forma(datos, entradas):
    for modelo, latent_dim in zip(_modelos(datos, "build_encoder"), entradas["dimensiones"]):
        exigir(modelo["forma_entrada"] == [None, LADO, LADO, 1],
               f"La entrada del encoder debe ser (None, 64, 64, 1); es "
               f"{tuple(modelo['forma_entrada'])}.")
        formas = [forma(s) for s in modelo["salidas"]]
        exigir(formas == [(3, latent_dim)] * 2,
               f"Con latent_dim={latent_dim} y 3 imágenes, el encoder debe devolver "
               f"[z_mean, z_log_var] con formas [(3, {latent_dim}), (3, {latent_dim})]; "
               f"devolvió {formas}.")


def verificar_build_decoder_forma(datos, entradas):
    for modelo, latent_dim in zip(_modelos(datos, "build_decoder"), entradas["dimensiones"]):
        exigir(modelo["forma_entrada"] == [None, latent_dim],
               f"La entrada del decoder debe ser (None, {latent_dim}); es "
               f"{tuple(modelo['forma_entrada'])}.")
        formas = [forma(s) for s in modelo["salidas"]]
        exigir(formas == [(3, LADO, LADO, 1)],
               f"Con 3 vectores latentes el decoder debe devolver (3, 64, 64, 1); devolvió "
               f"{formas}.")


def _pesos_y_entradas_de_capas(modelo, rng, por_capa):
    """Regenera, en el mismo orden que el observador, los pesos de cada capa y (si `por_capa`)
    la entrada con que se probó cada capa sola."""
    formas = [capa["formas"] for capa in modelo["capas"]]
    pesos = [Observador.pesos_de_prueba(rng, f) for f in formas]
    entradas = [Observador.entrada_de_capa(rng, capa["clase"], capa["formas"])
                for capa in modelo["capas"]] if por_capa else []
    return pesos, entradas


def _lineal_o_activada(obtenida, z):
    """La capa hace la parte lineal esperada, con cualquier activación habitual: la
    activación la revisa la prueba de conexiones."""
    return any(forma(obtenida) == forma(z) and parecidos(obtenida, f(z), 1e-4) for f in (
        lambda v: v, lambda v: np.maximum(v, 0), lambda v: 1 / (1 + np.exp(-v)), np.tanh))


def _exigir_capa(capa, observada, pesos, x, tipo, filtros, nucleo, pasos, posicion):
    esperadas = [[nucleo, nucleo, *((capa["formas"][0][2], filtros) if tipo == "Conv2D"
                                    else (filtros, capa["formas"][0][3]))], [filtros]]
    mensaje = (f"La {posicion} capa {tipo} debe tener {filtros} filtros, kernel "
               f"({nucleo}, {nucleo}), strides ({pasos}, {pasos}) y padding 'same'; se encontró "
               f"{capa['descripcion']}.")
    exigir(capa["formas"] == esperadas and x is not None, mensaje)
    clase = getattr(tf.keras.layers, tipo)
    referencia = clase(filtros, nucleo, strides=pasos, padding="same")
    referencia.build(x.shape)
    referencia.set_weights(pesos)
    exigir(_lineal_o_activada(observada, a_numpy(referencia(x))), mensaje)


def _verificar_capas(datos, entradas, funcion, convoluciones, tipo):
    modelo = _modelos(datos, funcion)[0]
    pesos, x_capas = _pesos_y_entradas_de_capas(modelo, entradas["rng"], por_capa=True)
    de_tipo = [k for k, capa in enumerate(modelo["capas"]) if capa["clase"] == tipo]
    exigir(len(de_tipo) == len(convoluciones),
           f"{'El encoder' if tipo == 'Conv2D' else 'El decoder'} debe tener "
           f"{len(convoluciones)} capas {tipo}; tiene {len(de_tipo)}.")
    for posicion, k, (filtros, nucleo, pasos) in zip(ORDINALES, de_tipo, convoluciones):
        if k == de_tipo[-1] and tipo == "Conv2DTranspose":
            posicion = "última"
        _exigir_capa(modelo["capas"][k], modelo["salidas_capas"][k], pesos[k], x_capas[k],
                     tipo, filtros, nucleo, pasos, posicion)
    return [forma(s)[-1] for capa, s in zip(modelo["capas"], modelo["salidas_capas"])
            if capa["clase"] == "Dense" and s is not None]


def verificar_build_encoder_capas(datos, entradas):
    latent_dim = entradas["dimensiones"][0]
    unidades = _verificar_capas(datos, entradas, "build_encoder", CONVS_ENCODER, "Conv2D")
    exigir(unidades == [latent_dim, latent_dim],
           f"El encoder debe terminar en dos capas Dense de latent_dim={latent_dim} unidades; "
           f"tiene Dense con unidades {unidades}.")


def verificar_build_decoder_capas(datos, entradas):
    unidades = _verificar_capas(datos, entradas, "build_decoder", CONVS_DECODER,
                                "Conv2DTranspose")
    exigir(unidades == [4 * 4 * 128],
           f"El decoder debe tener una sola capa Dense de 4*4*128 = 2048 unidades; tiene Dense "
           f"con unidades {unidades}.")


def _formas(capas):
    return [[list(p.shape) for p in capa.weights] for capa in capas]


def _conexiones(datos, entradas, funcion, referencia, ordenes, mensaje):
    """Con los mismos pesos (fijados por el calificador), el modelo del estudiante debe calcular
    lo mismo que la referencia."""
    modelo = _modelos(datos, funcion)[0]
    pesos, _ = _pesos_y_entradas_de_capas(modelo, entradas["rng"], por_capa=False)
    capas_ref = list(Observador.capas_con_pesos(referencia))
    exigir([capa["formas"] for capa in modelo["capas"]] == _formas(capas_ref),
           f"Las capas con pesos del {funcion[6:]} no encajan con las condiciones (tipo, filtros, "
           f"kernel o qué capa se conecta con cuál). Formas de los pesos esperadas: "
           f"{_formas(capas_ref)}; encontradas: {[c['formas'] for c in modelo['capas']]}.")
    x = entradas["entradas"][0]
    for orden in ordenes:
        for capa, k in zip(capas_ref, orden):
            capa.set_weights(pesos[k])
        salidas = referencia(x)
        salidas = list(salidas) if isinstance(salidas, (list, tuple)) else [salidas]
        if len(salidas) == len(modelo["salidas"]) and all(
                forma(s) == forma(r) and parecidos(s, r, 1e-4)
                for s, r in zip(modelo["salidas"], salidas)):
            return
    raise AssertionError(mensaje)


def verificar_build_encoder_conexiones(datos, entradas):
    # Las dos cabezas Dense son intercambiables: da igual cuál se creó primero.
    _conexiones(datos, entradas, "build_encoder", encoder_referencia(entradas["dimensiones"][0]),
                [(0, 1, 2, 3, 4, 5), (0, 1, 2, 3, 5, 4)],
                "Con los mismos pesos, el encoder no calcula lo que piden las condiciones: revise "
                "la activación relu de cada Conv2D, que cada capa se conecte a la anterior, el "
                "Flatten y que z_mean y z_log_var sean dos Dense separadas, sin activación, "
                "sobre el Flatten.")


def verificar_build_decoder_conexiones(datos, entradas):
    _conexiones(datos, entradas, "build_decoder", decoder_referencia(entradas["dimensiones"][0]),
                [tuple(range(6))],
                "Con los mismos pesos, el decoder no calcula lo que piden las condiciones: revise "
                "la activación relu de la Dense y de las cuatro primeras Conv2DTranspose, el "
                "Reshape a (4, 4, 128), que la última capa no tenga activación (devuelve logits) "
                "y que se conecte a la salida de la cuarta Conv2DTranspose.")


# ---------------------------------------------- modelos lineales de las partes 4, 6 y 7

def codificar_lineal(pesos, x):
    """(media, log-varianza) del encoder lineal, en float64."""
    w_media, b_media, w_logvar, b_logvar = (a_numpy(p) for p in pesos["encoder"])
    plano = a_numpy(x).reshape(len(x), -1)
    return plano @ w_media + b_media, plano @ w_logvar + b_logvar


def decodificar_lineal(pesos, z):
    """Logits del decoder lineal, en float64, de forma (n, 4096)."""
    w, b = (a_numpy(p) for p in pesos["decoder"])
    return z @ w + b


def sigmoide(v):
    return 1.0 / (1.0 + np.exp(-v))


def muestra_fija(ruido, media, logvar):
    return a_numpy(ruido)[: media.shape[-1]] * np.exp(0.5 * logvar) + media


# ----------------------------------------------------------------------------- vae_loss

def perdidas_aceptadas(entradas):
    """ELBO negativo promedio con el KL estimado por muestreo y con el KL cerrado."""
    pesos, x = entradas["pesos"], entradas["x"]
    media, logvar = codificar_lineal(pesos, x)
    z = muestra_fija(entradas["ruido"], media, logvar)
    logits = decodificar_lineal(pesos, z)
    etiquetas = a_numpy(x).reshape(len(x), -1)
    reconstruccion = (np.maximum(logits, 0) - logits * etiquetas
                      + np.log1p(np.exp(-np.abs(logits)))).sum(axis=1)

    def log_normal(muestra, mu, lv):
        return (-0.5 * ((muestra - mu) ** 2 * np.exp(-lv) + lv + LOG_2PI)).sum(axis=1)

    kl_muestreado = log_normal(z, media, logvar) - log_normal(z, 0.0, 0.0)
    kl_cerrado = -0.5 * (1 + logvar - media ** 2 - np.exp(logvar)).sum(axis=1)
    return (float((reconstruccion + kl_muestreado).mean()),
            float((reconstruccion + kl_cerrado).mean()))


def _verificar_perdida(datos, entradas, que):
    perdida = a_numpy(datos["perdida"])
    exigir(perdida.size == 1, f"vae_loss debe devolver un escalar (el promedio sobre el lote); "
                              f"devolvió {perdida.size} valores.")
    obtenida = float(perdida.reshape(-1)[0])
    aceptadas = perdidas_aceptadas(entradas)
    exigir(np.isfinite(obtenida) and any(parecidos(obtenida, v, 2e-5) for v in aceptadas),
           f"vae_loss no calcula bien {que}.")


def verificar_vae_loss_reconstruccion(datos, entradas):
    """Encoder con pesos cero: media 0 y log-varianza 0, así el KL vale 0 y solo queda la
    entropía cruzada de Bernoulli sumada sobre los píxeles y promediada sobre el lote."""
    _verificar_perdida(datos, entradas,
                       "el término de reconstrucción: entropía cruzada sigmoide (labels=x, "
                       "logits=decoder(z)) sumada sobre todos los píxeles, con z de "
                       "reparameterize y promediada sobre el lote")


def verificar_vae_loss_kl(datos, entradas):
    """Decoder con pesos cero: logits 0, así la reconstrucción vale 4096·log 2 por imagen y
    todo lo demás es el término KL."""
    _verificar_perdida(datos, entradas,
                       "el término KL: log q(z|x) - log p(z) con log_normal_pdf sobre el z "
                       "muestreado (o la forma cerrada), promediado sobre el lote")


def verificar_vae_loss_valor(datos, entradas):
    _verificar_perdida(datos, entradas,
                       "el ELBO negativo (reconstrucción + KL) con pesos de orden 1")


# ---------------------------------------------------------------------------- train_vae

def entrenamiento_de_referencia(entradas):
    """Pesos de (encoder, decoder) tras Adam(1e-3), una actualización por lote y época."""
    encoder, decoder = Observador.modelos_lineales(entradas["pesos"])
    optimizador = tf.keras.optimizers.Adam(1e-3)
    variables = encoder.trainable_variables + decoder.trainable_variables
    for _ in range(entradas["epocas"]):
        for x in Observador.dataset_de_entrenamiento(entradas):
            with tf.GradientTape() as cinta:
                perdida = Observador.perdida_de_entrenamiento(encoder, decoder, x)
            optimizador.apply_gradients(zip(cinta.gradient(perdida, variables), variables))
    return [_plano(modelo.get_weights()) for modelo in (encoder, decoder)]


def _plano(pesos):
    return np.concatenate([a_numpy(p).reshape(-1) for p in pesos])


def _movimientos(datos, entradas):
    """(movimiento del estudiante, movimiento de referencia) de cada modelo."""
    exigir("pesos" in datos, f"train_vae debe devolver (encoder, decoder); devolvió "
                             f"{datos['tipo']}.")
    inicio = [_plano(entradas["pesos"][m]) for m in ("encoder", "decoder")]
    final = [_plano(pesos) for pesos in datos["pesos"]]
    exigir([f.size for f in final] == [i.size for i in inicio],
           "train_vae debe devolver el mismo encoder y el mismo decoder que recibió, entrenados.")
    referencia = entrenamiento_de_referencia(entradas)
    return [(f - i, r - i) for f, i, r in zip(final, inicio, referencia)]


def _mismo_sentido(movimiento, referencia, solo_los_movidos=False):
    """Fracción de los pesos que mueve la referencia (o, con `solo_los_movidos`, de los que
    movió el estudiante) que se movieron en el mismo sentido que en la referencia."""
    revisados = np.abs(referencia) > 1e-6
    if solo_los_movidos:
        revisados &= movimiento != 0
    if not revisados.any():
        return 0.0
    return float((np.sign(movimiento[revisados]) == np.sign(referencia[revisados])).mean())


def verificar_train_vae_actualiza(datos, entradas):
    for nombre, (movimiento, referencia) in zip(("encoder", "decoder"),
                                                _movimientos(datos, entradas)):
        exigir(np.abs(movimiento).max() > 0,
               f"train_vae no cambió los pesos del {nombre}: los gradientes deben calcularse "
               "respecto a las variables entrenables del encoder y del decoder.")
        exigir(_mismo_sentido(movimiento, referencia) > 0.9,
               f"Los pesos del {nombre} no se movieron en el sentido que baja la pérdida: "
               "aplique con el optimizador los gradientes de vae_loss (calculada dentro de un "
               "tf.GradientTape).")


def verificar_train_vae_adam(datos, entradas):
    """En su primer paso Adam mueve cada peso (con gradiente no nulo) casi exactamente lr."""
    movimientos = _movimientos(datos, entradas)
    cambios = np.abs(np.concatenate([m for m, _ in movimientos]))
    cambios = cambios[cambios > 0]
    exigir(cambios.size > 0, "train_vae no cambió ningún peso.")
    paso = float(np.median(cambios))
    movidos = [(m, r) for m, r in movimientos if np.abs(m).max() > 0]
    exigir(0.9e-3 <= paso <= 1.1e-3
           and all(_mismo_sentido(m, r, solo_los_movidos=True) > 0.9 for m, r in movidos),
           f"Tras un paso de entrenamiento, el cambio típico de cada peso fue {paso:.1e}; con "
           "Adam y tasa de aprendizaje 1e-3 (creado dentro de train_vae) sería 1e-3, en el "
           "sentido que baja la pérdida.")


def verificar_train_vae_pasos(datos, entradas):
    """Dos épocas de tres lotes: seis actualizaciones, igual que el entrenamiento de
    referencia."""
    movimiento, referencia = (np.concatenate(partes) for partes in zip(
        *_movimientos(datos, entradas)))
    diferencia = float(np.linalg.norm(movimiento - referencia) / np.linalg.norm(referencia))
    exigir(diferencia < 0.02,
           f"Tras {entradas['epocas']} épocas de 3 lotes, los pesos no quedaron donde los deja "
           f"Adam(1e-3) con una actualización por lote y época (diferencia relativa "
           f"{diferencia:.2f}).")


# -------------------------------------------------------------------- reconstruct_faces

def reconstruccion_referencia(entradas, imagenes):
    media, logvar = codificar_lineal(entradas["pesos"], imagenes)
    logits = decodificar_lineal(entradas["pesos"], muestra_fija(entradas["ruido"], media, logvar))
    return sigmoide(logits).reshape(np.shape(imagenes))


def verificar_reconstruct_faces_forma(datos, entradas):
    for cara, x in zip(datos["caras"], entradas["imagenes"]):
        exigir(forma(cara) == forma(x),
               f"Para una entrada {forma(x)} la reconstrucción debe tener la misma forma; tiene "
               f"{forma(cara)}.")
        exigir(float(np.min(cara)) >= 0.0 and float(np.max(cara)) <= 1.0,
               "Los píxeles reconstruidos deben estar entre 0 y 1 (aplique tf.sigmoid).")


def verificar_reconstruct_faces_valores(datos, entradas):
    for cara, x in zip(datos["caras"], entradas["imagenes"]):
        exigir(parecidos(cara, reconstruccion_referencia(entradas, x)),
               "La reconstrucción no es tf.sigmoid(decoder(z)) con z = reparameterize(z_mean, "
               "z_log_var) y (z_mean, z_log_var) = encoder(imagen).")


# ------------------------------------------------------------------- face_interpolation

def interpolacion_referencia(entradas, pasos):
    pesos = entradas["pesos"]
    (media1, logvar1), (media2, logvar2) = (codificar_lineal(pesos, entradas[cara])
                                            for cara in ("cara1", "cara2"))
    caras = []
    for alfa in np.linspace(0.0, 1.0, pasos):
        media = media1 * (1 - alfa) + media2 * alfa
        logvar = logvar1 * (1 - alfa) + logvar2 * alfa
        caras.append(sigmoide(decodificar_lineal(pesos, muestra_fija(entradas["ruido"], media,
                                                                     logvar))))
    return caras


def _interpolaciones(datos, entradas):
    for llamada, pasos in zip(datos["llamadas"], entradas["pasos"]):
        exigir(llamada["tipo"] == "list",
               f"face_interpolation debe devolver una lista; devolvió {llamada['tipo']}.")
        exigir(len(llamada["caras"]) == pasos,
               f"Con num_steps={pasos} la lista debe tener {pasos} caras; tiene "
               f"{len(llamada['caras'])}.")
        yield llamada["caras"], pasos


def verificar_face_interpolation_lista(datos, entradas):
    for caras, _ in _interpolaciones(datos, entradas):
        for cara in caras:
            exigir(np.size(cara) == PIXELES,
                   f"Cada cara de la lista debe ser una imagen de 64x64; una tiene forma "
                   f"{forma(cara)}.")


def verificar_face_interpolation_extremos(datos, entradas):
    for caras, pasos in _interpolaciones(datos, entradas):
        referencia = interpolacion_referencia(entradas, pasos)
        exigir(parecidos(caras[0], referencia[0]),
               "La primera cara debe reconstruirse con la media y la log-varianza de face1 "
               "(alfa=0).")
        exigir(parecidos(caras[-1], referencia[-1]),
               "La última cara debe reconstruirse con la media y la log-varianza de face2 "
               "(alfa=1).")


def verificar_face_interpolation_latente(datos, entradas):
    for caras, pasos in _interpolaciones(datos, entradas):
        for paso, (cara, esperada) in enumerate(zip(caras, interpolacion_referencia(entradas,
                                                                                     pasos))):
            exigir(parecidos(cara, esperada),
                   f"La cara {paso} de {pasos} no es la reconstrucción (reparameterize, decoder, "
                   "sigmoid) de la interpolación lineal de z_mean y de z_log_var con alfa de "
                   "np.linspace(0, 1, num_steps).")


VERIFICACIONES = {"test_" + nombre[len("verificar_"):]: funcion
                  for nombre, funcion in globals().items() if nombre.startswith("verificar_")}
