"""Pruebas ocultas del taller «Autoencoder variacional con las caras Olivetti».

Solo para el equipo docente. Este archivo no está en ``source/vae_olivetti/``, así que
``nbgrader generate_assignment`` nunca lo copia a ``release/``; ``nbgrader_config.py`` pone
esta carpeta en el ``PYTHONPATH`` de los kernels que lanza nbgrader. Cada celda de prueba
llama a::

    import calificador
    calificador.revisar("<grade_id de la celda>", globals())

Reglas de todas las comprobaciones:

* Prueban comportamiento y configuración de capas, nunca el texto del código.
* Aislamiento: no usan otras partes del estudiante. Construyen sus propios modelos y,
  mientras dura la prueba, sustituyen en el cuaderno las funciones dadas
  (``reparameterize`` con ruido fijo, ``log_normal_pdf``) y las de otras partes
  (``vae_loss`` en la prueba de ``train_vae``).
* Los valores con azar se comparan con una referencia calculada en la misma prueba, con los
  mismos pesos y el mismo ruido, y una tolerancia estrecha.
* No usan ``np.allclose``, ``np.isclose``, ``np.testing`` ni ``tf.debugging``: una celda del
  estudiante puede haberlos reemplazado. Las comparaciones usan solo métodos de ``ndarray``.
* Los mensajes dicen qué se esperaba y qué se encontró sin revelar valores de referencia.
"""

import contextlib

import numpy as np
import tensorflow as tf
from sklearn.model_selection import train_test_split

LADO = 64
PIXELES = LADO * LADO
LOG_2PI = float(np.log(2.0 * np.pi))

# Ruido fijo que sustituye a tf.random.normal en `reparameterize` durante las pruebas: la
# misma fila de ruido para cada elemento del lote, así da igual si el estudiante
# reparametriza cara por cara o todas de una vez.
RUIDO = np.random.default_rng(20241123).standard_normal(256).astype(np.float32)

CONVS_ENCODER = ((16, 5), (32, 3), (64, 3), (128, 3))
CONVS_DECODER = ((128, 3), (64, 3), (32, 3), (16, 5))


# --------------------------------------------------------------------------- utilidades

def exigir(condicion, mensaje):
    if not condicion:
        raise AssertionError(mensaje)


def a_numpy(valor):
    """Convierte tensores, listas o arreglos a float64 sin pasar por helpers reemplazables."""
    if hasattr(valor, "numpy"):
        valor = valor.numpy()
    return np.array(valor, dtype=np.float64)


def error_maximo(obtenido, esperado):
    """Mayor diferencia absoluta, calculada solo con métodos de ndarray."""
    obtenido, esperado = a_numpy(obtenido), a_numpy(esperado)
    exigir(obtenido.size == esperado.size,
           f"Se esperaban {esperado.size} valores y se encontraron {obtenido.size}.")
    return float((obtenido.reshape(-1) - esperado.reshape(-1)).__abs__().max())


def parecidos(obtenido, esperado, tolerancia_relativa=1e-4):
    escala = max(1.0, float(a_numpy(esperado).__abs__().max()))
    return error_maximo(obtenido, esperado) <= tolerancia_relativa * escala


@contextlib.contextmanager
def sustituidas(ns, **funciones):
    """Sustituye nombres globales del cuaderno mientras dura el bloque y luego los restaura."""
    faltan = object()
    originales = {nombre: ns.get(nombre, faltan) for nombre in funciones}
    ns.update(funciones)
    try:
        yield
    finally:
        for nombre, original in originales.items():
            if original is faltan:
                ns.pop(nombre, None)
            else:
                ns[nombre] = original


def funcion_del_estudiante(ns, nombre):
    funcion = ns.get(nombre)
    exigir(callable(funcion), f"No se encontró la función {nombre} en el cuaderno.")
    return funcion


def imagenes_de_prueba(cantidad, semilla=0):
    rng = np.random.default_rng(semilla)
    return tf.constant(rng.uniform(0.0, 1.0, (cantidad, LADO, LADO, 1)).astype(np.float32))


# ------------------------------------------------- funciones dadas y referencia de cada parte

