# %% [markdown]
# # Autoencoder variacional con las caras Olivetti
#
# En este taller construirá, paso a paso, un **autoencoder variacional** (VAE) con TensorFlow y
# Keras. Lo entrenará con 400 fotos de rostros, lo usará para reconstruir caras que nunca vio
# y, al final, para transformar una cara en otra de forma gradual.
#
# ## Qué es un autoencoder
#
# Un autoencoder tiene dos redes:
#
# * el **codificador** (*encoder*) resume cada imagen $x$ de $64 \times 64 = 4096$ píxeles en
#   un vector corto $z$, el **código latente**;
# * el **decodificador** (*decoder*) intenta rehacer la imagen a partir de $z$.
#
# Como $z$ es mucho más pequeño que $x$, la red aprende a guardar solo lo esencial de una cara.

# %% [markdown]
# ## Qué cambia en un autoencoder variacional
#
# En un VAE el codificador no devuelve un punto, sino una **distribución normal** para $z$:
# una media $\mu(x)$ y una log-varianza $\log \sigma^2(x)$,
#
# $$q(z \mid x) = \mathcal{N}\big(z;\ \mu(x),\ \operatorname{diag} \sigma^2(x)\big).$$
#
# ¿Por qué la **log**-varianza y no la varianza? Una capa `Dense` sin activación puede dar
# cualquier número real, también negativo; una varianza no puede serlo. Con
# $\sigma^2 = e^{\log \sigma^2}$ cualquier salida de la red es válida.
#
# El decodificador da, para cada píxel, la probabilidad de que esté «encendido»: un modelo de
# Bernoulli $p(x \mid z)$ cuyos parámetros son $\hat{x} = \operatorname{sigmoid}(\text{logits})$.
# Los **logits** son números reales cualesquiera; la sigmoide
# $\operatorname{sigmoid}(t) = 1 / (1 + e^{-t})$ los lleva a probabilidades entre 0 y 1. El
# decodificador devuelve logits (sin activación en su última capa) porque la pérdida los usa
# directamente, de forma numéricamente estable; la sigmoide se aplica solo para ver las caras.
# Sobre $z$ suponemos la distribución *a priori* $p(z) = \mathcal{N}(0, I)$.
#
# Se entrena maximizando la **cota inferior de la evidencia** (ELBO):
#
# $$\log p(x) \;\ge\; \mathcal{L}(x) \;=\;
#   \mathbb{E}_{q(z \mid x)}\big[\log p(x \mid z)\big]
#   \;-\; D_{\mathrm{KL}}\big(q(z \mid x)\,\|\,p(z)\big).$$
#
# El primer término pide reconstrucciones fieles; el segundo mantiene los códigos cerca de
# $\mathcal{N}(0, I)$, y eso es lo que permite **generar** caras nuevas e **interpolar** entre
# caras.

# %% [markdown]
# ## Lo que va a construir
#
# | Parte | Función | Puntos |
# |---|---|---|
# | 1 | `data_generator`: divide los datos y crea los `tf.data.Dataset` | 10 |
# | 2 | `build_encoder`: el codificador convolucional | 15 |
# | 3 | `build_decoder`: el decodificador con convoluciones transpuestas | 15 |
# | 4 | `vae_loss`: el ELBO negativo | 20 |
# | 5 | `train_vae`: el ciclo de entrenamiento | 15 |
# | 6 | `reconstruct_faces`: reconstruir caras | 10 |
# | 7 | `face_interpolation`: transformar una cara en otra | 15 |
# | | **Total** | **100** |
#
# **Cómo trabajar**
#
# * Escriba su código solo donde dice `# SU CÓDIGO AQUÍ` y borre la línea
#   `raise NotImplementedError()`.
# * No cambie el nombre ni los argumentos de las funciones.
# * Después de cada función ejecute su celda de pruebas. Las pruebas visibles le ayudan; al
#   calificar se ejecutan además pruebas ocultas que revisan cada condición del enunciado.
# * Cada parte se califica por separado: un error en una parte no le quita puntos en otra.
# * Antes de entregar, use *Restart Kernel and Run All Cells* o el botón **Validate**.

# %% [markdown]
# ## Preparación

# %% nbgrader={"grade": false, "grade_id": "entorno_silencioso", "locked": true, "schema_version": 3, "solution": false, "task": false}
# Preparación del entorno (puede ignorar esta celda): importa TensorFlow sin los mensajes
# internos que escribe al arrancar (no hay GPU, oneDNN...), que no cambian ningún resultado y
# que, al calificar, en una celda de pruebas contarían como un error.
import contextlib
import logging
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")


