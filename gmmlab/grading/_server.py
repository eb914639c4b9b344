"""Runs inside the grading sandbox: executes a submission's cells and calls its functions on request.

It reads one JSON request per line from the trusted grader and answers each with one line. Two processes share the
work. The *executor*, a child, runs the student's code and answers over a socket of its own; it holds no
descriptor of the grader's pipe. The *relay*, its parent, which runs no student code and cannot be traced by it,
is the only process that talks to the grader: it passes each request on and each answer back, one line of at most
the protocol's size, parsed and written again, and drops any line that is not an answer to the request under way.
Nothing either of them answers is trusted: the grader checks every value itself. The student's own output goes to
buffers, never to the protocol.
"""

import base64
import contextlib
import ctypes
import io
import json
import os
import re
import shutil
import socket
import sys
import traceback


def _channels():
    """The protocol's own file descriptors; 0, 1 and 2 are pointed at /dev/null for the student's code."""
    requests, replies = os.fdopen(os.dup(0), "rb"), os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    sys.stdin = open(os.devnull)
    return requests, replies


def _figures(limit=8):
    if "matplotlib.pyplot" not in sys.modules:
        return []
    plt = sys.modules["matplotlib.pyplot"]
    images = []
    for number in plt.get_fignums()[:limit]:
        buffer = io.BytesIO()
        try:
            plt.figure(number).savefig(buffer, format="png", dpi=72)
            images.append(base64.b64encode(buffer.getvalue()).decode())
        except Exception:  # a figure that cannot be drawn is left out of the feedback
            pass
    plt.close("all")
    return images


def _without_magics(code):
    """IPython's %magics and !shell lines do nothing here (they are comments to plain Python)."""
    return re.sub(r"(?m)^(\s*)([%!])", r"\1# \2", code)


HINT = "do not call gmmlab/scikit-learn in graded functions: they are not available while grading"


class _NoScikitLearn:
    """Import hook: scikit-learn is absent while grading, and says why."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "sklearn":
            raise ModuleNotFoundError(f"No module named {name!r}: {HINT}", name=name)
        return None


def execute(namespace, code, label, limit=20000):
    out, err = io.StringIO(), io.StringIO()
    error = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            exec(compile(_without_magics(code), label, "exec"), namespace)
        except BaseException as exc:  # noqa: BLE001 - the cell's error is part of its output
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<cell")]
            text = str(exc)[:2000]
            if isinstance(exc, ImportError) and ("gmmlab" in text or "sklearn" in text) and HINT not in text:
                text += f" ({HINT})"
            error = {"ename": type(exc).__name__, "evalue": text,
                     "traceback": traceback.format_list(frames)[-5:] + traceback.format_exception_only(type(exc), exc)}
    return {"stdout": out.getvalue()[:limit], "stderr": err.getvalue()[:limit], "error": error, "images": _figures()}


MAX_LINE = 64 * 2**20  # the longest line either side of the relay passes on (the wire's own limit)


def _answer(line, request_id):
    """The executor's line written again, if it is an answer to the request under way; None otherwise."""
    if len(line) > MAX_LINE or not line.endswith(b"\n"):
        return None
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(message, dict) or message.get("id") != request_id:
        return None
    try:
        return json.dumps(message).encode() + b"\n"
    except (ValueError, TypeError, RecursionError):
        return None


def _relay(requests, replies, channel):
    """Pass the grader's requests to the executor and its answers back, until either side ends."""
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: the executor (same uid) cannot ptrace this process
    incoming, outgoing = channel.makefile("rb"), channel.makefile("wb")
    for line in iter(requests.readline, b""):
        request_id = json.loads(line)["id"]  # the grader's own line
        outgoing.write(line)
        outgoing.flush()
        while True:
            answer = incoming.readline(MAX_LINE + 1)
            if not answer:
                return  # the executor ended: so does the relay, and the grader sees the end of the stream
            answer = _answer(answer, request_id)
            if answer is None:
                continue
            replies.write(answer)
            replies.flush()
            if json.loads(answer).get("op") != "callback":
                break
            outgoing.write(requests.readline())  # the grader's answer to a stand-in's call
            outgoing.flush()


def main():
    grader_requests, grader_replies = _channels()
    executor_end, relay_end = socket.socketpair()
    if os.fork():
        executor_end.close()
        _relay(grader_requests, grader_replies, relay_end)
        os._exit(0)
    grader_requests.close()
    grader_replies.close()
    relay_end.close()
    requests, replies = executor_end.makefile("rb"), executor_end.makefile("wb")
    _serve(requests, replies)


def _serve(requests, replies):
    """The executor: the submission's cells and functions, run on the relay's requests."""
    from gmmlab import grading
    from gmmlab.grading import wire

    files = os.environ.get("GMMLAB_FILES")
    if files and os.path.isdir(files):  # the submission's own files, writable in the working directory
        for name in os.listdir(files):
            try:
                shutil.copyfile(os.path.join(files, name), name, follow_symlinks=False)
            except OSError:  # the grader copied only regular readable files; anything else is left out
                pass
    cache = os.environ.get("GMMLAB_MPL_CACHE")
    if cache and os.path.isdir(cache):
        shutil.copytree(cache, os.environ["MPLCONFIGDIR"], dirs_exist_ok=True)
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    sys.modules["__main__"].__dict__.update(namespace)
    namespace = sys.modules["__main__"].__dict__
    sys.meta_path.insert(0, _NoScikitLearn())
    cell_errors = {}  # grade_id of an answer cell: the error it raised, to explain a missing function

    def send(message):
        replies.write(json.dumps(message).encode() + b"\n")
        replies.flush()

    def stand_in(request_id, name):
        def call(*args, **kwargs):
            send({"id": request_id, "op": "callback", "name": name, "args": wire.dumps((list(args), kwargs), opaque=True)})
            answer = json.loads(requests.readline())
            if "error" in answer:
                raise AssertionError(answer["error"])
            return wire.loads(answer["value"])
        call.__module__ = "__main__"
        return call

    for line in iter(requests.readline, b""):
        request = json.loads(line)
        number = request["id"]
        if request["op"] == "exec":
            result = execute(namespace, request["code"], f"<cell {request.get('cell', '?')}>")
            if request.get("grade_id"):
                error = result["error"]
                cell_errors[request["grade_id"]] = f"{error['ename']}: {error['evalue']}" if error else None
            send(dict(result, id=number))
        elif request["op"] == "call":
            name = request["name"]
            replace = {n: stand_in(number, n) for n in request.get("replace", [])}
            try:
                function = grading.prepare(namespace, name, request.get("banned"), replace)
                args, kwargs = wire.loads(request["args"])
                value = function(*args, **kwargs)
                try:
                    reply = {"ok": True, "value": wire.dumps(value)}
                except wire.WireError as error:
                    reply = {"ok": False, "message": f"{name} returned {error}, which is not a number or array"}
            except AssertionError as error:
                message = str(error)
                if message.startswith(f"{name} is not defined") and cell_errors.get(name):
                    message = f"{name} is not defined: the cell that defines it raised {cell_errors[name]}"
                reply = {"ok": False, "message": message[:4000]}
            except BaseException as error:  # noqa: BLE001 - reported as the student's error
                reply = {"ok": False, "message": f"{name} raised {type(error).__name__}: {str(error)[:2000]}"}
            send(dict(reply, id=number))


if __name__ == "__main__":
    main()
