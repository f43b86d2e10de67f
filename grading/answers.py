"""Student answers used by the demo grading and by the fairness tests.

An answer is the code of one solution cell, keyed by the cell's grade_id (the function name).
`master_solutions()` are the master notebook's own solutions; `ALTERNATIVE` are correct
answers written differently (other APIs, closed-form KL, eager training, ...); `WRONG` breaks one
condition each. A wrong answer is written as an edit of the master solution where that keeps it
readable: `Wrong(part, name, old, new)` replaces `old` (which must occur) by `new`.
"""
import ast
import dataclasses
import re

import nbformat

from grading import ROOT

MASTER = ROOT / "source" / "vae_olivetti" / "vae_olivetti.ipynb"
PARTS = ("data_generator", "build_encoder", "build_decoder", "vae_loss", "train_vae",
         "reconstruct_faces", "face_interpolation")


def master_solutions():
    """The master notebook's solution cells, without nbgrader's solution delimiters."""
    notebook = nbformat.read(MASTER, as_version=4)
    return {cell.metadata["nbgrader"]["grade_id"]: re.sub(r"\n *### (BEGIN|END) SOLUTION", "",
                                                          cell.source)
            for cell in notebook.cells
            if cell.metadata.get("nbgrader", {}).get("solution")}


ALTERNATIVE = {
    "data_generator": '''\
def data_generator(X, test_size, batch_size):
    from sklearn.model_selection import train_test_split as dividir
    np.random.seed(0)
    tf.keras.utils.set_random_seed(0)
    entrenamiento, prueba = dividir(X, test_size=test_size, random_state=42)
    crear = tf.data.Dataset.from_tensor_slices
    train_dataset = crear(entrenamiento).shuffle(len(entrenamiento)).batch(batch_size)
    test_dataset = crear(prueba).shuffle(len(prueba)).batch(batch_size)
    return train_dataset, test_dataset
''',
    "build_encoder": '''\
from tensorflow.keras import layers

def build_encoder(latent_dim):
    entrada = tf.keras.Input((64, 64, 1))
    h = entrada
    for filtros, k in [(16, 5), (32, 3), (64, 3), (128, 3)]:
        h = layers.Conv2D(filtros, k, strides=2, padding="same", activation=tf.nn.relu)(h)
    h = layers.Flatten()(h)
    log_var = layers.Dense(latent_dim)(h)   # creada primero: el orden no importa
    media = layers.Dense(latent_dim)(h)
    return tf.keras.Model(inputs=entrada, outputs=[media, log_var])
''',
    "build_decoder": '''\
from tensorflow.keras import layers

def build_decoder(latent_dim):
    return tf.keras.Sequential([
        layers.Input(shape=(latent_dim,)),
        layers.Dense(2048, activation="relu"),
        layers.Reshape((4, 4, 128)),
        layers.Conv2DTranspose(128, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(16, 5, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(1, 3, padding="same"),
    ])
''',
    "vae_loss": '''\
def vae_loss(encoder, decoder, x):
    media, log_var = encoder(x)
    z = reparameterize(media, log_var)
    logits = decoder(z)
    # Bernoulli escrita a mano y KL en forma cerrada
    log_p = x * tf.math.log_sigmoid(logits) + (1 - x) * tf.math.log_sigmoid(-logits)
    reconstruccion = -tf.reduce_sum(tf.reshape(log_p, [tf.shape(x)[0], -1]), axis=1)
    kl = -0.5 * tf.reduce_sum(1 + log_var - media ** 2 - tf.exp(log_var), axis=1)
    return tf.reduce_mean(reconstruccion + kl)
''',
    "train_vae": '''\
def train_vae(encoder, decoder, train_dataset, epochs):
    opt = tf.keras.optimizers.Adam(learning_rate=0.001)
    for epoca in range(epochs):
        for lote in train_dataset:
            with tf.GradientTape() as tape:
                perdida = vae_loss(encoder, decoder, lote)
            pesos = encoder.trainable_weights + decoder.trainable_weights
            gradientes = tape.gradient(perdida, pesos)
            opt.apply_gradients(zip(gradientes, pesos))
    return encoder, decoder
''',
    "reconstruct_faces": '''\
def reconstruct_faces(encoder, decoder, test_image):
    z = reparameterize(*encoder(test_image))
    return tf.nn.sigmoid(decoder(z))
''',
    "face_interpolation": '''\
def face_interpolation(encoder, decoder, face1, face2, num_steps):
    # Todas las caras en un solo lote, con alfas calculados a mano
    m1, v1 = encoder(face1)
    m2, v2 = encoder(face2)
    alfas = tf.reshape([k / max(num_steps - 1, 1) for k in range(num_steps)], (-1, 1))
    medias = m1 + alfas * (m2 - m1)
    log_vars = v1 + alfas * (v2 - v1)
    caras = tf.sigmoid(decoder(reparameterize(medias, log_vars)))
    return [caras[k:k + 1] for k in range(num_steps)]
''',
}