def log_normal_pdf(sample, mean, logvar, raxis=1):
    log2pi = tf.math.log(2.0 * np.pi)
    return tf.reduce_sum(
        -0.5 * ((sample - mean) ** 2.0 * tf.exp(-logvar) + logvar + log2pi), axis=raxis)


def reparameterize_fijo(mean, logvar):
    """`reparameterize` con ruido fijo (funciona en modo eager y dentro de tf.function)."""
    eps = tf.broadcast_to(tf.constant(RUIDO)[: tf.shape(mean)[-1]], tf.shape(mean))
    return eps * tf.exp(logvar * 0.5) + mean


def funciones_dadas():
    return {"reparameterize": reparameterize_fijo, "log_normal_pdf": log_normal_pdf}


def encoder_referencia(latent_dim):
    capas = tf.keras.layers
    entrada = capas.Input(shape=(LADO, LADO, 1))
    x = entrada
    for filtros, nucleo in CONVS_ENCODER:
        x = capas.Conv2D(filtros, nucleo, strides=2, padding="same", activation="relu")(x)
    x = capas.Flatten()(x)
    return tf.keras.Model(entrada, [capas.Dense(latent_dim)(x), capas.Dense(latent_dim)(x)])


def decoder_referencia(latent_dim):
    capas = tf.keras.layers
    entrada = capas.Input(shape=(latent_dim,))
    x = capas.Dense(4 * 4 * 128, activation="relu")(entrada)
    x = capas.Reshape((4, 4, 128))(x)
    for filtros, nucleo in CONVS_DECODER:
        x = capas.Conv2DTranspose(filtros, nucleo, strides=2, padding="same",
                                  activation="relu")(x)
    x = capas.Conv2DTranspose(1, 3, padding="same")(x)
    return tf.keras.Model(entrada, x)


def reescalar_capa(capa, factor):
    capa.set_weights([peso * factor for peso in capa.get_weights()])


def modelos_de_orden_uno(latent_dim, semilla):
    """Encoder y decoder de referencia cuyas salidas son de orden 1.

    Con pesos recién iniciados las salidas del encoder valen ~0.03 y el término KL pesa
    ~0.01 nats de ~2839: una pérdida sin KL pasaría. Reescalamos las cabezas del encoder y
    la última capa del decoder para que cada término de la pérdida se note.
    """
    tf.keras.utils.set_random_seed(semilla)
    encoder, decoder = encoder_referencia(latent_dim), decoder_referencia(latent_dim)
    x = imagenes_de_prueba(4, semilla)
    media, logvar = encoder(x)
    reescalar_capa(encoder.layers[-2], 1.5 / float(tf.math.reduce_std(media)))
    reescalar_capa(encoder.layers[-1], 0.7 / float(tf.math.reduce_std(logvar)))
    logits = decoder(reparameterize_fijo(*encoder(x)))
    reescalar_capa(decoder.layers[-1], 2.0 / float(tf.math.reduce_std(logits)))
    return encoder, decoder


def ruido(dimension):
    return RUIDO[:dimension].astype(np.float64)


def terminos_de_referencia(encoder, decoder, x):
    """Reconstrucción y KL (muestreado y cerrado) por imagen, en float64, con ruido fijo."""
    media, logvar = (a_numpy(t) for t in encoder(x))
    z = ruido(media.shape[-1]) * np.exp(0.5 * logvar) + media
    logits = a_numpy(decoder(tf.constant(z, tf.float32))).reshape(len(z), -1)
    etiquetas = a_numpy(x).reshape(len(z), -1)
    reconstruccion = (np.maximum(logits, 0) - logits * etiquetas
                      + np.log1p(np.exp(-np.abs(logits)))).sum(axis=1)

    def log_normal(muestra, mu, lv):
        return (-0.5 * ((muestra - mu) ** 2 * np.exp(-lv) + lv + LOG_2PI)).sum(axis=1)

    kl_muestreado = log_normal(z, media, logvar) - log_normal(z, 0.0, 0.0)
    kl_cerrado = -0.5 * (1 + logvar - media ** 2 - np.exp(logvar)).sum(axis=1)
    return reconstruccion, kl_muestreado, kl_cerrado


def perdidas_aceptadas(encoder, decoder, x):
    """ELBO negativo promedio con el KL estimado por muestreo y con el KL cerrado."""
    reconstruccion, kl_muestreado, kl_cerrado = terminos_de_referencia(encoder, decoder, x)
    return (float((reconstruccion + kl_muestreado).mean()),
            float((reconstruccion + kl_cerrado).mean()))


