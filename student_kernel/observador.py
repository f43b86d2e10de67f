"""Lo único de la calificación que corre en el kernel del estudiante: observa, no juzga.

Al calificar, la parte oculta de cada celda de pruebas es una sola línea::

    _observador.observar("<grade_id de la celda>", globals())

`observar` llama a las funciones del estudiante con entradas que fija la semilla de esta
calificación (variable de entorno CALIFICACION_SEMILLA, nueva en cada calificación) y publica lo
que devolvieron como datos: JSON con los arreglos en base64, nunca pickle. Aquí no hay ninguna
solución, ningún modelo de referencia ni ningún veredicto. Fuera del kernel,
grading/calificador.py regenera las mismas entradas con este mismo archivo, calcula las
referencias y decide cada prueba: falsificar una observación exige calcular la respuesta.

Para que las pruebas no dependan de las otras partes del estudiante, las funciones de las
partes 4, 6 y 7 reciben modelos lineales pequeños (no son la respuesta de las partes 2 y 3), y
`train_vae` entrena con una pérdida sencilla (no es la de la parte 4).

El kernel carga este módulo al arrancar (ipython/profile_default/startup), antes de cualquier
celda del estudiante, y crea `_observador`. Todo está dentro de la clase y guarda sus propias
referencias a numpy, TensorFlow y la publicación de salidas: un gancho de importación o
funciones de módulos reemplazadas más tarde no la alcanzan. Si el código del estudiante la
sabotea a propósito, solo consigue que sus propias observaciones falten o no cuadren: pierde
esos puntos, nunca los gana.
"""
import base64
import os
import time
import zlib

import numpy as np
import tensorflow as tf
from IPython.display import publish_display_data

MIME = "application/vnd.vae-olivetti.observacion+json"
LADO = 64
PIXELES = LADO * LADO