@dataclasses.dataclass(frozen=True)
class Wrong:
    part: str
    name: str
    old: str
    new: str

    def code(self, solutions):
        code = solutions[self.part]
        if self.old not in code:
            raise ValueError(f"{self.part}/{self.name}: {self.old!r} is not in the master solution")
        return code.replace(self.old, self.new)


WRONG = [
    Wrong("data_generator", "split with random_state=0",
          "random_state=42", "random_state=0"),
    Wrong("data_generator", "batch before shuffle",
          "train_dataset.shuffle(buffer_size=1000).batch(batch_size)",
          "train_dataset.batch(batch_size).shuffle(buffer_size=1000)"),
    Wrong("data_generator", "no seeds",
          "np.random.seed(0)\n    tf.keras.utils.set_random_seed(0)", "pass"),
    Wrong("build_encoder", "second Conv2D with a 5x5 kernel",
          "Conv2D(32, (3, 3)", "Conv2D(32, (5, 5)"),
    Wrong("build_encoder", "relu on the Dense heads",
          'Dense(latent_dim, name="z_log_var")', 'Dense(latent_dim, name="z_log_var", activation="relu")'),
    Wrong("build_encoder", "z_log_var fed by z_mean",
          'Dense(latent_dim, name="z_log_var")(x)', 'Dense(latent_dim, name="z_log_var")(z_mean)'),
    Wrong("build_decoder", "last layer on the third Conv2DTranspose (the statement's version)",
          'x = tf.keras.layers.Conv2DTranspose(16, (5, 5), strides=(2, 2), padding="same", '
          'activation="relu")(x)\n    x = tf.keras.layers.Conv2DTranspose(1, (3, 3), padding="same")(x)',
          'y = tf.keras.layers.Conv2DTranspose(16, (5, 5), strides=(2, 2), padding="same", '
          'activation="relu")(x)\n    x = tf.keras.layers.Conv2DTranspose(1, (3, 3), padding="same")(x)'),
    Wrong("build_decoder", "sigmoid on the last layer",
          'Conv2DTranspose(1, (3, 3), padding="same")', 'Conv2DTranspose(1, (3, 3), padding="same", activation="sigmoid")'),
    Wrong("build_decoder", "Dense without relu",
          'Dense(4 * 4 * 128, activation="relu")', "Dense(4 * 4 * 128)"),
    Wrong("vae_loss", "the statement's adjusted loss (Gaussian term, broadcast logvar)",
          "cross_ent = tf.nn.sigmoid_cross_entropy_with_logits(logits=x_logit, labels=x)\n"
          "    logpx_z = -tf.reduce_sum(cross_ent, axis=[1, 2, 3])\n"
          "    logpz = log_normal_pdf(z, 0., 0.)\n"
          "    logqz_x = log_normal_pdf(z, mean, logvar)\n"
          "    loss = -tf.reduce_mean(logpx_z + logpz - logqz_x)",
          "reconstruction_loss = -tf.reduce_mean(log_normal_pdf(x, x_logit, tf.zeros_like(logvar)))\n"
          "    kl_loss = -0.5 * tf.reduce_mean(tf.reduce_sum(1 + logvar - tf.square(mean) - tf.exp(logvar), axis=1))\n"
          "    loss = reconstruction_loss + kl_loss"),
    Wrong("vae_loss", "no KL term", "logpx_z + logpz - logqz_x", "logpx_z"),
    Wrong("vae_loss", "sum over the batch instead of mean",
          "-tf.reduce_mean(logpx_z + logpz - logqz_x)", "-tf.reduce_sum(logpx_z + logpz - logqz_x)"),
    Wrong("train_vae", "learning rate 1e-4", "Adam(1e-3)", "Adam(1e-4)"),
    Wrong("train_vae", "only the decoder is trained",
          "variables = encoder.trainable_variables + decoder.trainable_variables",
          "variables = decoder.trainable_variables"),
    Wrong("train_vae", "one update per epoch (last batch only)",
          "        for x in train_dataset:\n            train_step(x)",
          "        for x in train_dataset:\n            pass\n        train_step(x)"),
    Wrong("reconstruct_faces", "no sigmoid", "tf.sigmoid(decoder(z))", "decoder(z)"),
    Wrong("reconstruct_faces", "decodes the mean", "z = reparameterize(mean, logvar)", "z = mean"),
    Wrong("reconstruct_faces", "z_mean used as log-variance",
          "z = reparameterize(mean, logvar)", "z = reparameterize(mean, mean)"),
    Wrong("face_interpolation", "blends pixels instead of latent codes",
          "        mean = mean1 * (1 - alpha) + mean2 * alpha\n"
          "        logvar = logvar1 * (1 - alpha) + logvar2 * alpha\n"
          "        z = reparameterize(mean, logvar)\n"
          "        faces.append(tf.sigmoid(decoder(z)))",
          "        cara1 = tf.sigmoid(decoder(reparameterize(mean1, logvar1)))\n"
          "        cara2 = tf.sigmoid(decoder(reparameterize(mean2, logvar2)))\n"
          "        faces.append(cara1 * (1 - alpha) + cara2 * alpha)"),
    Wrong("face_interpolation", "log-variance not interpolated",
          "logvar = logvar1 * (1 - alpha) + logvar2 * alpha", "logvar = logvar1"),
    Wrong("face_interpolation", "from face2 to face1",
          "np.linspace(0, 1, num_steps)", "np.linspace(1, 0, num_steps)"),
]