def vae_loss_referencia(encoder, decoder, x):
    """Pérdida de referencia en TensorFlow (diferenciable) con ruido fijo."""
    media, logvar = encoder(x)
    z = reparameterize_fijo(media, logvar)
    logits = decoder(z)
    entropia = tf.nn.sigmoid_cross_entropy_with_logits(logits=logits, labels=x)
    log_px_z = -tf.reduce_sum(entropia, axis=[1, 2, 3])
    log_pz = log_normal_pdf(z, 0.0, 0.0)
    log_qz_x = log_normal_pdf(z, media, logvar)
    return -tf.reduce_mean(log_px_z + log_pz - log_qz_x)


def reconstruccion_referencia(encoder, decoder, imagen):
    return tf.sigmoid(decoder(reparameterize_fijo(*encoder(imagen))))


def interpolacion_referencia(encoder, decoder, cara1, cara2, pasos):
    media1, logvar1 = encoder(cara1)
    media2, logvar2 = encoder(cara2)
    caras = []
    for alfa in np.linspace(0.0, 1.0, pasos):
        media = media1 * (1 - alfa) + media2 * alfa
        logvar = logvar1 * (1 - alfa) + logvar2 * alfa
        caras.append(tf.sigmoid(decoder(reparameterize_fijo(media, logvar))))
    return caras


def entrenar_referencia(encoder, decoder, lotes, epocas):
    optimizador = tf.keras.optimizers.Adam(1e-3)
    variables = encoder.trainable_variables + decoder.trainable_variables
    for _ in range(epocas):
        for x in lotes:
            with tf.GradientTape() as cinta:
                perdida = vae_loss_referencia(encoder, decoder, x)
            optimizador.apply_gradients(zip(cinta.gradient(perdida, variables), variables))


# ---------------------------------------------------------------- inspección de modelos

def capas_con_pesos(modelo):
    """Capas con pesos en orden topológico, entrando en submodelos (p. ej. un Sequential)."""
    for capa in modelo.layers:
        if hasattr(capa, "layers"):
            yield from capas_con_pesos(capa)
        elif capa.weights:
            yield capa


def capas_de_tipo(modelo, tipo):
    return [capa for capa in capas_con_pesos(modelo) if isinstance(capa, tipo)]


def describir_conv(capa):
    return (f"{type(capa).__name__}(filtros={capa.filters}, kernel={tuple(capa.kernel_size)}, "
            f"strides={tuple(capa.strides)}, padding='{capa.padding}')")


def exigir_conv(capa, posicion, filtros, nucleo, pasos, nombre):
    esperado = (filtros, (nucleo, nucleo), (pasos, pasos), "same")
    encontrado = (capa.filters, tuple(capa.kernel_size), tuple(capa.strides), capa.padding)
    exigir(encontrado == esperado,
           f"La {posicion} capa {nombre} debe tener {filtros} filtros, kernel "
           f"({nucleo}, {nucleo}), strides ({pasos}, {pasos}) y padding 'same'; "
           f"se encontró {describir_conv(capa)}.")


ORDINALES = ("primera", "segunda", "tercera", "cuarta", "quinta")


def exigir_modelo(objeto, funcion):
    exigir(isinstance(objeto, tf.keras.Model),
           f"{funcion} debe devolver un tf.keras.Model; devolvió {type(objeto).__name__}.")


def salidas_como_lista(salida):
    return list(salida) if isinstance(salida, (list, tuple)) else [salida]


# ------------------------------------------------------------------------ data_generator

def _ids(lote):
    """Cada imagen de prueba está llena con su índice: lo recuperamos del primer píxel."""
    return [int(round(v)) for v in a_numpy(lote).reshape(len(lote), -1)[:, 0]]


def _imagenes_numeradas(cantidad):
    return np.arange(cantidad, dtype=np.float32)[:, None, None, None] * np.ones(
        (1, LADO, LADO, 1), np.float32)


def _recorrer(dataset):
    return [_ids(lote) for lote in dataset]


