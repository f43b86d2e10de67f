"""What a student's kernel sends to the grader, received as data from an attacker.

The kernel runs the student's code, so every message it sends may be forged: signed correctly
(the kernel holds the key) but too large, nested too deep to decode, of the wrong shape or of an
unknown type. nbclient and jupyter_client trust kernel messages; here:

* `MAX_MESSAGE_BYTES`: ZeroMQ drops a larger message before it is read (the socket option
  MAXMSGSIZE on every socket of the grader's kernel client), so a flood never reaches memory;
* `GuardedSession.deserialize`: a message that cannot be decoded, is nested deeper than
  MAX_DEPTH or has the wrong shape becomes an error for the cell it belongs to (when its header
  can be read) or is dropped with a log line; it never raises into nbclient;
* `OutputBudget`: the bytes of output a cell and a notebook may keep, counted as messages
  arrive (grading/sandbox.py cuts the rest, with a Spanish note in the cell).
"""
import json

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.session import Session
from traitlets import default
from traitlets.log import get_logger

MAX_MESSAGE_BYTES = 64 << 20  # a larger part of a message is dropped by ZeroMQ, unread
MAX_DEPTH = 32  # containers inside containers; an honest message needs a few
CELL_BYTES = 1 << 20
NOTEBOOK_BYTES = 10 << 20
OBSERVATION_BYTES = 64 << 20  # the hidden cells' observations (not kept in the notebook)

# Kernel messages whose content nbclient reads: each field it reads and the type it must have
# there; a field marked optional may be missing.
TEXT, NUMBER, LISTING, MAPPING, FLAG = str, (int, type(None)), list, dict, bool
OPTIONAL = {("execute_input", "execution_count"), ("clear_output", "wait")}
SHAPES = {
    "status": {"execution_state": TEXT},
    "stream": {"name": TEXT, "text": TEXT},
    "display_data": {"data": MAPPING, "metadata": MAPPING},
    "update_display_data": {"data": MAPPING, "metadata": MAPPING},
    "execute_result": {"data": MAPPING, "metadata": MAPPING, "execution_count": NUMBER},
    "error": {"ename": TEXT, "evalue": TEXT, "traceback": LISTING},
    "clear_output": {"wait": FLAG},
    "execute_input": {"code": TEXT, "execution_count": NUMBER},
    "execute_reply": {"status": TEXT},
}


def depth_of(value):
    """How deeply containers nest in a decoded JSON value (iteratively: no recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def shape_problem(msg_type, content):
    """None when nbclient can read `content` as a `msg_type` message; otherwise why not."""
    if not isinstance(content, dict):
        return "its content is not an object"
    for field, kind in SHAPES.get(msg_type, {}).items():
        if field not in content:
            if (msg_type, field) not in OPTIONAL:
                return f"it lacks the field {field!r}"
        elif not isinstance(content[field], kind):
            return f"its field {field!r} has the wrong type"
    # Read by nbclient in a message of any type.
    count = content.get("execution_count")
    if not isinstance(count, NUMBER) or isinstance(count, bool):
        return "its execution count is not a number"
    transient = content.get("transient")
    if transient and not (isinstance(transient, dict) and isinstance(
            transient.get("display_id"), (str, type(None)))):
        return "its transient display id is not text"
    for mime, value in (content.get("data") or {}).items():
        text = isinstance(value, str) or (isinstance(value, list) and
                                          all(isinstance(v, str) for v in value))
        if not (text or (isinstance(value, dict) and mime.endswith("json"))):
            return f"its {mime!r} data is neither text nor JSON"
    if msg_type == "error" and not all(isinstance(line, str) for line in content["traceback"]):
        return "its traceback is not text"
    return None


def size_of(content):
    """Bytes of a message's content as the notebook would store it."""
    return len(json.dumps(content, ensure_ascii=False))