# The demo's partly wrong student copied two of the statement's defects.
PARTLY_WRONG = ("last layer on the third Conv2DTranspose (the statement's version)",
                "the statement's adjusted loss (Gaussian term, broadcast logvar)")


def wrong(name):
    return next(answer for answer in WRONG if answer.name == name)


class _Renamer(ast.NodeTransformer):
    """Gives every name the code binds (arguments, variables, helper functions) a new one."""

    def __init__(self, kept):
        self.kept, self.names = kept, {}

    def renamed(self, name):
        if name in self.kept or name in self.names.values():
            return name
        return self.names.setdefault(name, f"q{len(self.names)}_{name[::-1]}")

    def visit_arg(self, node):
        node.arg = self.renamed(node.arg)
        return node

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Store) or node.id in self.names:
            node.id = self.renamed(node.id)
        return node

    def visit_FunctionDef(self, node):
        node.name = self.renamed(node.name)
        self.generic_visit(node)
        return node


def disguised(answers_by_part):
    """What a student who copied would hand in: every name the code binds changed (but the
    functions the assignment asks for), comments dropped and the code laid out anew by
    `ast.unparse`."""
    disguised_answers = {}
    for part, code in answers_by_part.items():
        tree = ast.parse(code)
        renamer = _Renamer(kept=set(PARTS))
        for _ in range(2):  # the second pass renames the uses that came before the binding
            renamer.visit(tree)
        disguised_answers[part] = ast.unparse(tree)
    return disguised_answers