def _generar(ns, cantidad, test_size, batch_size):
    resultado = funcion_del_estudiante(ns, "data_generator")(
        _imagenes_numeradas(cantidad), test_size, batch_size)
    exigir(isinstance(resultado, (tuple, list)) and len(resultado) == 2,
           "data_generator debe devolver dos datasets: (train_dataset, test_dataset).")
    for dataset in resultado:
        exigir(isinstance(dataset, tf.data.Dataset),
               f"data_generator debe devolver tf.data.Dataset; se encontró "
               f"{type(dataset).__name__}.")
    return resultado


def test_data_generator_tipos(ns):
    for dataset in _generar(ns, 30, 0.2, 4):
        lote = next(iter(dataset))
        exigir(tuple(lote.shape[1:]) == (LADO, LADO, 1) and lote.dtype == tf.float32,
               f"Cada lote debe tener forma (lote, 64, 64, 1) y tipo float32; se encontró "
               f"{tuple(lote.shape)} y {lote.dtype.name}.")


def test_data_generator_division(ns):
    for cantidad, test_size in ((50, 0.2), (40, 0.3)):
        esperado = train_test_split(np.arange(cantidad), test_size=test_size, random_state=42)
        for nombre, dataset, ids in zip(("entrenamiento", "prueba"),
                                        _generar(ns, cantidad, test_size, 8), esperado):
            encontrados = sorted(i for lote in _recorrer(dataset) for i in lote)
            exigir(encontrados == sorted(ids.tolist()),
                   f"El conjunto de {nombre} (test_size={test_size}) no tiene las imágenes "
                   f"que da train_test_split(X, test_size={test_size}, random_state=42).")


def test_data_generator_lotes(ns):
    for cantidad, test_size, batch_size in ((50, 0.2, 8), (40, 0.25, 7)):
        tamanos = [len(ids) for ids in train_test_split(
            np.arange(cantidad), test_size=test_size, random_state=42)]
        for nombre, dataset, total in zip(("entrenamiento", "prueba"),
                                          _generar(ns, cantidad, test_size, batch_size), tamanos):
            esperado = [batch_size] * (total // batch_size) + (
                [total % batch_size] if total % batch_size else [])
            encontrado = [len(lote) for lote in _recorrer(dataset)]
            exigir(encontrado == esperado,
                   f"Con batch_size={batch_size}, los lotes de {nombre} deben medir {esperado}; "
                   f"miden {encontrado}.")


def test_data_generator_mezcla(ns):
    cantidad, test_size, batch_size = 60, 0.25, 5
    orden_division = train_test_split(np.arange(cantidad), test_size=test_size, random_state=42)
    tf.keras.utils.set_random_seed(1)
    primera = [_recorrer(d) for d in _generar(ns, cantidad, test_size, batch_size)]
    tf.keras.utils.set_random_seed(2)
    segunda = [_recorrer(d) for d in _generar(ns, cantidad, test_size, batch_size)]
    for nombre, lotes, repetidos, ids in zip(("entrenamiento", "prueba"), primera, segunda,
                                             orden_division):
        ids = ids.tolist()
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

def _construir(ns, funcion, latent_dim):
    modelo = funcion_del_estudiante(ns, funcion)(latent_dim)
    exigir_modelo(modelo, funcion)
    return modelo


def test_build_encoder_forma(ns):
    for latent_dim in (2, 7):
        encoder = _construir(ns, "build_encoder", latent_dim)
        exigir(tuple(encoder.inputs[0].shape) == (None, LADO, LADO, 1),
               f"La entrada del encoder debe ser (None, 64, 64, 1); es "
               f"{tuple(encoder.inputs[0].shape)}.")
        salidas = salidas_como_lista(encoder(imagenes_de_prueba(3)))
        formas = [tuple(s.shape) for s in salidas]
        exigir(formas == [(3, latent_dim)] * 2,
               f"Con latent_dim={latent_dim} y 3 imágenes, el encoder debe devolver "
               f"[z_mean, z_log_var] con formas [(3, {latent_dim}), (3, {latent_dim})]; "
               f"devolvió {formas}.")