class Observador:
    """Observa las funciones del estudiante; también genera las entradas para el calificador."""

    MIME = MIME
    np = np
    tf = tf
    publicar = staticmethod(publish_display_data)
    b64 = staticmethod(base64.b64encode)
    reloj = staticmethod(time.perf_counter)

    def __init__(self, semilla=None):
        if semilla is None:
            semilla = int(os.environ.get("CALIFICACION_SEMILLA", "0"))
        self.semilla = semilla

    # ------------------------------------------------------------------ entrada y salida

    def observar(self, prueba, ns):
        """Ejecuta la observación de la celda `prueba` y la publica como salida de la celda."""
        inicio = self.reloj()
        entradas = self.entradas(prueba, self.semilla)
        datos = getattr(self, "_" + prueba)(ns, entradas)
        # (los segundos solo sirven para medir la calificación: bench/run.py)
        self.publicar({self.MIME: {"prueba": prueba, "datos": self.codificar(datos),
                                   "segundos": round(self.reloj() - inicio, 3)}}, metadata={})

    @classmethod
    def codificar(cls, valor):
        """Datos simples para JSON: los arreglos y tensores van en base64 con forma y tipo."""
        if isinstance(valor, dict):
            return {str(k): cls.codificar(v) for k, v in valor.items()}
        if isinstance(valor, (list, tuple)):
            return [cls.codificar(v) for v in valor]
        if valor is None or isinstance(valor, (bool, int, float, str)):
            return valor
        arreglo = cls.np.asarray(valor.numpy() if hasattr(valor, "numpy") else valor)
        if arreglo.dtype.kind not in "biuf":
            return repr(arreglo)[:200]
        arreglo = arreglo.astype("<f8" if arreglo.dtype.kind == "f" else "<i8")
        return {"__arreglo__": cls.b64(arreglo.tobytes()).decode("ascii"),
                "forma": list(arreglo.shape), "tipo": arreglo.dtype.str}

    @classmethod
    def entradas(cls, prueba, semilla):
        """Las entradas de una prueba: las mismas en el kernel y en el calificador."""
        rng = cls.np.random.default_rng([semilla, zlib.crc32(prueba.encode())])
        parte = prueba[len("test_"):prueba.rindex("_")]
        return getattr(cls, "entradas_" + parte)(rng, prueba)

    # ------------------------------------------------------------- utilidades del kernel

    @classmethod
    def funcion(cls, ns, nombre):
        funcion = ns.get(nombre)
        if not callable(funcion):
            raise NameError(f"No se encontró la función {nombre} en el cuaderno.")
        return funcion

    @classmethod
    def con_sustituidas(cls, ns, sustitutas, funcion, *argumentos):
        """Llama a `funcion` con nombres globales del cuaderno sustituidos (y luego restaurados)."""
        faltan = object()
        originales = {nombre: ns.get(nombre, faltan) for nombre in sustitutas}
        ns.update(sustitutas)
        try:
            return funcion(*argumentos)
        finally:
            for nombre, original in originales.items():
                if original is faltan:
                    ns.pop(nombre, None)
                else:
                    ns[nombre] = original

    @classmethod
    def funciones_dadas(cls, ruido):
        """`reparameterize` con ruido fijo (la misma fila para cada elemento del lote, así da igual
        si se reparametriza cara por cara o todas juntas) y el `log_normal_pdf` del enunciado."""
        tf = cls.tf
        fila = tf.constant(ruido, tf.float32)

        def reparameterize(mean, logvar):
            eps = tf.broadcast_to(fila[: tf.shape(mean)[-1]], tf.shape(mean))
            return eps * tf.exp(logvar * 0.5) + mean

        def log_normal_pdf(sample, mean, logvar, raxis=1):
            log2pi = tf.math.log(2.0 * cls.np.pi)
            return tf.reduce_sum(
                -0.5 * ((sample - mean) ** 2.0 * tf.exp(-logvar) + logvar + log2pi), axis=raxis)

        return {"reparameterize": reparameterize, "log_normal_pdf": log_normal_pdf}

    # ----------------------------------------------------------------- data_generator

    LLAMADAS_DATOS = {  # (imágenes, test_size, batch_size, semilla global antes de llamar)
        "test_data_generator_tipos": [(30, 0.2, 4, None)],
        "test_data_generator_division": [(50, 0.2, 8, None), (40, 0.3, 8, None)],
        "test_data_generator_lotes": [(50, 0.2, 8, None), (40, 0.25, 7, None)],
        "test_data_generator_mezcla": [(60, 0.25, 5, 1), (60, 0.25, 5, 2)],
    }
    MAX_LOTES = 200

    @classmethod
    def entradas_data_generator(cls, rng, prueba):
        """Imágenes constantes, cada una con su propio valor k + 0.5 (exacto en float32)."""
        llamadas = cls.LLAMADAS_DATOS[prueba]
        cantidad = max(llamada[0] for llamada in llamadas)
        valores = rng.permutation(cantidad).astype(cls.np.float32) + cls.np.float32(0.5)
        return {"llamadas": llamadas, "valores": valores}

    @classmethod
    def imagenes_constantes(cls, valores):
        return valores[:, None, None, None] * cls.np.ones((1, LADO, LADO, 1), cls.np.float32)

    def _observar_datos(self, ns, entradas):
        data_generator = self.funcion(ns, "data_generator")
        llamadas = []
        for cantidad, test_size, batch_size, semilla in entradas["llamadas"]:
            if semilla is not None:
                self.tf.keras.utils.set_random_seed(semilla)
            X = self.imagenes_constantes(entradas["valores"][:cantidad])
            resultado = data_generator(X, test_size, batch_size)
            llamada = {"tipo": type(resultado).__name__, "datasets": []}
            if isinstance(resultado, (tuple, list)):
                llamada["longitud"] = len(resultado)
                llamada["datasets"] = [self._recorrer(d) for d in resultado[:2]]
            llamadas.append(llamada)
        return {"llamadas": llamadas}

    def _recorrer(self, dataset):
        if not isinstance(dataset, self.tf.data.Dataset):
            return {"es_dataset": False, "tipo": type(dataset).__name__}
        lotes = []
        for lote in dataset.take(self.MAX_LOTES):
            arreglo = self.np.asarray(lote)
            planos = arreglo.reshape(len(arreglo), -1) if arreglo.ndim else arreglo.reshape(1, 1)
            lotes.append({"forma": list(arreglo.shape), "tipo": arreglo.dtype.name,
                          "valores": planos[:, 0].astype(self.np.float64),
                          "constantes": bool((planos == planos[:, :1]).all())})
        return {"es_dataset": True, "lotes": lotes}

    _test_data_generator_tipos = _observar_datos
    _test_data_generator_division = _observar_datos
    _test_data_generator_lotes = _observar_datos
    _test_data_generator_mezcla = _observar_datos

    # --------------------------------------------------------- build_encoder / decoder

    DIMENSIONES_MODELOS = {"forma": (2, 7), "capas": (6,), "conexiones": (5,)}

    @classmethod
    def entradas_build_encoder(cls, rng, prueba):
        return cls._entradas_modelo(rng, prueba, lambda n, d: rng.uniform(
            0, 1, (n, LADO, LADO, 1)).astype(cls.np.float32))

    @classmethod
    def entradas_build_decoder(cls, rng, prueba):
        return cls._entradas_modelo(rng, prueba, lambda n, d: rng.standard_normal(
            (n, d)).astype(cls.np.float32))

    @classmethod
    def _entradas_modelo(cls, rng, prueba, entrada):
        funcion, revisado = prueba[len("test_"):].rsplit("_", 1)  # build_encoder, capas
        dimensiones = cls.DIMENSIONES_MODELOS[revisado]
        return {"funcion": funcion, "revisado": revisado, "dimensiones": dimensiones,
                "entradas": [entrada(3, d) for d in dimensiones], "rng": rng}

    @classmethod
    def capas_con_pesos(cls, modelo):
        """Capas con pesos en orden topológico, entrando en submodelos (p. ej. un Sequential)."""
        for capa in modelo.layers:
            if hasattr(capa, "layers"):
                yield from cls.capas_con_pesos(capa)
            elif capa.weights:
                yield capa

    @classmethod
    def pesos_de_prueba(cls, rng, formas):
        """Pesos que fija el calificador: He para los núcleos, sesgos pequeños."""
        pesos = []
        for forma in formas:
            if len(forma) >= 2:
                entrada = int(cls.np.prod(forma)) // int(forma[-1])
                pesos.append(rng.standard_normal(forma) * cls.np.sqrt(2.0 / max(entrada, 1)))
            else:
                pesos.append(rng.standard_normal(forma) * 0.1)
        return [peso.astype(cls.np.float32) for peso in pesos]

    @classmethod
    def entrada_de_capa(cls, rng, clase, formas):
        """Entrada pequeña para probar una capa sola: su forma sale de su núcleo."""
        nucleo = formas[0] if formas else ()
        if clase == "Conv2D" and len(nucleo) == 4:
            forma = (1, 4, 4, nucleo[2])
        elif clase == "Conv2DTranspose" and len(nucleo) == 4:
            forma = (1, 2, 2, nucleo[3])
        elif clase == "Dense" and len(nucleo) == 2:
            forma = (1, nucleo[0])
        else:
            return None
        return rng.standard_normal(forma).astype(cls.np.float32)

    @classmethod
    def describir_capa(cls, capa):
        partes = [f"{nombre}={getattr(capa, atributo)!r}" for nombre, atributo in (
            ("filtros", "filters"), ("unidades", "units"), ("kernel", "kernel_size"),
            ("strides", "strides"), ("padding", "padding")) if hasattr(capa, atributo)]
        activacion = getattr(getattr(capa, "activation", None), "__name__", None)
        if activacion:
            partes.append(f"activación={activacion!r}")
        return f"{type(capa).__name__}({', '.join(partes)})"

    def _observar_modelo(self, ns, entradas):
        construir, prueba = self.funcion(ns, entradas["funcion"]), entradas["revisado"]
        modelos = []
        for dimension, entrada in zip(entradas["dimensiones"], entradas["entradas"]):
            modelo = construir(dimension)
            if not isinstance(modelo, self.tf.keras.Model):
                return {"es_modelo": False, "tipo": type(modelo).__name__}
            observado = {"es_modelo": True, "forma_entrada": [
                None if d is None else int(d) for d in modelo.inputs[0].shape]}
            if prueba != "forma":
                capas = list(self.capas_con_pesos(modelo))
                formas = [[list(w.shape) for w in capa.weights] for capa in capas]
                observado["capas"] = [{"clase": type(capa).__name__, "formas": f,
                                       "descripcion": self.describir_capa(capa)}
                                      for capa, f in zip(capas, formas)]
                rng = entradas["rng"]
                pesos = [self.pesos_de_prueba(rng, f) for f in formas]
                for capa, pesos_capa in zip(capas, pesos):
                    capa.set_weights(pesos_capa)
                if prueba == "capas":
                    observado["salidas_capas"] = []
                    for capa, f in zip(capas, formas):
                        x = self.entrada_de_capa(rng, type(capa).__name__, f)
                        observado["salidas_capas"].append(None if x is None else capa(x))
            salida = modelo(entrada)
            observado["salidas"] = list(salida) if isinstance(salida, (list, tuple)) else [salida]
            modelos.append(observado)
        return {"modelos": modelos}

    _test_build_encoder_forma = _observar_modelo
    _test_build_encoder_capas = _observar_modelo
    _test_build_encoder_conexiones = _observar_modelo
    _test_build_decoder_forma = _observar_modelo
    _test_build_decoder_capas = _observar_modelo
    _test_build_decoder_conexiones = _observar_modelo

    # ----------------------------------------------- modelos lineales de las partes 4 a 7

    @classmethod
    def pesos_lineales(cls, rng, latent_dim, escalas=(1.5, 0.7, 2.0)):
        """Pesos de un encoder lineal (media y log-varianza) y un decoder lineal, elegidos para
        que, con imágenes uniformes en [0, 1], la media, la log-varianza y los logits tengan
        desviaciones cercanas a `escalas`: así cada término de la pérdida se nota."""
        media, log_varianza, logits = escalas
        norma_x = cls.np.sqrt(PIXELES / 3.0)  # norma típica de una imagen uniforme
        norma_z = cls.np.sqrt(latent_dim * (media ** 2 + 1.0))
        def normal(forma, escala):
            return (rng.standard_normal(forma) * escala).astype(cls.np.float32)

        return {"encoder": [normal((PIXELES, latent_dim), media / norma_x),
                            normal(latent_dim, 0.1),
                            normal((PIXELES, latent_dim), log_varianza / norma_x),
                            normal(latent_dim, 0.1)],
                "decoder": [normal((latent_dim, PIXELES), logits / norma_z),
                            normal(PIXELES, 0.1)]}

    @classmethod
    def modelos_lineales(cls, pesos):
        """Encoder (Flatten y dos Dense) y decoder (Dense y Reshape) con los pesos dados."""
        tf, capas = cls.tf, cls.tf.keras.layers
        latent_dim = pesos["encoder"][1].shape[0]
        entrada = tf.keras.Input(shape=(LADO, LADO, 1))
        plano = capas.Flatten()(entrada)
        encoder = tf.keras.Model(entrada, [capas.Dense(latent_dim)(plano),
                                           capas.Dense(latent_dim)(plano)])
        decoder = tf.keras.Sequential([tf.keras.Input(shape=(latent_dim,)),
                                       capas.Dense(PIXELES), capas.Reshape((LADO, LADO, 1))])
        encoder.set_weights(pesos["encoder"])
        decoder.set_weights(pesos["decoder"])
        return encoder, decoder

    @classmethod
    def imagenes(cls, rng, cantidad):
        return rng.uniform(0.0, 1.0, (cantidad, LADO, LADO, 1)).astype(cls.np.float32)

    # ------------------------------------------------------------------------ vae_loss

    @classmethod
    def entradas_vae_loss(cls, rng, prueba):
        latent_dim = 16
        pesos = cls.pesos_lineales(rng, latent_dim)
        anulado = {"test_vae_loss_reconstruccion": "encoder", "test_vae_loss_kl": "decoder"}
        if prueba in anulado:  # encoder nulo: KL 0; decoder nulo: logits 0
            pesos[anulado[prueba]] = [p * 0 for p in pesos[anulado[prueba]]]
        return {"pesos": pesos, "x": cls.imagenes(rng, 3),
                "ruido": rng.standard_normal(latent_dim).astype(cls.np.float32)}

    def _observar_perdida(self, ns, entradas):
        encoder, decoder = self.modelos_lineales(entradas["pesos"])
        perdida = self.con_sustituidas(ns, self.funciones_dadas(entradas["ruido"]),
                                       self.funcion(ns, "vae_loss"), encoder, decoder,
                                       self.tf.constant(entradas["x"]))
        return {"perdida": perdida}

    _test_vae_loss_reconstruccion = _observar_perdida
    _test_vae_loss_kl = _observar_perdida
    _test_vae_loss_valor = _observar_perdida

    # ----------------------------------------------------------------------- train_vae

    # (imágenes, tamaño de lote, épocas) de cada prueba: un solo paso para ver su sentido y su
    # tamaño (el primer paso de Adam mueve cada peso lr en sentido contrario a su gradiente)
    ENTRENAMIENTOS = {"test_train_vae_actualiza": (2, 2, 1), "test_train_vae_adam": (2, 2, 1),
                      "test_train_vae_pasos": (6, 2, 2)}

    @staticmethod
    def perdida_de_entrenamiento(encoder, decoder, x):
        """Sustituye a vae_loss al probar train_vae: sencilla, determinista y con gradiente
        para todos los pesos (no es la pérdida de la parte 4)."""
        tf = Observador.tf
        z_mean, z_log_var = encoder(x)
        castigo = tf.reduce_mean(z_mean ** 2 + z_log_var ** 2)
        error = tf.reduce_sum((tf.sigmoid(decoder(z_mean)) - x) ** 2, axis=[1, 2, 3])
        return tf.reduce_mean(error) + 1e-3 * castigo

    @classmethod
    def entradas_train_vae(cls, rng, prueba):
        imagenes, lote, epocas = cls.ENTRENAMIENTOS[prueba]
        return {"pesos": cls.pesos_lineales(rng, 2, escalas=(0.5, 0.5, 1.0)),
                "x": cls.imagenes(rng, imagenes), "lote": lote, "epocas": epocas}

    @classmethod
    def dataset_de_entrenamiento(cls, entradas):
        return cls.tf.data.Dataset.from_tensor_slices(entradas["x"]).batch(entradas["lote"])

    def _observar_entrenamiento(self, ns, entradas):
        encoder, decoder = self.modelos_lineales(entradas["pesos"])
        resultado = self.con_sustituidas(
            ns, {"vae_loss": self.perdida_de_entrenamiento}, self.funcion(ns, "train_vae"),
            encoder, decoder, self.dataset_de_entrenamiento(entradas), entradas["epocas"])
        observado = {"tipo": type(resultado).__name__}
        if isinstance(resultado, (tuple, list)) and len(resultado) == 2 and all(
                isinstance(m, self.tf.keras.Model) for m in resultado):
            observado["pesos"] = [[w for w in modelo.get_weights()] for modelo in resultado]
        return observado

    _test_train_vae_actualiza = _observar_entrenamiento
    _test_train_vae_adam = _observar_entrenamiento
    _test_train_vae_pasos = _observar_entrenamiento

    # -------------------------------------------------- reconstruct_faces / interpolación

    @classmethod
    def entradas_reconstruct_faces(cls, rng, prueba):
        latent_dim = 4 if prueba.endswith("forma") else 8
        return {"pesos": cls.pesos_lineales(rng, latent_dim),
                "ruido": rng.standard_normal(latent_dim).astype(cls.np.float32),
                "imagenes": [cls.imagenes(rng, cantidad) for cantidad in (1, 3)]}

    def _observar_reconstruccion(self, ns, entradas):
        encoder, decoder = self.modelos_lineales(entradas["pesos"])
        reconstruct_faces = self.funcion(ns, "reconstruct_faces")
        dadas = self.funciones_dadas(entradas["ruido"])
        return {"caras": [self.con_sustituidas(ns, dadas, reconstruct_faces, encoder, decoder, x)
                          for x in entradas["imagenes"]]}

    _test_reconstruct_faces_forma = _observar_reconstruccion
    _test_reconstruct_faces_valores = _observar_reconstruccion

    PASOS = {"test_face_interpolation_lista": (2, 5, 7), "test_face_interpolation_extremos": (4,),
             "test_face_interpolation_latente": (6,)}

    @classmethod
    def entradas_face_interpolation(cls, rng, prueba):
        latent_dim = 4 if prueba.endswith("lista") else 8
        return {"pesos": cls.pesos_lineales(rng, latent_dim),
                "ruido": rng.standard_normal(latent_dim).astype(cls.np.float32),
                "cara1": cls.imagenes(rng, 1), "cara2": cls.imagenes(rng, 1),
                "pasos": cls.PASOS[prueba]}

    def _observar_interpolacion(self, ns, entradas):
        encoder, decoder = self.modelos_lineales(entradas["pesos"])
        face_interpolation = self.funcion(ns, "face_interpolation")
        dadas = self.funciones_dadas(entradas["ruido"])
        llamadas = []
        for pasos in entradas["pasos"]:
            caras = self.con_sustituidas(ns, dadas, face_interpolation, encoder, decoder,
                                         entradas["cara1"], entradas["cara2"], pasos)
            llamadas.append({"tipo": type(caras).__name__,
                             "caras": list(caras) if isinstance(caras, list) else []})
        return {"llamadas": llamadas}

    _test_face_interpolation_lista = _observar_interpolacion
    _test_face_interpolation_extremos = _observar_interpolacion
    _test_face_interpolation_latente = _observar_interpolacion
