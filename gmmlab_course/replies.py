"""What comes back from the sandbox, checked and bounded before the grader uses it.

The sandboxed server speaks the protocol, but the student's code runs in the same process and can write anything
to any descriptor it reaches, or replace the server's functions. So every reply is untrusted input: parsed with
bounds (size, nesting, types), and any reply that fails them fails that cell or that test, never the notebook or
the class. What a cell printed and drew is capped per cell and per notebook, and images must be PNGs, so a
submission cannot make its autograded notebook or its feedback page large.
"""

import base64
import binascii
import json

import numpy as np

from gmmlab.grading import wire

MAX_LINE_BYTES = wire.MAX_BYTES  # the longest reply line read at all
MAX_CELL_TEXT = 20_000  # characters of stdout, and of stderr, kept per cell
MAX_NOTEBOOK_TEXT = 200_000  # characters of output kept per notebook
MAX_IMAGE_BYTES = 512 * 2**10  # one PNG
MAX_CELL_IMAGES = 8
MAX_NOTEBOOK_IMAGES = 32
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class BadReply(ValueError):
    """A reply that is not what the protocol allows."""


def parse(line):
    """The reply in one line from the sandbox: a JSON object with an integer ``id``, or BadReply."""
    if len(line) > MAX_LINE_BYTES:
        raise BadReply("a reply longer than the protocol allows")
    try:
        reply = json.loads(line)
    except (ValueError, RecursionError):  # garbage, or nested deep enough to exhaust the parser's stack
        raise BadReply("something that is not a reply") from None
    if not isinstance(reply, dict) or type(reply.get("id")) is not int:
        raise BadReply("something that is not a reply")
    return reply


def _text(value, limit):
    return value[:limit] if isinstance(value, str) else ""


class OutputBudget:
    """What one notebook's cells may still add to the autograded notebook."""

    def __init__(self):
        self.text, self.images = MAX_NOTEBOOK_TEXT, MAX_NOTEBOOK_IMAGES

    def take_text(self, text):
        kept = text[: min(MAX_CELL_TEXT, self.text)]
        self.text -= len(kept)
        if len(kept) < len(text):
            kept += "\n[output cut: a cell keeps at most its first lines when graded]"
        return kept

    def take_image(self, image):
        """The base64 text of a PNG, or None for anything else or beyond the notebook's count."""
        if not isinstance(image, str) or len(image) > MAX_IMAGE_BYTES * 4 // 3 + 4 or self.images <= 0:
            return None
        try:
            data = base64.b64decode(image, validate=True)
        except (binascii.Error, ValueError):
            return None
        if not data.startswith(PNG_SIGNATURE) or len(data) > MAX_IMAGE_BYTES:
            return None
        self.images -= 1
        return image


def cell_result(reply, budget):
    """(stdout, stderr, [PNG images], error or None) of an ``exec`` reply, every field checked and capped."""
    stdout = budget.take_text(_text(reply.get("stdout"), 10 * MAX_CELL_TEXT))
    stderr = budget.take_text(_text(reply.get("stderr"), 10 * MAX_CELL_TEXT))
    images = reply.get("images") if isinstance(reply.get("images"), list) else []
    kept = [image for image in map(budget.take_image, images[:MAX_CELL_IMAGES]) if image is not None]
    error = reply.get("error")
    if error is not None:
        error = error if isinstance(error, dict) else {}
        trace = error.get("traceback") if isinstance(error.get("traceback"), list) else []
        error = {"ename": _text(error.get("ename"), 100) or "Error", "evalue": _text(error.get("evalue"), 4000),
                 "traceback": [_text(line, 2000) for line in trace[:20]]}
    return stdout, stderr, kept, error


def call_value(reply, name):
    """The value a graded function returned, from a ``call`` reply; AssertionError (the test fails) for a failure
    or anything malformed."""
    if reply.get("ok") is not True:
        message = reply.get("message")
        raise AssertionError(message[:4000] if isinstance(message, str) and message else f"{name} failed")
    value = reply.get("value")
    if not isinstance(value, str):
        raise AssertionError(f"{name} returned something that is not a number or array")
    try:
        return wire.loads(value)
    except (wire.WireError, RecursionError, MemoryError) as error:
        raise AssertionError(f"{name} returned {error}, which is not a number or array") from None


# ------------------------------------------------------------------------------------------------ stand-ins


def _sizes(value, depth=0):
    """(largest dimension, numbers) of each array in a value of the wire's kinds, containers opened up to the wire's
    own depth; a list of floats counts its numbers. Integers (an iteration limit, say) are not sizes."""
    if depth > 25:
        return
    if isinstance(value, np.ndarray):
        yield max(value.shape, default=1), value.size
    elif isinstance(value, (list, tuple)):
        yield 0, sum(isinstance(item, float) for item in value)
        for item in value:
            yield from _sizes(item, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _sizes(item, depth + 1)


class StandInBound:
    """How large the arguments of a stand-in may be, from what the test passed to the student's function.

    A stand-in (the test's own e_step, say) runs here, in the trusted grader, without the sandbox's limits. The
    student's function may call it with arrays built from the test's data, not larger: no dimension above the
    largest the test used, and no more numbers in all than ``FACTOR`` times the test's (plus a little).
    """

    FACTOR, SLACK = 16, 4096

    def __init__(self, args, kwargs):
        sizes = list(_sizes((args, kwargs)))
        self.dimension = max([dimension for dimension, _ in sizes], default=1)
        self.numbers = self.FACTOR * sum(numbers for _, numbers in sizes) + self.SLACK

    def check(self, stand_in, graded, args, kwargs):
        sizes = list(_sizes((args, kwargs)))
        largest = max([dimension for dimension, _ in sizes], default=1)
        numbers = sum(numbers for _, numbers in sizes)
        if largest > self.dimension or numbers > self.numbers:
            raise AssertionError(
                f"{graded} called {stand_in} with arrays far larger than the data the test gave {graded} (a dimension "
                f"of {largest} where the test's largest is {self.dimension}, {numbers} numbers in all): pass "
                f"{stand_in} the data and parameters {graded} was given")