def test_build_encoder_capas(ns):
    latent_dim = 6
    encoder = _construir(ns, "build_encoder", latent_dim)
    convs = capas_de_tipo(encoder, tf.keras.layers.Conv2D)
    exigir(len(convs) == 4, f"El encoder debe tener 4 capas Conv2D; tiene {len(convs)}.")
    for posicion, capa, (filtros, nucleo) in zip(ORDINALES, convs, CONVS_ENCODER):
        exigir_conv(capa, posicion, filtros, nucleo, 2, "Conv2D")
    densas = capas_de_tipo(encoder, tf.keras.layers.Dense)
    unidades = [capa.units for capa in densas]
    exigir(unidades == [latent_dim, latent_dim],
           f"El encoder debe terminar en dos capas Dense de latent_dim={latent_dim} unidades; "
           f"tiene Dense con unidades {unidades}.")


def _transferir(origen, destino):
    for capa_origen, capa_destino in zip(origen, destino):
        capa_destino.set_weights(capa_origen.get_weights())


def _formas(capas):
    return [tuple(tuple(p.shape) for p in capa.weights) for capa in capas]


def _exigir_mismas_formas(capas, referencia, modelo):
    exigir(_formas(capas) == _formas(referencia),
           f"Las capas con pesos del {modelo} no encajan con las condiciones (tipo, filtros, "
           f"kernel o qué capa se conecta con cuál). Formas de los pesos esperadas: "
           f"{_formas(referencia)}; encontradas: {_formas(capas)}.")


def test_build_encoder_conexiones(ns):
    """Con los pesos del estudiante, su encoder debe calcular lo mismo que la referencia."""
    latent_dim = 5
    encoder = _construir(ns, "build_encoder", latent_dim)
    referencia = encoder_referencia(latent_dim)
    capas, capas_ref = list(capas_con_pesos(encoder)), list(capas_con_pesos(referencia))
    _exigir_mismas_formas(capas, capas_ref, "encoder")
    x = imagenes_de_prueba(3, semilla=5)
    salidas = [a_numpy(s) for s in salidas_como_lista(encoder(x))]
    # Las dos cabezas Dense son intercambiables: da igual cuál se creó primero.
    for cabezas in (capas[4:], capas[4:][::-1]):
        _transferir(capas[:4] + cabezas, capas_ref)
        if all(parecidos(s, r, 1e-5) for s, r in zip(salidas, referencia(x))):
            return
    raise AssertionError(
        "Con sus propios pesos, el encoder no calcula lo que piden las condiciones: revise la "
        "activación relu de cada Conv2D, que cada capa se conecte a la anterior, el Flatten y "
        "que z_mean y z_log_var sean dos Dense separadas, sin activación, sobre el Flatten.")


def test_build_decoder_forma(ns):
    for latent_dim in (2, 7):
        decoder = _construir(ns, "build_decoder", latent_dim)
        exigir(tuple(decoder.inputs[0].shape) == (None, latent_dim),
               f"La entrada del decoder debe ser (None, {latent_dim}); es "
               f"{tuple(decoder.inputs[0].shape)}.")
        salida = decoder(tf.zeros((3, latent_dim)))
        exigir(tuple(salida.shape) == (3, LADO, LADO, 1),
               f"Con 3 vectores latentes el decoder debe devolver (3, 64, 64, 1); devolvió "
               f"{tuple(salida.shape)}.")


def test_build_decoder_capas(ns):
    latent_dim = 6
    decoder = _construir(ns, "build_decoder", latent_dim)
    densas = [capa.units for capa in capas_de_tipo(decoder, tf.keras.layers.Dense)]
    exigir(densas == [4 * 4 * 128],
           f"El decoder debe tener una sola capa Dense de 4*4*128 = 2048 unidades; tiene Dense "
           f"con unidades {densas}.")
    transpuestas = capas_de_tipo(decoder, tf.keras.layers.Conv2DTranspose)
    exigir(len(transpuestas) == 5,
           f"El decoder debe tener 5 capas Conv2DTranspose; tiene {len(transpuestas)}.")
    for posicion, capa, (filtros, nucleo) in zip(ORDINALES, transpuestas, CONVS_DECODER):
        exigir_conv(capa, posicion, filtros, nucleo, 2, "Conv2DTranspose")
    exigir_conv(transpuestas[4], "última", 1, 3, 1, "Conv2DTranspose")