@contextlib.contextmanager
def _sin_mensajes_de_sistema():
    copia = os.dup(2)
    with open(os.devnull, "w") as nulo:
        os.dup2(nulo.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(copia, 2)
            os.close(copia)


with _sin_mensajes_de_sistema():
    import tensorflow as tf
tf.get_logger().setLevel(logging.ERROR)

# %% nbgrader={"grade": false, "grade_id": "importaciones", "locked": true, "schema_version": 3, "solution": false, "task": false}
import os

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from sklearn.datasets import fetch_olivetti_faces
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

# Al validar, nbgrader define NBGRADER_EXECUTION: la vitrina del final no entrena entonces
# (las pruebas usan sus propios modelos pequeños).
EN_CALIFICACION = "NBGRADER_EXECUTION" in os.environ
print("TensorFlow", tf.__version__)

# %% [markdown]
# ## Los datos
#
# Usamos la base de rostros Olivetti (AT&T Laboratories Cambridge): 400 fotos en escala de
# grises de 40 personas, 10 fotos por persona. Cada foto mide $64 \times 64$ píxeles con
# valores entre 0 y 1. Las reorganizamos en un arreglo de forma `(400, 64, 64, 1)`: el último
# eje es el único canal de color.

# %% nbgrader={"grade": false, "grade_id": "datos", "locked": true, "schema_version": 3, "solution": false, "task": false}
try:
    faces = fetch_olivetti_faces(shuffle=True, random_state=55)
except OSError:
    raise RuntimeError(
        "No se pudieron descargar las caras Olivetti: conéctese a internet o defina la variable "
        "de entorno SCIKIT_LEARN_DATA con la carpeta que contiene olivetti_py3.pkz."
    ) from None

X, y = faces.data, faces.target
X = X.reshape(400, 64, 64, 1)
print("X:", X.shape, X.dtype, "| valores entre", X.min(), "y", X.max())

# %% nbgrader={"grade": false, "grade_id": "figura_datos", "locked": true, "schema_version": 3, "solution": false, "task": false}
import base64
import html
import io

from IPython.display import display


def mostrar_figura(figura, descripcion):
    """Muestra `figura` con `descripcion` como texto alternativo: lo que lee un lector de
    pantalla en lugar de la imagen (en la salida `image/png` y en su versión HTML, la que
    muestra JupyterLab)."""
    png = io.BytesIO()
    figura.savefig(png, format="png", bbox_inches="tight")
    plt.close(figura)
    datos = base64.b64encode(png.getvalue()).decode("ascii")
    display({"image/png": datos,
             "text/html": f'<img src="data:image/png;base64,{datos}" '
                          f'alt="{html.escape(descripcion)}">'},
            metadata={"image/png": {"alt": descripcion}}, raw=True)


def mostrar_caras(imagenes, titulos=None, titulo="", columnas=8, filas=None, pie="",
                  descripcion=""):
    """Dibuja una rejilla de caras en escala de grises: `titulos` sobre cada cara (None o "" para
    ninguno), `filas` a la izquierda de cada fila, `pie` debajo de todo y `descripcion` como su
    texto alternativo (al validar o calificar no dibuja: nadie la vería)."""
    if EN_CALIFICACION:
        return
    imagenes = np.asarray(imagenes).reshape(-1, 64, 64)
    n_filas = int(np.ceil(len(imagenes) / columnas))
    alto = 2.0 if titulos is not None else 1.7
    figura, ejes = plt.subplots(n_filas, columnas, squeeze=False,
                                figsize=(1.4 * columnas, alto * n_filas + (0.4 if pie else 0)))
    for k, eje in enumerate(ejes.flat):
        eje.set_xticks([])
        eje.set_yticks([])
        eje.spines[:].set_visible(False)
        if k < len(imagenes):
            eje.imshow(imagenes[k], cmap="gray", vmin=0, vmax=1)
            if titulos is not None and titulos[k]:
                eje.set_title(titulos[k], fontsize=9)
    for fila, etiqueta in enumerate(filas or []):
        ejes[fila, 0].set_ylabel(etiqueta, fontsize=11)
    figura.suptitle(titulo)
    if pie:
        figura.supxlabel(pie, fontsize=10)
    figura.tight_layout()
    mostrar_figura(figura, descripcion or titulo)


mostrar_caras(X[:16], [f"persona {p}" for p in y[:16]],
              "Dieciséis fotos del conjunto Olivetti",
              descripcion="Rejilla de dieciséis fotos en escala de grises del conjunto Olivetti, "
              "en dos filas de ocho: caras de frente, con luz y gestos algo distintos, cada una con "
              "su número de persona encima (" + ", ".join(str(p) for p in y[:16]) + ").")

# %% [markdown]
# ## Material para las pruebas
#
# Las pruebas visibles de cada parte usan estas imágenes aleatorias y unos modelos «de juguete»
# diminutos (no son los de las partes 2 y 3). Así cada parte se prueba sola: si una función
# anterior aún falla, las pruebas de las demás siguen funcionando.

# %% nbgrader={"grade": false, "grade_id": "material_pruebas", "locked": true, "schema_version": 3, "solution": false, "task": false}
import contextlib

X_prueba = np.random.default_rng(0).uniform(size=(50, 64, 64, 1)).astype("float32")


def modelos_de_juguete(latent_dim=2, ceros=False):
    """Encoder (Flatten + dos Dense) y decoder (Dense + Reshape) diminutos.

    Con ceros=True todos los pesos valen 0: el encoder da z_mean = z_log_var = 0 y el decoder
    da logits 0 (probabilidad 0.5 en cada píxel).
    """
    capas = tf.keras.layers
    inicial = "zeros" if ceros else "glorot_uniform"
    entrada = tf.keras.Input(shape=(64, 64, 1))
    plano = capas.Flatten()(entrada)
    encoder = tf.keras.Model(entrada, [capas.Dense(latent_dim, kernel_initializer=inicial)(plano),
                                       capas.Dense(latent_dim, kernel_initializer=inicial)(plano)])
    decoder = tf.keras.Sequential([tf.keras.Input(shape=(latent_dim,)),
                                   capas.Dense(64 * 64, kernel_initializer=inicial),
                                   capas.Reshape((64, 64, 1))])
    return encoder, decoder


def perdida_de_juguete(encoder, decoder, x):
    """Error cuadrático de reconstrucción más un pequeño castigo a los códigos: una pérdida
    sencilla (no es la de la parte 4) que da gradientes a todos los pesos."""
    z_mean, z_log_var = encoder(x)
    castigo = tf.reduce_mean(z_mean ** 2 + z_log_var ** 2)
    return tf.reduce_mean((tf.sigmoid(decoder(z_mean)) - x) ** 2) + 1e-3 * castigo


def entrenar_con_perdida_de_juguete(encoder, decoder, dataset, epochs):
    """Llama a su train_vae con perdida_de_juguete en lugar de su vae_loss (y luego la restaura),
    para que las pruebas de la parte 5 no dependan de la parte 4."""
    global vae_loss
    vae_loss_original = vae_loss
    vae_loss = perdida_de_juguete
    try:
        return train_vae(encoder, decoder, dataset, epochs)
    finally:
        vae_loss = vae_loss_original


def pesos_planos(modelo):
    return np.concatenate([w.numpy().ravel() for w in modelo.weights])


@contextlib.contextmanager
def ruido_fijo(eps=0.5):
    """Cambia por un momento la función dada `reparameterize` por una que usa siempre el mismo
    ruido (eps en lugar de una muestra normal) y anota con qué media y log-varianza la llaman
    (por eso sus funciones deben llamar a `reparameterize` por su nombre); `log_normal_pdf` es
    la dada, aunque se haya redefinido."""
    global reparameterize, log_normal_pdf
    originales, llamadas = (reparameterize, log_normal_pdf), []

    def con_ruido_fijo(mean, logvar):
        llamadas.append((np.array(mean), np.array(logvar)))
        return eps * tf.exp(logvar * .5) + mean

    reparameterize, log_normal_pdf = con_ruido_fijo, FUNCIONES_DADAS["log_normal_pdf"]
    try:
        yield llamadas
    finally:
        reparameterize, log_normal_pdf = originales


def reconstruccion_y_kl(encoder, decoder, imagenes, eps):
    """Separa su vae_loss en sus dos términos, con el mismo ruido `eps` en dos llamadas: con un
    decoder de logits 0 la reconstrucción vale exactamente 4096 ln 2, y lo que pasa de ahí es el
    KL. Devuelve (reconstrucción, KL), promediados sobre las imágenes."""
    latent_dim = encoder(imagenes[:1])[0].shape[-1]
    _, decoder_ceros = modelos_de_juguete(latent_dim, ceros=True)
    with ruido_fijo(eps):
        total = float(vae_loss(encoder, decoder, imagenes))
        kl = float(vae_loss(encoder, decoder_ceros, imagenes)) - 64 * 64 * np.log(2)
    return total - kl, kl


def capas_de(modelo):
    """Las capas de un modelo en orden, también las de sus submodelos."""
    for capa in modelo.layers:
        if isinstance(capa, tf.keras.Model):
            yield from capas_de(capa)
        else:
            yield capa


def activaciones(modelo, tipo):
    """La activación de cada capa `tipo` del modelo ("relu", "ninguna" u "otra"): la suya, o la
    de una capa ReLU/Activation que la siga."""
    capas, prueba, nombres = list(capas_de(modelo)), tf.constant([-2.0, 3.0]), []
    for i, capa in enumerate(capas):
        if not isinstance(capa, tipo):
            continue
        salida = capa.activation(prueba)
        siguiente = capas[i + 1] if i + 1 < len(capas) else None
        if np.allclose(salida, prueba) and isinstance(
                siguiente, (tf.keras.layers.ReLU, tf.keras.layers.Activation)):
            salida = siguiente(prueba)
        nombres.append("relu" if np.allclose(salida, [0.0, 3.0]) else
                       "ninguna" if np.allclose(salida, prueba) else "otra")
    return nombres

# %% [markdown]
# ## Parte 1. Conjuntos de entrenamiento y prueba (10 puntos)
#
# Complete `data_generator(X, test_size, batch_size)`. Recibe el arreglo de imágenes `X`, la
# proporción `test_size` de imágenes que van a prueba (por ejemplo `0.2`) y el tamaño de lote
# `batch_size`. Devuelve `(train_dataset, test_dataset)`, dos `tf.data.Dataset`.
#
# Condiciones:
#
# 0. Al comienzo, fije las semillas con `np.random.seed(0)` y `tf.keras.utils.set_random_seed(0)`.
# 1. Divida con `train_test_split` de scikit-learn, con `test_size` y `random_state=42`.
# 2. Cree `train_dataset` a partir del conjunto de entrenamiento con
#    `tf.data.Dataset.from_tensor_slices`.
# 3. Mezcle `train_dataset` con `shuffle` y luego divídalo en lotes de `batch_size` con `batch`.
# 4. Cree `test_dataset` a partir del conjunto de prueba con `tf.data.Dataset.from_tensor_slices`.
# 5. Mezcle `test_dataset` con `shuffle` y luego divídalo en lotes de `batch_size` con `batch`.
#
# Use un `buffer_size` de `shuffle` al menos tan grande como el conjunto (por ejemplo 1000), así
# la mezcla es completa.

# %% nbgrader={"grade": false, "grade_id": "data_generator", "locked": false, "schema_version": 3, "solution": true, "task": false}
def data_generator(X, test_size, batch_size):
    ### BEGIN SOLUTION
    np.random.seed(0)
    tf.keras.utils.set_random_seed(0)

    X_train, X_test = train_test_split(X, test_size=test_size, random_state=42)

    train_dataset = tf.data.Dataset.from_tensor_slices(X_train)
    train_dataset = train_dataset.shuffle(buffer_size=1000).batch(batch_size)

    test_dataset = tf.data.Dataset.from_tensor_slices(X_test)
    test_dataset = test_dataset.shuffle(buffer_size=1000).batch(batch_size)
    ### END SOLUTION
    return train_dataset, test_dataset

# %% nbgrader={"grade": true, "grade_id": "test_data_generator_tipos", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Devuelve dos tf.data.Dataset cuyos lotes son imágenes (lote, 64, 64, 1) en float32.
train_prueba, test_prueba = data_generator(X_prueba, test_size=0.2, batch_size=8)
assert isinstance(train_prueba, tf.data.Dataset) and isinstance(test_prueba, tf.data.Dataset), (
    f"Se esperaban dos tf.data.Dataset; se encontró {type(train_prueba).__name__} y "
    f"{type(test_prueba).__name__}.")
lote = next(iter(train_prueba))
assert tuple(lote.shape) == (8, 64, 64, 1) and lote.dtype == tf.float32, (
    f"El primer lote debería tener forma (8, 64, 64, 1) y tipo float32; tiene "
    f"{tuple(lote.shape)} y {lote.dtype.name}.")
### BEGIN HIDDEN TESTS
_observador.observar("test_data_generator_tipos", globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_data_generator_division", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Divide con train_test_split(X, test_size=test_size, random_state=42): las mismas imágenes de
# prueba (en cualquier orden) y los tamaños. Al calificar, además: con otras imágenes y tamaños.
train_prueba, test_prueba = data_generator(X_prueba, test_size=0.2, batch_size=8)
n_train = sum(len(lote) for lote in train_prueba)
n_test = sum(len(lote) for lote in test_prueba)
assert (n_train, n_test) == (40, 10), (
    f"Con 50 imágenes y test_size=0.2 se esperaban 40 de entrenamiento y 10 de prueba; se "
    f"encontraron {n_train} y {n_test}.")
_, X_test_esperado = train_test_split(X_prueba, test_size=0.2, random_state=42)
sumas = sorted(float(np.sum(imagen)) for lote in test_prueba for imagen in lote)
assert np.allclose(sumas, sorted(np.sum(X_test_esperado, axis=(1, 2, 3)))), (
    "Las imágenes de prueba no son las de train_test_split(X, test_size=test_size, "
    "random_state=42).")
### BEGIN HIDDEN TESTS
_observador.observar("test_data_generator_division", globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_data_generator_lotes", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Divide en lotes de batch_size (el último puede ser más pequeño).
train_prueba, test_prueba = data_generator(X_prueba, test_size=0.2, batch_size=16)
tamanos = [len(lote) for lote in train_prueba]
assert tamanos == [16, 16, 8], (
    f"Con 40 imágenes de entrenamiento y batch_size=16 se esperaban lotes [16, 16, 8]; se "
    f"encontraron {tamanos}.")
### BEGIN HIDDEN TESTS
_observador.observar("test_data_generator_lotes", globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_data_generator_mezcla", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Mezcla con shuffle antes de dividir en lotes.
X_train_sin_mezclar, _ = train_test_split(X_prueba, test_size=0.2, random_state=42)
train_prueba, _ = data_generator(X_prueba, test_size=0.2, batch_size=40)
orden = next(iter(train_prueba)).numpy()
assert not (orden == X_train_sin_mezclar).all(), (
    "El conjunto de entrenamiento sale en el mismo orden que train_test_split: falta mezclarlo "
    "con shuffle.")
### BEGIN HIDDEN TESTS
_observador.observar("test_data_generator_mezcla", globals())
### END HIDDEN TESTS

# %% [markdown]
# ## Parte 2. El codificador (15 puntos)
#
# Complete `build_encoder(latent_dim)`. Debe devolver un `tf.keras.Model` que recibe imágenes
# de $64 \times 64 \times 1$ y devuelve dos vectores de tamaño `latent_dim`: `[z_mean, z_log_var]`.
#
# Condiciones:
#
# 1. Una entrada de forma `(64, 64, 1)`.
# 2. `Conv2D` con 16 filtros, kernel `(5, 5)`, strides `(2, 2)`, padding `"same"` y activación
#    `"relu"`, conectada a la entrada.
# 3. `Conv2D` con 32 filtros, kernel `(3, 3)`, strides `(2, 2)`, padding `"same"`, `"relu"`,
#    conectada a la anterior.
# 4. `Conv2D` con 64 filtros, kernel `(3, 3)`, strides `(2, 2)`, padding `"same"`, `"relu"`.
# 5. `Conv2D` con 128 filtros, kernel `(3, 3)`, strides `(2, 2)`, padding `"same"`, `"relu"`.
# 6. Una capa `Flatten` sobre la salida de la cuarta `Conv2D`.
# 7. Dos capas `Dense` separadas de `latent_dim` unidades (sin activación), ambas conectadas
#    al `Flatten`: son `z_mean` y `z_log_var`.
#
# Cada convolución con strides 2 reduce el lado a la mitad: $64 \to 32 \to 16 \to 8 \to 4$.
# Con `latent_dim=8`, `build_encoder(8).summary()` debería mostrar estas capas (los nombres
# pueden ser otros; las formas y los parámetros, no):
#
# | capa | forma de salida | parámetros |
# |---|---|---|
# | `InputLayer` | `(None, 64, 64, 1)` | 0 |
# | `Conv2D` | `(None, 32, 32, 16)` | 416 |
# | `Conv2D` | `(None, 16, 16, 32)` | 4 640 |
# | `Conv2D` | `(None, 8, 8, 64)` | 18 496 |
# | `Conv2D` | `(None, 4, 4, 128)` | 73 856 |
# | `Flatten` | `(None, 2048)` | 0 |
# | `Dense` (`z_mean`) | `(None, 8)` | 16 392 |
# | `Dense` (`z_log_var`) | `(None, 8)` | 16 392 |
#
# En total, 130 192 parámetros.

# %% nbgrader={"grade": false, "grade_id": "build_encoder", "locked": false, "schema_version": 3, "solution": true, "task": false}
def build_encoder(latent_dim):
    ### BEGIN SOLUTION
    inputs = tf.keras.layers.Input(shape=(64, 64, 1))
    x = tf.keras.layers.Conv2D(16, (5, 5), strides=(2, 2), padding="same", activation="relu")(inputs)
    x = tf.keras.layers.Conv2D(32, (3, 3), strides=(2, 2), padding="same", activation="relu")(x)
    x = tf.keras.layers.Conv2D(64, (3, 3), strides=(2, 2), padding="same", activation="relu")(x)
    x = tf.keras.layers.Conv2D(128, (3, 3), strides=(2, 2), padding="same", activation="relu")(x)
    x = tf.keras.layers.Flatten()(x)
    z_mean = tf.keras.layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = tf.keras.layers.Dense(latent_dim, name="z_log_var")(x)
    encoder = tf.keras.Model(inputs, [z_mean, z_log_var], name="encoder")
    ### END SOLUTION
    return encoder

# %% nbgrader={"grade": true, "grade_id": "test_build_encoder_forma", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Recibe (64, 64, 1) y devuelve [z_mean, z_log_var], cada uno de tamaño latent_dim.
encoder_prueba = build_encoder(2)
assert isinstance(encoder_prueba, tf.keras.Model), (
    f"build_encoder debe devolver un tf.keras.Model; devolvió {type(encoder_prueba).__name__}.")
salidas = encoder_prueba(X_prueba[:3])
formas = [tuple(s.shape) for s in salidas]
assert formas == [(3, 2), (3, 2)], (
    f"Con latent_dim=2 y 3 imágenes se esperaban dos salidas de forma (3, 2); se encontró {formas}.")
### BEGIN HIDDEN TESTS
_observador.observar("test_build_encoder_forma", globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_build_encoder_capas", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
# Cuatro Conv2D (filtros, kernel, strides, padding) y dos Dense de latent_dim unidades.
encoder_prueba = build_encoder(2)
# Los núcleos de las convoluciones son los pesos de 4 dimensiones (también dentro de submodelos).
filtros = [int(w.shape[-1]) for w in encoder_prueba.weights if len(w.shape) == 4]
assert filtros == [16, 32, 64, 128], (
    f"Se esperaban cuatro Conv2D con 16, 32, 64 y 128 filtros; se encontró {filtros}.")
### BEGIN HIDDEN TESTS
_observador.observar("test_build_encoder_capas", globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_build_encoder_conexiones", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
# Activaciones y conexiones: relu en las cuatro Conv2D, z_mean y z_log_var sin activación, y
# el número de parámetros que dan esas conexiones. Al calificar, además: el encoder entero con
# pesos de la calificación da lo que describen las condiciones.
encoder_prueba = build_encoder(2)
convoluciones = activaciones(encoder_prueba, tf.keras.layers.Conv2D)
assert convoluciones == ["relu"] * 4, (
    f"Las cuatro Conv2D deben usar la activación relu; se encontró {convoluciones}.")
cabezas = activaciones(encoder_prueba, tf.keras.layers.Dense)
assert cabezas == ["ninguna", "ninguna"], (
    f"z_mean y z_log_var son Dense sin activación (cualquier número real); se encontró {cabezas}.")
parametros = encoder_prueba.count_params()
assert parametros == 105_604, (
    f"Con latent_dim=2 el encoder debería tener 105604 parámetros; tiene {parametros}.")
### BEGIN HIDDEN TESTS
_observador.observar("test_build_encoder_conexiones", globals())
### END HIDDEN TESTS

# %% [markdown]
# ## Parte 3. El decodificador (15 puntos)
#
# Complete `build_decoder(latent_dim)`. Debe devolver un `tf.keras.Model` que recibe un vector
# de tamaño `latent_dim` y devuelve una imagen de $64 \times 64 \times 1$ en forma de
# **logits** (números reales; la sigmoide se aplica después).
#
# Condiciones:
#
# 1. Una entrada de tamaño `latent_dim`.
# 2. `Dense` con `4 * 4 * 128` unidades y activación `"relu"`, conectada a la entrada.
# 3. `Reshape` de la salida de la `Dense` a la forma `(4, 4, 128)`.
# 4. `Conv2DTranspose` con 128 filtros, kernel `(3, 3)`, strides `(2, 2)`, padding `"same"` y
#    activación `"relu"`, conectada al `Reshape`.
# 5. `Conv2DTranspose` con 64 filtros, kernel `(3, 3)`, strides `(2, 2)`, padding `"same"`, `"relu"`.
# 6. `Conv2DTranspose` con 32 filtros, kernel `(3, 3)`, strides `(2, 2)`, padding `"same"`, `"relu"`.
# 7. `Conv2DTranspose` con 16 filtros, kernel `(5, 5)`, strides `(2, 2)`, padding `"same"`, `"relu"`.
# 8. Una última `Conv2DTranspose` con 1 filtro, kernel `(3, 3)`, strides `(1, 1)` (el valor
#    por defecto: no cambia el tamaño), padding `"same"` y **sin activación** (da logits),
#    conectada a la salida de la **cuarta** `Conv2DTranspose`.
#
# Cada convolución transpuesta con strides 2 duplica el lado: $4 \to 8 \to 16 \to 32 \to 64$.
# (Conectada a la tercera, las imágenes saldrían de $32 \times 32$.) Con `latent_dim=8`,
# `build_decoder(8).summary()` debería mostrar:
#
# | capa | forma de salida | parámetros |
# |---|---|---|
# | `InputLayer` | `(None, 8)` | 0 |
# | `Dense` | `(None, 2048)` | 18 432 |
# | `Reshape` | `(None, 4, 4, 128)` | 0 |
# | `Conv2DTranspose` | `(None, 8, 8, 128)` | 147 584 |
# | `Conv2DTranspose` | `(None, 16, 16, 64)` | 73 792 |
# | `Conv2DTranspose` | `(None, 32, 32, 32)` | 18 464 |
# | `Conv2DTranspose` | `(None, 64, 64, 16)` | 12 816 |
# | `Conv2DTranspose` | `(None, 64, 64, 1)` | 145 |
#
# En total, 271 233 parámetros.

# %% nbgrader={"grade": false, "grade_id": "build_decoder", "locked": false, "schema_version": 3, "solution": true, "task": false}
def build_decoder(latent_dim):
    ### BEGIN SOLUTION
    inputs = tf.keras.layers.Input(shape=(latent_dim,))
    x = tf.keras.layers.Dense(4 * 4 * 128, activation="relu")(inputs)
    x = tf.keras.layers.Reshape((4, 4, 128))(x)
    x = tf.keras.layers.Conv2DTranspose(128, (3, 3), strides=(2, 2), padding="same", activation="relu")(x)
    x = tf.keras.layers.Conv2DTranspose(64, (3, 3), strides=(2, 2), padding="same", activation="relu")(x)
    x = tf.keras.layers.Conv2DTranspose(32, (3, 3), strides=(2, 2), padding="same", activation="relu")(x)
    x = tf.keras.layers.Conv2DTranspose(16, (5, 5), strides=(2, 2), padding="same", activation="relu")(x)
    x = tf.keras.layers.Conv2DTranspose(1, (3, 3), padding="same")(x)
    decoder = tf.keras.Model(inputs, x, name="decoder")
    ### END SOLUTION
    return decoder

# %% nbgrader={"grade": true, "grade_id": "test_build_decoder_forma", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Recibe vectores de tamaño latent_dim y devuelve imágenes (64, 64, 1).
decoder_prueba = build_decoder(2)
assert isinstance(decoder_prueba, tf.keras.Model), (
    f"build_decoder debe devolver un tf.keras.Model; devolvió {type(decoder_prueba).__name__}.")
forma = tuple(decoder_prueba(tf.zeros((3, 2))).shape)
assert forma == (3, 64, 64, 1), (
    f"Con 3 vectores latentes se esperaba una salida (3, 64, 64, 1); se encontró {forma}.")
### BEGIN HIDDEN TESTS
_observador.observar("test_build_decoder_forma", globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_build_decoder_capas", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
# Una Dense de 4*4*128 unidades y cinco Conv2DTranspose (filtros, kernel, strides, padding).
decoder_prueba = build_decoder(2)
# Los núcleos de Conv2DTranspose tienen forma (alto, ancho, filtros, canales de entrada).
filtros = [int(w.shape[2]) for w in decoder_prueba.weights if len(w.shape) == 4]
assert filtros == [128, 64, 32, 16, 1], (
    f"Se esperaban cinco Conv2DTranspose con 128, 64, 32, 16 y 1 filtros; se encontró {filtros}.")
### BEGIN HIDDEN TESTS
_observador.observar("test_build_decoder_capas", globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_build_decoder_conexiones", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
# Activaciones y conexiones: relu en la Dense y en las cuatro primeras Conv2DTranspose, la
# última sin activación (da logits), y el número de parámetros que dan esas conexiones. Al
# calificar, además: el decoder entero con pesos de la calificación.
decoder_prueba = build_decoder(2)
densa = activaciones(decoder_prueba, tf.keras.layers.Dense)
assert densa == ["relu"], f"La Dense del decoder debe usar relu; se encontró {densa}."
transpuestas = activaciones(decoder_prueba, tf.keras.layers.Conv2DTranspose)
assert transpuestas[:4] == ["relu"] * 4, (
    f"Las cuatro primeras Conv2DTranspose deben usar relu; se encontró {transpuestas[:4]}.")
assert transpuestas[4:] == ["ninguna"], (
    "La última Conv2DTranspose no lleva activación: el decoder da logits y la sigmoide se aplica "
    f"después (en la pérdida, o al mostrar caras); se encontró {transpuestas[4:]}.")
parametros = decoder_prueba.count_params()
assert parametros == 258_945, (
    f"Con latent_dim=2 el decoder debería tener 258945 parámetros; tiene {parametros}.")
### BEGIN HIDDEN TESTS
_observador.observar("test_build_decoder_conexiones", globals())
### END HIDDEN TESTS

# %% [markdown]
# ## Parte 4. La función de pérdida (20 puntos)
#
# Estas dos funciones ya están hechas; úselas.
#
# * `log_normal_pdf(sample, mean, logvar)` calcula $\log \mathcal{N}(\text{sample};\ \text{mean},\
#   e^{\text{logvar}})$ sumando sobre el eje 1 (las dimensiones latentes).
# * `reparameterize(mean, logvar)` toma una muestra $z = \mu + \sigma \odot \varepsilon$ con
#   $\varepsilon \sim \mathcal{N}(0, I)$ y $\sigma = e^{\text{logvar}/2}$. Es el **truco de
#   reparametrización**: el azar queda en $\varepsilon$ y los gradientes pasan por $\mu$ y
#   $\sigma$.

# %% nbgrader={"grade": false, "grade_id": "funciones_dadas", "locked": true, "schema_version": 3, "solution": false, "task": false}
def log_normal_pdf(sample, mean, logvar, raxis=1):
    """Logaritmo de la densidad normal de `sample`, sumado sobre el eje `raxis`."""
    log2pi = tf.math.log(2. * np.pi)
    return tf.reduce_sum(
        -.5 * ((sample - mean) ** 2. * tf.exp(-logvar) + logvar + log2pi),
        axis=raxis)


def reparameterize(mean, logvar):
    """Muestra z = mean + exp(logvar / 2) * eps con eps normal estándar."""
    eps = tf.random.normal(shape=mean.shape)
    return eps * tf.exp(logvar * .5) + mean


# Las pruebas usan estas versiones aunque más abajo se redefinan (ver `ruido_fijo`).
FUNCIONES_DADAS = {"log_normal_pdf": log_normal_pdf, "reparameterize": reparameterize}

# %% [markdown]
# Complete `vae_loss(encoder, decoder, x)`: devuelve el **ELBO negativo promediado sobre el
# lote**, un escalar.
#
# Condiciones:
#
# 1. Con el codificador, obtenga `mean` y `logvar` de $q(z \mid x)$.
# 2. Con `reparameterize`, obtenga una muestra `z`, y decodifíquela con `decoder`: son los
#    logits de $p(x \mid z)$.
# 3. Calcule la pérdida con una muestra de $z$ por imagen:
#
# $$-\mathcal{L}(x) \approx
#   \underbrace{-\log p(x \mid z)}_{\text{reconstrucción}}
#   \;\underbrace{-\,\log p(z) + \log q(z \mid x)}_{\text{KL estimado}}$$
#
# * **Reconstrucción**: $-\log p(x \mid z) = -\sum_i \big[x_i \log \hat{x}_i +
#   (1 - x_i)\log(1 - \hat{x}_i)\big]$, la entropía cruzada sigmoide **sumada sobre todos los
#   píxeles**: `tf.nn.sigmoid_cross_entropy_with_logits(logits=..., labels=x)`.
# * **KL**: $\log q(z \mid x) - \log p(z)$ con `log_normal_pdf(z, mean, logvar)` y
#   `log_normal_pdf(z, 0., 0.)`. (La forma cerrada
#   $-\tfrac12\sum_j\big(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\big)$ también es correcta.)
# * Devuelva el promedio sobre las imágenes del lote de reconstrucción + KL.
#
# Las pérdidas se miden en **nats**: logaritmos naturales, como bits pero con $\ln$ en lugar de
# $\log_2$. Un píxel del que el modelo no sabe nada ($\hat{x}_i = 0.5$) cuesta $\ln 2 \approx
# 0.69$ nats; una imagen entera de $4096$ píxeles, $4096 \ln 2 \approx 2839$. Los píxeles de las
# caras son **grises** (entre 0 y 1), no blanco o negro: la entropía cruzada de un gris $x_i$
# vale al menos su entropía, $-x_i\ln x_i - (1-x_i)\ln(1-x_i) > 0$, así que la pérdida de
# reconstrucción **nunca llega a cero**, ni con una reconstrucción perfecta.
#
# **Qué sustituyen las pruebas.** Para comparar su pérdida con la correcta con el mismo ruido,
# las pruebas cambian por un momento la función dada `reparameterize` por una de ruido fijo.
# Por eso `vae_loss`, `reconstruct_faces` y `face_interpolation` deben **llamar a
# `reparameterize` por su nombre** (no muestree usted el ruido), y `train_vae` debe
# llamar a la función global `vae_loss`.

# %% nbgrader={"grade": false, "grade_id": "vae_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
def vae_loss(encoder, decoder, x):
    ### BEGIN SOLUTION
    mean, logvar = encoder(x)
    z = reparameterize(mean, logvar)
    x_logit = decoder(z)
    cross_ent = tf.nn.sigmoid_cross_entropy_with_logits(logits=x_logit, labels=x)
    logpx_z = -tf.reduce_sum(cross_ent, axis=[1, 2, 3])
    logpz = log_normal_pdf(z, 0., 0.)
    logqz_x = log_normal_pdf(z, mean, logvar)
    loss = -tf.reduce_mean(logpx_z + logpz - logqz_x)
    ### END SOLUTION
    return loss

# %% nbgrader={"grade": true, "grade_id": "test_vae_loss_reconstruccion", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
# Reconstrucción: con z_mean = z_log_var = 0 el KL vale 0, y con logits 0 cada píxel aporta
# log 2, así que la pérdida es 4096 * log 2.
encoder_j, decoder_j = modelos_de_juguete(ceros=True)
perdida = float(vae_loss(encoder_j, decoder_j, X_prueba[:4]))
esperada = 64 * 64 * np.log(2)
assert abs(perdida - esperada) < 1e-2, (
    f"Con logits 0 y KL 0 se esperaba 4096·log 2 = {esperada:.2f}; se obtuvo {perdida:.2f}. "
    "¿Sumó la entropía cruzada sobre todos los píxeles y promedió sobre el lote?")
### BEGIN HIDDEN TESTS
_observador.observar("test_vae_loss_reconstruccion", globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_vae_loss_kl", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
# KL: con un decoder de logits 0 (reconstrucción = 4096 log 2), log-varianzas 0 y medias 1, y
# el ruido fijo de `ruido_fijo`, el KL de cada imagen vale 1 nat (latent_dim=2); con medias 0,
# vale 0. Al calificar, además: el KL con otras medias, log-varianzas y ruido.
encoder_j, decoder_j = modelos_de_juguete(ceros=True)
with ruido_fijo(eps=0.0):
    sin_kl = float(vae_loss(encoder_j, decoder_j, X_prueba[:4]))
    capa_z_mean = [c for c in encoder_j.layers if isinstance(c, tf.keras.layers.Dense)][0]
    capa_z_mean.bias.assign([1.0, 1.0])  # z_mean = 1 en cada imagen
    con_kl = float(vae_loss(encoder_j, decoder_j, X_prueba[:4]))
assert abs((con_kl - sin_kl) - 1.0) < 1e-3, (
    "Con medias 1 y log-varianzas 0 el KL de cada imagen vale 1; la pérdida debería subir 1 "
    f"respecto a medias 0 y subió {con_kl - sin_kl:.4f}. ¿Falta el KL, o su vae_loss no usa "
    "reparameterize?")
### BEGIN HIDDEN TESTS
_observador.observar("test_vae_loss_kl", globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_vae_loss_valor", "locked": true, "points": 8, "schema_version": 3, "solution": false, "task": false}
# Valor completo: reconstrucción + KL con z muestreado, promediado sobre el lote: un lote de
# cuatro copias de una imagen tiene la pérdida de esa imagen sola. Al calificar, además: el
# valor, frente al de referencia con el mismo ruido, en otros modelos e imágenes.
encoder_j, decoder_j = modelos_de_juguete()
with ruido_fijo():
    una = float(vae_loss(encoder_j, decoder_j, X_prueba[:1]))
    cuatro = float(vae_loss(encoder_j, decoder_j, np.repeat(X_prueba[:1], 4, axis=0)))
assert una > 0, f"El ELBO negativo de esta imagen debería ser positivo; es {una:.2f}."
assert abs(cuatro - una) < 1e-3 * una, (
    f"La pérdida es un promedio sobre el lote: cuatro copias de una imagen deberían dar {una:.2f} "
    f"(lo que da la imagen sola); dan {cuatro:.2f}.")
### BEGIN HIDDEN TESTS
_observador.observar("test_vae_loss_valor", globals())
### END HIDDEN TESTS

# %% [markdown]
# Compruebe su pérdida con semilla fija (esta celda no se califica). Con
# `tf.keras.utils.set_random_seed(5)` los pesos iniciales son siempre los mismos. La celda
# separa su pérdida en sus dos términos, en cuatro caras reales, y los compara con los de una
# solución correcta:
#
# * Un codificador recién creado da medias y log-varianzas casi 0, y con ellas un KL casi 0: no
#   se vería si su pérdida lo calcula. Por eso sumamos $(2, -1)$ a sus medias y tomamos
#   log-varianzas 0 y ruido $\varepsilon = 0$: así el KL estimado con una muestra y la forma
#   cerrada dan el mismo número, cerca de $\tfrac12(2^2 + 1^2) = 2.5$ nats por imagen.
# * La reconstrucción queda cerca de $4096 \ln 2 \approx 2839$ nats: un decoder sin entrenar
#   duda en cada píxel.

# %% nbgrader={"grade": false, "grade_id": "perdida_con_semilla", "locked": true, "schema_version": 3, "solution": false, "task": false} tags=["nbval-check-output"]
tf.keras.utils.set_random_seed(5)
encoder_test = build_encoder(2)
decoder_test = build_decoder(2)

entrada = tf.keras.Input(shape=(64, 64, 1))
z_mean, z_log_var = encoder_test(entrada)
encoder_desplazado = tf.keras.Model(entrada, [z_mean + np.float32([2.0, -1.0]), z_log_var * 0.0])
reconstruccion, kl = reconstruccion_y_kl(encoder_desplazado, decoder_test, X[:4], eps=0.0)

# (término, su valor, el de una solución correcta, tolerancia)
for termino, valor, correcto, tolerancia in [("reconstrucción", reconstruccion, 2839.4, 0.1),
                                              ("KL", kl, 2.50, 0.01)]:
    veredicto = "bien" if abs(valor - correcto) <= tolerancia else "NO coincide"
    print(f"{termino:>14}: {valor:7.2f} nats  (solución correcta: {correcto:.2f} ± "
          f"{tolerancia:.2f})  {veredicto}")

# %% [markdown]
# ## Parte 5. Entrenamiento (15 puntos)
#
# Complete `train_vae(encoder, decoder, train_dataset, epochs)`: entrena el VAE y devuelve
# `(encoder, decoder)`.
#
# Condiciones:
#
# 1. Cree **dentro de la función** un optimizador `tf.keras.optimizers.Adam` con tasa de
#    aprendizaje `1e-3`.
# 2. En cada lote de `train_dataset`, calcule `vae_loss` dentro de un `tf.GradientTape`, obtenga
#    los gradientes respecto a las variables entrenables del encoder **y** del decoder, y
#    aplíquelos con el optimizador: una actualización por lote.
# 3. Recorra `train_dataset` durante `epochs` épocas.
#
# **Consejo (opcional).** Si pone el paso de un lote en una función decorada con `@tf.function`,
# TensorFlow la compila en un grafo la primera vez y el entrenamiento se acelera mucho: en las
# máquinas del curso (2 núcleos), una época de la vitrina, en lotes de 8 caras, tarda unos
# 3.9 s sin `@tf.function` y unos 0.65 s con ella: unas 6 veces más rápido. El
# optimizador se crea en `train_vae` (condición 1), **antes** de definir el paso decorado, no
# dentro de él: una función `@tf.function` no debe crear variables nuevas cada vez que se
# llama.
#
# Las pruebas de esta parte cambian `vae_loss` por una pérdida propia, sencilla, para ver los
# pasos de Adam sin depender de su parte 4: por eso `train_vae` debe llamar a la función global
# `vae_loss` por su nombre.

# %% nbgrader={"grade": false, "grade_id": "train_vae", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_vae(encoder, decoder, train_dataset, epochs):
    ### BEGIN SOLUTION
    optimizer = tf.keras.optimizers.Adam(1e-3)
    variables = encoder.trainable_variables + decoder.trainable_variables

    @tf.function(reduce_retracing=True)
    def train_step(x):
        with tf.GradientTape() as tape:
            loss = vae_loss(encoder, decoder, x)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

    for _ in range(epochs):
        for x in train_dataset:
            train_step(x)
    ### END SOLUTION
    return encoder, decoder

# %% nbgrader={"grade": true, "grade_id": "test_train_vae_actualiza", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# Actualiza los pesos del encoder y del decoder.
encoder_j, decoder_j = modelos_de_juguete()
antes_encoder, antes_decoder = pesos_planos(encoder_j), pesos_planos(decoder_j)
datos = tf.data.Dataset.from_tensor_slices(X_prueba[:8]).batch(4)
encoder_j, decoder_j = entrenar_con_perdida_de_juguete(encoder_j, decoder_j, datos, 1)
assert (pesos_planos(encoder_j) != antes_encoder).any(), (
    "Tras una época los pesos del encoder no cambiaron.")
assert (pesos_planos(decoder_j) != antes_decoder).any(), (
    "Tras una época los pesos del decoder no cambiaron.")
### BEGIN HIDDEN TESTS
_observador.observar("test_train_vae_actualiza", globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_train_vae_adam", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
# Usa Adam con tasa de aprendizaje 1e-3 y devuelve (encoder, decoder): el primer paso de Adam
# mueve cada peso que cambia unos 1e-3 (la tasa de aprendizaje), sea cual sea su gradiente.
# Al calificar, además: los pesos tras varios pasos, frente a los de Adam(1e-3).
encoder_j, decoder_j = modelos_de_juguete()
antes = pesos_planos(decoder_j)
datos = tf.data.Dataset.from_tensor_slices(X_prueba[:4]).batch(4)
resultado = entrenar_con_perdida_de_juguete(encoder_j, decoder_j, datos, 1)
assert isinstance(resultado, tuple) and len(resultado) == 2, (
    f"train_vae debe devolver la tupla (encoder, decoder); devolvió {type(resultado).__name__}.")
paso = np.abs(pesos_planos(decoder_j) - antes).max()
assert abs(paso - 1e-3) < 2e-4, (
    f"Tras un lote, el paso más grande de un peso debería ser de unos 1e-3 (el primer paso de "
    f"Adam con tasa 1e-3); fue {paso:.1e}.")
### BEGIN HIDDEN TESTS
_observador.observar("test_train_vae_adam", globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_train_vae_pasos", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
# Una actualización por lote durante epochs épocas: con epochs=0 no cambia nada, y con dos
# lotes y una época Adam da dos pasos (el peso que más se mueve, unos 2e-3). Al calificar,
# además: los pesos tras varias épocas, frente a los de la referencia.
encoder_j, decoder_j = modelos_de_juguete()
antes = pesos_planos(decoder_j)
datos = tf.data.Dataset.from_tensor_slices(X_prueba[:8]).batch(4)  # dos lotes
encoder_j, decoder_j = entrenar_con_perdida_de_juguete(encoder_j, decoder_j, datos, 0)
assert (pesos_planos(decoder_j) == antes).all(), "Con epochs=0 los pesos no deben cambiar."
encoder_j, decoder_j = entrenar_con_perdida_de_juguete(encoder_j, decoder_j, datos, 1)
paso = np.abs(pesos_planos(decoder_j) - antes).max()
assert paso > 1.5e-3, (
    "Con dos lotes y una época deberían darse dos pasos de Adam (una actualización por lote): "
    f"el peso que más se movió lo hizo {paso:.1e}, lo que da un solo paso.")
### BEGIN HIDDEN TESTS
_observador.observar("test_train_vae_pasos", globals())
### END HIDDEN TESTS

# %% [markdown]
# ## Parte 6. Reconstruir caras (10 puntos)
#
# Complete `reconstruct_faces(encoder, decoder, test_image)`: devuelve la cara reconstruida,
# un `tf.Tensor` con la misma forma que `test_image`. Debe servir para una imagen
# `(1, 64, 64, 1)` y para un lote `(n, 64, 64, 1)`.
#
# Condiciones:
#
# 1. Use las funciones anteriores.
# 2. Con el codificador obtenga la media y la log-varianza de $q(z \mid x)$.
# 3. Con `reparameterize` tome una muestra latente $z$.
# 4. Decodifique $z$ y aplique `tf.sigmoid` para llevar los logits a píxeles entre 0 y 1.
#
# Aquí se **muestrea** $z$ porque así reconstruye el modelo probabilístico: dos llamadas dan
# caras ligeramente distintas. Más abajo, para medir el error frente a PCA, se decodifica la
# media $\mu(x)$: la reconstrucción más probable, sin ruido, que es lo comparable con PCA.

# %% nbgrader={"grade": false, "grade_id": "reconstruct_faces", "locked": false, "schema_version": 3, "solution": true, "task": false}
def reconstruct_faces(encoder, decoder, test_image):
    ### BEGIN SOLUTION
    mean, logvar = encoder(test_image)
    z = reparameterize(mean, logvar)
    reconstructed_face = tf.sigmoid(decoder(z))
    ### END SOLUTION
    return reconstructed_face

# %% nbgrader={"grade": true, "grade_id": "test_reconstruct_faces_forma", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Misma forma que la entrada, para una imagen y para un lote.
encoder_j, decoder_j = modelos_de_juguete()
for cantidad in (1, 3):
    forma = tuple(reconstruct_faces(encoder_j, decoder_j, X_prueba[:cantidad]).shape)
    assert forma == (cantidad, 64, 64, 1), (
        f"Para una entrada ({cantidad}, 64, 64, 1) se esperaba la misma forma; se obtuvo {forma}.")
### BEGIN HIDDEN TESTS
_observador.observar("test_reconstruct_faces_forma", globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_reconstruct_faces_valores", "locked": true, "points": 7, "schema_version": 3, "solution": false, "task": false}
# Píxeles entre 0 y 1: sigmoid(decoder(reparameterize(encoder(imagen)))), con la media y la
# log-varianza del encoder. Al calificar, además: los valores con otros modelos y ruido.
encoder_j, decoder_j = modelos_de_juguete()
with ruido_fijo() as llamadas:
    cara = reconstruct_faces(encoder_j, decoder_j, X_prueba[:2]).numpy()
assert cara.min() >= 0 and cara.max() <= 1, (
    f"Los píxeles deben estar entre 0 y 1; van de {cara.min():.2f} a {cara.max():.2f}.")
media, log_varianza = (np.array(t) for t in encoder_j(X_prueba[:2]))
assert len(llamadas) == 1 and np.allclose(llamadas[0][0], media, atol=1e-5) and np.allclose(
    llamadas[0][1], log_varianza, atol=1e-5), (
    "reconstruct_faces debe tomar z con reparameterize(media, log-varianza del encoder): "
    f"se llamó {len(llamadas)} veces, o con otros argumentos.")
### BEGIN HIDDEN TESTS
_observador.observar("test_reconstruct_faces_valores", globals())
### END HIDDEN TESTS

# %% [markdown]
# ## Parte 7. Transformar una cara en otra (15 puntos)
#
# Complete `face_interpolation(encoder, decoder, face1, face2, num_steps)`: devuelve una
# **lista** de `num_steps` caras que van de `face1` a `face2`.
#
# Condiciones:
#
# 1. Use las funciones anteriores.
# 2. Codifique `face1` y `face2`: obtiene $(\mu_1, \log\sigma^2_1)$ y $(\mu_2, \log\sigma^2_2)$.
# 3. Para cada $\alpha$ de `np.linspace(0, 1, num_steps)` interpole linealmente **la media y
#    la log-varianza**:
#
# $$\mu_\alpha = (1 - \alpha)\,\mu_1 + \alpha\,\mu_2, \qquad
#   \log\sigma^2_\alpha = (1 - \alpha)\,\log\sigma^2_1 + \alpha\,\log\sigma^2_2.$$
#
# 4. Con cada pareja $(\mu_\alpha, \log\sigma^2_\alpha)$ reconstruya una cara como en la
#    parte 6: `reparameterize`, `decoder` y `tf.sigmoid`.
# 5. Guarde las caras en orden en una lista: la primera sale de `face1` ($\alpha = 0$) y la
#    última de `face2` ($\alpha = 1$).

# %% nbgrader={"grade": false, "grade_id": "face_interpolation", "locked": false, "schema_version": 3, "solution": true, "task": false}
def face_interpolation(encoder, decoder, face1, face2, num_steps):
    ### BEGIN SOLUTION
    mean1, logvar1 = encoder(face1)
    mean2, logvar2 = encoder(face2)
    faces = []
    for alpha in np.linspace(0, 1, num_steps):
        alpha = float(alpha)
        mean = mean1 * (1 - alpha) + mean2 * alpha
        logvar = logvar1 * (1 - alpha) + logvar2 * alpha
        z = reparameterize(mean, logvar)
        faces.append(tf.sigmoid(decoder(z)))
    ### END SOLUTION
    return faces

# %% nbgrader={"grade": true, "grade_id": "test_face_interpolation_lista", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Devuelve una lista de num_steps caras de 64x64.
encoder_j, decoder_j = modelos_de_juguete()
caras = face_interpolation(encoder_j, decoder_j, X_prueba[:1], X_prueba[1:2], 5)
assert isinstance(caras, list) and len(caras) == 5, (
    f"Con num_steps=5 se esperaba una lista de 5 caras; se obtuvo {type(caras).__name__} de "
    f"longitud {len(caras)}.")
assert all(np.size(cara) == 64 * 64 for cara in caras), (
    f"Cada cara debe tener 64x64 píxeles; las formas son {[np.shape(c) for c in caras]}.")
### BEGIN HIDDEN TESTS
_observador.observar("test_face_interpolation_lista", globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_face_interpolation_extremos", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
# La primera cara sale de face1 y la última de face2: el primer z se toma con la media de
# face1 y el último con la de face2. Al calificar, además: los valores de esas caras.
encoder_j, decoder_j = modelos_de_juguete()
with ruido_fijo() as llamadas:
    caras = face_interpolation(encoder_j, decoder_j, X_prueba[:1], X_prueba[1:2], 3)
assert (np.asarray(caras[0]) != np.asarray(caras[-1])).any(), (
    "La primera y la última cara son iguales: deberían venir de face1 y de face2.")
medias = np.concatenate([np.reshape(m, (-1, 2)) for m, _ in llamadas] or [np.zeros((0, 2))])
(m1, m2), _ = (np.array(t) for t in encoder_j(X_prueba[:2]))
assert len(medias) >= 2 and np.allclose(medias[0], m1, atol=1e-5) and np.allclose(
    medias[-1], m2, atol=1e-5), (
    "Con reparameterize, la primera cara debe salir de la media de face1 y la última de la de "
    "face2 (alfa de 0 a 1).")
### BEGIN HIDDEN TESTS
_observador.observar("test_face_interpolation_extremos", globals())
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_face_interpolation_latente", "locked": true, "points": 7, "schema_version": 3, "solution": false, "task": false}
# Interpola en el espacio latente (media y log-varianza), no mezclando píxeles: con 3 pasos, la
# cara del medio sale de la media y la log-varianza promedio de las dos caras. Al calificar,
# además: los valores de cada cara con otros modelos y ruido.
encoder_j, decoder_j = modelos_de_juguete()
with ruido_fijo() as llamadas:
    caras = face_interpolation(encoder_j, decoder_j, X_prueba[:1], X_prueba[1:2], 3)
valores = [float(np.min(cara)) for cara in caras] + [float(np.max(cara)) for cara in caras]
assert min(valores) >= 0 and max(valores) <= 1, (
    "Cada cara debe ser una reconstrucción con tf.sigmoid: píxeles entre 0 y 1.")
(m1, m2), (v1, v2) = (np.array(t) for t in encoder_j(X_prueba[:2]))  # medias, log-varianzas
medias = np.concatenate([np.reshape(m, (-1, 2)) for m, _ in llamadas] or [np.zeros((0, 2))])
log_varianzas = np.concatenate([np.reshape(v, (-1, 2)) for _, v in llamadas] or [np.zeros((0, 2))])
assert any(np.allclose(m, (m1 + m2) / 2, atol=1e-5) for m in medias), (
    "La cara del medio debe salir, con reparameterize, de la media promedio de las dos caras.")
assert any(np.allclose(v, (v1 + v2) / 2, atol=1e-5) for v in log_varianzas), (
    "Interpole también la log-varianza: la cara del medio sale de la log-varianza promedio.")
### BEGIN HIDDEN TESTS
_observador.observar("test_face_interpolation_latente", globals())
### END HIDDEN TESTS

# %% [markdown]
# ## Vitrina: su VAE con las caras Olivetti
#
# Ahora juntamos sus siete funciones: dividimos los datos, construimos un VAE con un espacio
# latente de 8 dimensiones y lo entrenamos 50 épocas en lotes de 8 caras: con solo 320 fotos
# de entrenamiento, los lotes pequeños dan más actualizaciones por época y el modelo aprende
# antes. Esta parte no se califica: al calificar no se ejecuta, y al validar
# (`EN_CALIFICACION`) no entrena ni dibuja, para que la validación sea rápida; en su máquina
# entrena del todo.
#
# **Qué esperar** (medido con la solución de referencia en las máquinas del curso, 2 núcleos):
#
# | duración | con `@tf.function` | sin `@tf.function` |
# |---|---|---|
# | una época (40 lotes de 8) | 0.65 s | 3.9 s |
# | las 50 épocas de la vitrina (10 llamadas a `train_vae`, que compila su paso en cada una) | cerca de 1 min | unos 3 min 20 s |
#
# Tras las 50 épocas, en las 80 caras de prueba, la reconstrucción ronda 2630 nats por imagen
# y el KL 13 nats, y el error cuadrático medio por píxel ronda **0.006** con el VAE, frente a
# **0.0074** con PCA y **0.018** con la cara promedio (la última sección los calcula con su
# modelo).

# %% nbgrader={"grade": false, "grade_id": "vitrina_entrenamiento", "locked": true, "schema_version": 3, "solution": false, "task": false}
import time

LATENT_DIM = 8
EPOCAS = 0 if EN_CALIFICACION else 50
EPOCAS_POR_BLOQUE = 5

train_dataset, _ = data_generator(X, test_size=0.2, batch_size=8)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)

tf.keras.utils.set_random_seed(1)
encoder = build_encoder(LATENT_DIM)
decoder = build_decoder(LATENT_DIM)

# Cada término de la pérdida se mide siempre con el mismo ruido: así la curva muestra lo que
# cambia el modelo, no el azar de cada muestra.
ruido = {nombre: np.random.default_rng(0).standard_normal((len(imagenes), LATENT_DIM))
         .astype("float32") for nombre, imagenes in [("entrenamiento", X_train),
                                                     ("prueba", X_test)]}
historia = {"época": [], "reconstrucción": {"entrenamiento": [], "prueba": []},
            "KL": {"entrenamiento": [], "prueba": []}}

# Entrenamos por bloques de épocas para medir la pérdida a lo largo del entrenamiento.
segundos = 0.0
for epoca in range(EPOCAS_POR_BLOQUE, EPOCAS + 1, EPOCAS_POR_BLOQUE):
    inicio = time.perf_counter()
    encoder, decoder = train_vae(encoder, decoder, train_dataset, EPOCAS_POR_BLOQUE)
    segundos += time.perf_counter() - inicio
    historia["época"].append(epoca)
    for conjunto, imagenes in [("entrenamiento", X_train), ("prueba", X_test)]:
        reconstruccion, kl = reconstruccion_y_kl(encoder, decoder, imagenes, ruido[conjunto])
        historia["reconstrucción"][conjunto].append(reconstruccion)
        historia["KL"][conjunto].append(kl)
if historia["época"]:
    print(f"{EPOCAS} épocas en {segundos:.0f} s. Nats por imagen de prueba: reconstrucción "
          f"{historia['reconstrucción']['prueba'][-1]:.1f}, KL {historia['KL']['prueba'][-1]:.1f}")

# %% nbgrader={"grade": false, "grade_id": "vitrina_curva", "locked": true, "schema_version": 3, "solution": false, "task": false}
def dibujar_curvas(historia):
    """Los dos términos de la pérdida a lo largo del entrenamiento (al validar no dibuja)."""
    if EN_CALIFICACION:
        return
    figura, ejes = plt.subplots(1, 2, figsize=(11, 3.8))
    for eje, termino in zip(ejes, ["reconstrucción", "KL"]):
        for conjunto, marca in [("entrenamiento", "o-"), ("prueba", "s-")]:
            eje.plot(historia["época"], historia[termino][conjunto], marca, label=conjunto)
        eje.set_xlabel("época")
        eje.set_ylabel("nats por imagen")
        eje.set_title(f"Término de {termino}")
        eje.grid(alpha=0.3)
        eje.legend()
    figura.suptitle("Curvas de entrenamiento del VAE: la pérdida es la suma de los dos términos")
    figura.tight_layout()
    final = {termino: historia[termino]["prueba"][-1] for termino in ["reconstrucción", "KL"]}
    mostrar_figura(figura, "Dos gráficas de la pérdida, en nats por imagen, a lo largo de las "
                   f"{historia['época'][-1]} épocas, en entrenamiento y en prueba: a la izquierda "
                   "el término de reconstrucción, que baja deprisa y luego despacio; a la derecha "
                   "el KL, que sube desde casi 0. Al final, en prueba: reconstrucción "
                   f"{final['reconstrucción']:.0f} y KL {final['KL']:.0f}.")


dibujar_curvas(historia)

# %% [markdown]
# La reconstrucción baja deprisa y luego despacio: recuerde que nunca llega a cero con píxeles
# grises. El KL, en cambio, **sube** desde casi 0: al principio los códigos no dicen nada de la
# cara ($q(z \mid x) \approx p(z)$); para reconstruir mejor, el codificador tiene que guardar
# información en $z$, y cada nat de información cuesta un nat de KL.

# %% [markdown]
# ### Reconstrucciones de caras que el modelo no vio
#
# Arriba, caras del conjunto de prueba; abajo, lo que el VAE reconstruye a partir de su código
# de 8 números.

# %% nbgrader={"grade": false, "grade_id": "vitrina_reconstrucciones", "locked": true, "schema_version": 3, "solution": false, "task": false}
originales = X_test[:8]
reconstruidas = reconstruct_faces(encoder, decoder, originales).numpy()
mostrar_caras(np.concatenate([originales, reconstruidas]), titulo="Caras de prueba y sus "
              "reconstrucciones", filas=["original", "reconstruida"],
              descripcion="Dos filas de ocho caras: arriba, ocho fotos del conjunto de prueba; "
              "abajo, debajo de cada una, lo que el VAE reconstruye de ella: la misma cara y la "
              "misma pose, más borrosa.")

# %% [markdown]
# ### De una persona a otra
#
# Interpolamos en el espacio latente entre dos personas distintas del conjunto de prueba. En
# los extremos, las dos fotos; en medio, lo que el decoder dibuja a lo largo del camino.

# %% nbgrader={"grade": false, "grade_id": "vitrina_interpolacion", "locked": true, "schema_version": 3, "solution": false, "task": false}
i = 0
j = int(np.flatnonzero(y_test != y_test[i])[0])
pasos = face_interpolation(encoder, decoder, X_test[i:i + 1], X_test[j:j + 1], 8)
tira = np.concatenate([X_test[i:i + 1], *[np.asarray(cara) for cara in pasos], X_test[j:j + 1]])
mostrar_caras(tira, [f"foto: persona {y_test[i]}"] + [""] * 8 + [f"foto: persona {y_test[j]}"],
              f"De la persona {y_test[i]} a la persona {y_test[j]}", columnas=10,
              pie="en medio, decodificadas de izquierda a derecha con α = 0, 1/7, 2/7, …, 1",
              descripcion=f"Tira de diez caras: a la izquierda, la foto de la persona {y_test[i]}; "
              f"a la derecha, la de la persona {y_test[j]}; en medio, ocho caras decodificadas "
              "que pasan poco a poco de la primera a la segunda.")

# %% [markdown]
# ### Caras nuevas
#
# Como el término KL acerca los códigos a $\mathcal{N}(0, I)$, podemos tomar $z$ al azar de
# esa distribución y decodificarlo: son caras que no están en los datos.

# %% nbgrader={"grade": false, "grade_id": "vitrina_muestras", "locked": true, "schema_version": 3, "solution": false, "task": false}
tf.keras.utils.set_random_seed(7)
z_nuevos = tf.random.normal((16, LATENT_DIM))
mostrar_caras(tf.sigmoid(decoder(z_nuevos)).numpy(), None,
              "Caras generadas con z ~ N(0, I)",
              descripcion="Rejilla de dieciséis caras nuevas, en dos filas de ocho, que el decoder "
              "dibuja a partir de códigos z tomados al azar: caras de frente verosímiles y "
              "borrosas que no están en los datos.")

# %% [markdown]
# ### ¿Mejor que las *eigenfaces*?
#
# El análisis de componentes principales (PCA) también comprime cada cara en pocos números: es
# el método clásico de las *eigenfaces*. Comparamos, en las caras de prueba, el error cuadrático
# medio por píxel de tres reconstrucciones con el mismo tamaño de código: la cara promedio
# (código vacío), PCA con 8 componentes y el VAE (decodificando la media $\mu(x)$, sin ruido).

# %% nbgrader={"grade": false, "grade_id": "vitrina_pca", "locked": true, "schema_version": 3, "solution": false, "task": false}
planos_train = X_train.reshape(len(X_train), -1)
planos_test = X_test.reshape(len(X_test), -1)
pca = PCA(n_components=LATENT_DIM).fit(planos_train)
reconstruidas_pca = pca.inverse_transform(pca.transform(planos_test))
reconstruidas_vae = tf.sigmoid(decoder(encoder(X_test)[0])).numpy().reshape(len(X_test), -1)

errores = {
    "cara promedio": np.mean((planos_test - planos_train.mean(axis=0)) ** 2),
    f"PCA ({LATENT_DIM} componentes)": np.mean((planos_test - reconstruidas_pca) ** 2),
    f"VAE (latente {LATENT_DIM})": np.mean((planos_test - reconstruidas_vae) ** 2),
}
for nombre, error in errores.items():
    print(f"MSE en prueba, {nombre:>18}: {error:.4f}")

mostrar_caras(np.concatenate([planos_test[:8], reconstruidas_pca[:8], reconstruidas_vae[:8]]),
              titulo=f"Originales, PCA y VAE con códigos de {LATENT_DIM} números",
              filas=["original", "PCA", "VAE"],
              descripcion=f"Tres filas de ocho caras de prueba: arriba las fotos originales, en "
              f"medio su reconstrucción con PCA de {LATENT_DIM} componentes y abajo la del VAE. "
              "Error cuadrático medio por píxel: " + "; ".join(
                  f"{nombre}, {error:.4f}" for nombre, error in errores.items()) + ".")