class GuardedSession(Session):
    """jupyter_client's Session, for the grader's side of a student's kernel: deserialize never
    raises and never returns what nbclient could not read."""

    student = "?"  # whose kernel, for the log

    def deserialize(self, msg_list, content=True, copy=True):
        try:
            message = super().deserialize(msg_list, content=content, copy=copy)
            problem = None
        except Exception as error:  # RecursionError, bad JSON or UTF-8, a bad signature...
            message, problem = self._salvage(msg_list, copy), f"{type(error).__name__}"
        else:
            if not isinstance(message.get("parent_header"), dict):
                message, problem = self._salvage(msg_list, copy), "a parent header that is not an object"
            elif not content:
                pass
            elif depth_of(message["content"]) > MAX_DEPTH or depth_of(message["metadata"]) > MAX_DEPTH:
                problem = f"content nested deeper than {MAX_DEPTH} levels"
            else:
                problem = shape_problem(message["msg_type"], message["content"])
        if problem is None:
            return message
        get_logger().warning("A message (%s) from the kernel of %s could not be read: %s; it "
                             "fails its cell", message.get("msg_type", "?"), self.student,
                             problem)
        return undecodable(message, problem)

    def _salvage(self, msg_list, copy):
        """The header and parent header of a message that failed to decode, where they can
        be read, so that the failure reaches the cell it belongs to."""
        try:  # msg_list: [signature, header, parent header, metadata, content, buffers...]
            frames = [frame if isinstance(frame, bytes) else frame.bytes
                      for frame in msg_list[1:3]]
            if max(map(len, frames)) > 1 << 16:
                raise ValueError("a header larger than any kernel writes")
            header, parent = map(json.loads, frames)
            if not (isinstance(header, dict) and isinstance(parent, dict)):
                raise ValueError
            if not all(isinstance(parent.get(k, ""), str) for k in ("msg_id",)):
                raise ValueError
            return {"header": header, "msg_type": str(header.get("msg_type", "?")),
                    "parent_header": parent}
        except Exception:
            return {"header": {}, "msg_type": "undecodable", "parent_header": {}}


def undecodable(message, problem):
    """What nbclient gets instead of a message it could not read: an error for its cell (a
    failed reply, if it was one), or, without a parent, a message nbclient ignores."""
    text = (f"MensajeIlegible: el kernel envió un mensaje que la calificación no puede leer "
            f"({problem}); esta celda no cuenta.")
    parent = message.get("parent_header") or {}
    msg_type = str(message.get("msg_type", ""))
    error = {"ename": "MensajeIlegible", "evalue": text, "traceback": [text]}
    header = {"msg_id": "", "msg_type": "error", "username": "", "session": "", "date": None,
              "version": "5.3"}
    if msg_type.endswith("_reply"):
        return {"header": {**header, "msg_type": msg_type}, "msg_id": "", "msg_type": msg_type,
                "parent_header": parent, "metadata": {}, "buffers": [],
                "content": {"status": "error", **error, "execution_count": None}}
    return {"header": header, "msg_id": "", "msg_type": "error" if parent else "undecodable",
            "parent_header": parent, "metadata": {}, "buffers": [], "content": error}


class GuardedKernelClient(AsyncKernelClient):
    """The grader's client of a student's kernel: its sockets drop any message larger than
    MAX_MESSAGE_BYTES before reading it."""

    @default("context")
    def _context_default(self):
        self._created_context = True
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        return context


class OutputBudget:
    """Bytes of output one notebook keeps: CELL_BYTES a cell, NOTEBOOK_BYTES in all; the
    observations of the hidden cells have their own OBSERVATION_BYTES a cell."""

    def __init__(self):
        self.notebook = 0
        self.cells = {}
        self.cut = set()
        self.notebook_full = False

    def admits(self, cell_index, content, observation=False):
        """Whether this output fits; counts it when it does."""
        size = size_of(content)
        key = ("observation", cell_index) if observation else cell_index
        used = self.cells.get(key, 0)
        if used + size > (OBSERVATION_BYTES if observation else CELL_BYTES):
            return False
        if not observation:
            if self.notebook + size > NOTEBOOK_BYTES:
                self.notebook_full = True
                return False
            self.notebook += size
        self.cells[key] = used + size
        return True

    def note_once(self, cell_index):
        """The Spanish note for a cell whose output was cut, the first time only."""
        if cell_index in self.cut:
            return None
        self.cut.add(cell_index)
        limit = (f"el cuaderno escribió más de {NOTEBOOK_BYTES >> 20} MB" if self.notebook_full
                 else f"la celda escribió más de {CELL_BYTES >> 20} MB")
        return f"Salida recortada: {limit}; el resto de su salida no se guarda.\n"