def test_build_decoder_conexiones(ns):
    """Con los pesos del estudiante, su decoder debe calcular lo mismo que la referencia."""
    latent_dim = 5
    decoder = _construir(ns, "build_decoder", latent_dim)
    referencia = decoder_referencia(latent_dim)
    capas, capas_ref = list(capas_con_pesos(decoder)), list(capas_con_pesos(referencia))
    _exigir_mismas_formas(capas, capas_ref, "decoder")
    _transferir(capas, capas_ref)
    z = tf.constant(np.random.default_rng(3).standard_normal((3, latent_dim)), tf.float32)
    exigir(parecidos(decoder(z), referencia(z), 1e-5),
           "Con sus propios pesos, el decoder no calcula lo que piden las condiciones: revise "
           "la activación relu de la Dense y de las cuatro primeras Conv2DTranspose, el Reshape a "
           "(4, 4, 128), que la última capa no tenga activación (devuelve logits) y que se "
           "conecte a la salida de la cuarta Conv2DTranspose.")


# ----------------------------------------------------------------------------- vae_loss

def _perdida_del_estudiante(ns, encoder, decoder, x):
    vae_loss = funcion_del_estudiante(ns, "vae_loss")
    with sustituidas(ns, **funciones_dadas()):
        perdida = a_numpy(vae_loss(encoder, decoder, x))
    exigir(perdida.size == 1,
           f"vae_loss debe devolver un escalar (el promedio sobre el lote); devolvió "
           f"{perdida.size} valores.")
    return float(perdida.reshape(-1)[0])


def _exigir_perdida(obtenida, aceptadas, que):
    exigir(any(parecidos(obtenida, valor, 2e-5) for valor in aceptadas),
           f"vae_loss no calcula bien {que} (diferencia relativa "
           f"{min(abs(obtenida - v) / abs(v) for v in aceptadas):.1e}).")


def test_vae_loss_reconstruccion(ns):
    """Encoder con pesos cero: media 0 y log-varianza 0, así el KL vale 0 y solo queda la
    entropía cruzada de Bernoulli sumada sobre los píxeles y promediada sobre el lote."""
    latent_dim = 16
    encoder, decoder = modelos_de_orden_uno(latent_dim, semilla=11)
    encoder.set_weights([np.zeros_like(w) for w in encoder.get_weights()])
    x = imagenes_de_prueba(3, semilla=12)
    _exigir_perdida(_perdida_del_estudiante(ns, encoder, decoder, x),
                    perdidas_aceptadas(encoder, decoder, x),
                    "el término de reconstrucción: entropía cruzada sigmoide (labels=x, "
                    "logits=decoder(z)) sumada sobre todos los píxeles, con z de reparameterize y "
                    "promediada sobre el lote")


def test_vae_loss_kl(ns):
    """Decoder con pesos cero: logits 0, así la reconstrucción vale 4096·log 2 por imagen
    y todo lo demás es el término KL."""
    latent_dim = 16
    encoder, decoder = modelos_de_orden_uno(latent_dim, semilla=21)
    decoder.set_weights([np.zeros_like(w) for w in decoder.get_weights()])
    x = imagenes_de_prueba(3, semilla=22)
    _exigir_perdida(_perdida_del_estudiante(ns, encoder, decoder, x),
                    perdidas_aceptadas(encoder, decoder, x),
                    "el término KL: log q(z|x) - log p(z) con log_normal_pdf sobre el z "
                    "muestreado (o la forma cerrada), promediado sobre el lote")


def test_vae_loss_valor(ns):
    latent_dim = 16
    encoder, decoder = modelos_de_orden_uno(latent_dim, semilla=31)
    x = imagenes_de_prueba(3, semilla=32)
    _exigir_perdida(_perdida_del_estudiante(ns, encoder, decoder, x),
                    perdidas_aceptadas(encoder, decoder, x),
                    "el ELBO negativo (reconstrucción + KL) con pesos de orden 1")


# ---------------------------------------------------------------------------- train_vae

def _pesos(*modelos):
    return np.concatenate([a_numpy(w).reshape(-1) for m in modelos for w in m.weights])


def _entrenar_estudiante(ns, encoder, decoder, dataset, epocas):
    train_vae = funcion_del_estudiante(ns, "train_vae")
    with sustituidas(ns, vae_loss=vae_loss_referencia, **funciones_dadas()):
        resultado = train_vae(encoder, decoder, dataset, epocas)
    exigir(isinstance(resultado, (tuple, list)) and len(resultado) == 2,
           "train_vae debe devolver (encoder, decoder).")
    for modelo in resultado:
        exigir_modelo(modelo, "train_vae")
    return resultado


def modelos_pequenos(latent_dim):
    """Encoder y decoder densos y pequeños: train_vae no depende de la arquitectura, y con
    ellos las pruebas de entrenamiento tardan poco."""
    capas = tf.keras.layers
    entrada = capas.Input(shape=(LADO, LADO, 1))
    plano = capas.Flatten()(entrada)
    encoder = tf.keras.Model(entrada, [capas.Dense(latent_dim)(plano),
                                       capas.Dense(latent_dim)(plano)])
    latente = capas.Input(shape=(latent_dim,))
    decoder = tf.keras.Model(latente, capas.Reshape((LADO, LADO, 1))(
        capas.Dense(PIXELES, activation="relu")(capas.Dense(32, activation="relu")(latente))))
    return encoder, decoder


def _modelos_y_datos(semilla, imagenes, lote, latent_dim=4):
    tf.keras.utils.set_random_seed(semilla)
    encoder, decoder = modelos_pequenos(latent_dim)
    dataset = tf.data.Dataset.from_tensor_slices(imagenes_de_prueba(imagenes, semilla)).batch(lote)
    return encoder, decoder, dataset


def test_train_vae_actualiza(ns):
    encoder, decoder, dataset = _modelos_y_datos(41, imagenes=4, lote=2)
    antes_encoder, antes_decoder = _pesos(encoder), _pesos(decoder)
    nuevo_encoder, nuevo_decoder = _entrenar_estudiante(ns, encoder, decoder, dataset, 1)
    exigir(error_maximo(_pesos(nuevo_encoder), antes_encoder) > 0,
           "train_vae no cambió los pesos del encoder: los gradientes deben calcularse respecto "
           "a las variables entrenables del encoder y del decoder.")
    exigir(error_maximo(_pesos(nuevo_decoder), antes_decoder) > 0,
           "train_vae no cambió los pesos del decoder: los gradientes deben calcularse respecto "
           "a las variables entrenables del encoder y del decoder.")


def test_train_vae_adam(ns):
    """En su primer paso Adam mueve cada peso (con gradiente no nulo) casi exactamente lr."""
    encoder, decoder, dataset = _modelos_y_datos(42, imagenes=2, lote=2)
    antes = _pesos(encoder, decoder)
    _entrenar_estudiante(ns, encoder, decoder, dataset, 1)
    cambios = (_pesos(encoder, decoder) - antes).__abs__()
    cambios = cambios[cambios > 0]
    exigir(cambios.size > 0, "train_vae no cambió ningún peso.")
    paso = float(np.median(cambios))
    exigir(0.9e-3 <= paso <= 1.1e-3,
           f"Tras un paso de entrenamiento, el cambio típico de cada peso fue {paso:.1e}; con Adam "
           "y tasa de aprendizaje 1e-3 (creado dentro de train_vae) sería 1e-3.")


def test_train_vae_pasos(ns):
    """Dos épocas de tres lotes: seis actualizaciones, igual que el entrenamiento de referencia."""
    epocas = 2
    encoder, decoder, dataset = _modelos_y_datos(43, imagenes=6, lote=2)
    encoder_ref, decoder_ref, _ = _modelos_y_datos(43, imagenes=6, lote=2)
    inicio = _pesos(encoder, decoder)
    _entrenar_estudiante(ns, encoder, decoder, dataset, epocas)
    entrenar_referencia(encoder_ref, decoder_ref, dataset, epocas)
    movimiento = _pesos(encoder, decoder) - inicio
    movimiento_ref = _pesos(encoder_ref, decoder_ref) - inicio
    diferencia = float(np.sqrt(((movimiento - movimiento_ref) ** 2).sum())
                       / np.sqrt((movimiento_ref ** 2).sum()))
    exigir(diferencia < 0.02,
           f"Tras {epocas} épocas de 3 lotes, los pesos no quedaron donde los deja Adam(1e-3) con "
           f"una actualización por lote y época (diferencia relativa {diferencia:.2f}).")


# -------------------------------------------------------------------- reconstruct_faces

def _reconstruir(ns, encoder, decoder, imagen):
    reconstruct_faces = funcion_del_estudiante(ns, "reconstruct_faces")
    with sustituidas(ns, **funciones_dadas()):
        return reconstruct_faces(encoder, decoder, imagen)


def test_reconstruct_faces_forma(ns):
    encoder, decoder = modelos_de_orden_uno(4, semilla=51)
    for cantidad in (1, 3):
        x = imagenes_de_prueba(cantidad, semilla=52)
        cara = a_numpy(_reconstruir(ns, encoder, decoder, x))
        exigir(cara.shape == tuple(x.shape),
               f"Para una entrada {tuple(x.shape)} la reconstrucción debe tener la misma forma; "
               f"tiene {cara.shape}.")
        exigir(float(cara.min()) >= 0.0 and float(cara.max()) <= 1.0,
               "Los píxeles reconstruidos deben estar entre 0 y 1 (aplique tf.sigmoid).")


def test_reconstruct_faces_valores(ns):
    encoder, decoder = modelos_de_orden_uno(8, semilla=53)
    for cantidad in (1, 3):
        x = imagenes_de_prueba(cantidad, semilla=54)
        exigir(parecidos(_reconstruir(ns, encoder, decoder, x),
                         reconstruccion_referencia(encoder, decoder, x), 1e-5),
               "La reconstrucción no es tf.sigmoid(decoder(z)) con z = reparameterize(z_mean, "
               "z_log_var) y (z_mean, z_log_var) = encoder(imagen).")


# ------------------------------------------------------------------- face_interpolation

def _interpolar(ns, encoder, decoder, pasos, semilla):
    face_interpolation = funcion_del_estudiante(ns, "face_interpolation")
    cara1, cara2 = imagenes_de_prueba(1, semilla), imagenes_de_prueba(1, semilla + 1)
    with sustituidas(ns, **funciones_dadas()):
        caras = face_interpolation(encoder, decoder, cara1, cara2, pasos)
    exigir(isinstance(caras, list),
           f"face_interpolation debe devolver una lista; devolvió {type(caras).__name__}.")
    exigir(len(caras) == pasos,
           f"Con num_steps={pasos} la lista debe tener {pasos} caras; tiene {len(caras)}.")
    return caras, interpolacion_referencia(encoder, decoder, cara1, cara2, pasos)


def test_face_interpolation_lista(ns):
    encoder, decoder = modelos_de_orden_uno(4, semilla=61)
    for pasos in (2, 5, 7):
        caras, _ = _interpolar(ns, encoder, decoder, pasos, semilla=62)
        for cara in caras:
            exigir(a_numpy(cara).size == PIXELES,
                   f"Cada cara de la lista debe ser una imagen de 64x64; una tiene forma "
                   f"{tuple(a_numpy(cara).shape)}.")


def test_face_interpolation_extremos(ns):
    encoder, decoder = modelos_de_orden_uno(8, semilla=63)
    caras, referencia = _interpolar(ns, encoder, decoder, 4, semilla=64)
    exigir(parecidos(caras[0], referencia[0], 1e-5),
           "La primera cara debe reconstruirse con la media y la log-varianza de face1 (alfa=0).")
    exigir(parecidos(caras[-1], referencia[-1], 1e-5),
           "La última cara debe reconstruirse con la media y la log-varianza de face2 (alfa=1).")


def test_face_interpolation_latente(ns):
    encoder, decoder = modelos_de_orden_uno(8, semilla=65)
    caras, referencia = _interpolar(ns, encoder, decoder, 6, semilla=66)
    for paso, (cara, esperada) in enumerate(zip(caras, referencia)):
        exigir(parecidos(cara, esperada, 1e-5),
               f"La cara {paso} de 6 no es la reconstrucción (reparameterize, decoder, sigmoid) "
               "de la interpolación lineal de z_mean y de z_log_var con alfa de "
               "np.linspace(0, 1, num_steps).")


# ------------------------------------------------------------------------------ entrada

PRUEBAS = {nombre: funcion for nombre, funcion in globals().items()
           if nombre.startswith("test_")}


def revisar(grade_id, ns):
    """Ejecuta la prueba oculta de la celda `grade_id` sobre el espacio de nombres `ns`."""
    PRUEBAS[grade_id](ns)
