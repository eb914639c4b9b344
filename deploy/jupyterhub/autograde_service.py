"""The Hub-managed service that autogrades the course: ``/services/gmmlab-autograde/`` (book/jupyterhub.md).

The course's grader (gmmlab_course) runs every submission in a bubblewrap sandbox as a throwaway uid, which only
root can switch to; the formgrader runs as the unprivileged grader account, so autograding is this separate
service, started by the Hub as root and reachable only by the ``instructors-gmmlab`` group (the Hub checks the
``access:services!service=gmmlab-autograde`` scope). It runs the course's own command,
``python -m gmmlab_course.parallel <assignment> --jobs <cores>``, in the course directory, one class at a time,
and gives the files it made back to the course's owner, so the formgrader can generate feedback from them.

Running as root, it reads configuration only from files root owns: it refuses to grade while the course's
``nbgrader_config.py`` (or an ``nbgrader_config.json``) belongs to anyone else or others may write it, and the
grading processes never import from the course directory (``PYTHONSAFEPATH``). Grade changes a run makes are
signed in the gradebook's audit table with the instructor who started it (gmmlab_hub).

- ``GET  /services/gmmlab-autograde/``                     a page listing the assignments, with an Autograde button
- ``POST /services/gmmlab-autograde/api/autograde/<name>``  start grading ``<name>`` (``?force=1`` regrades all)
- ``GET  /services/gmmlab-autograde/api/autograde/<name>``  ``{"state": "idle|running|done", "returncode", "log"}``
"""

import asyncio
import html
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import gmmlab_hub

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop

from gmmlab_course.gradebook import submissions

COURSE_ROOT = Path(os.environ.get("GMMLAB_HUB_COURSE_ROOT", "/srv/gmmlab/course"))
PREFIX = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
JOBS = {}  # {assignment: {"state", "returncode", "log"}}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def assignments():
    """The assignments with submissions collected in the course directory."""
    return sorted(submissions(COURSE_ROOT))


def give_back(paths):
    """Make what the grader (root) wrote belong to the course directory's owner, as everything else there does."""
    owner = COURSE_ROOT.stat()
    for top in paths:
        if top.exists():
            os.chown(top, owner.st_uid, owner.st_gid)
            for folder, dirs, files in os.walk(top):
                for name in dirs + files:
                    os.chown(os.path.join(folder, name), owner.st_uid, owner.st_gid, follow_symlinks=False)


def untrusted_configuration():
    """Why the course directory's nbgrader configuration may not be run as root, or None when it may."""
    if not (COURSE_ROOT / "nbgrader_config.py").exists():
        return f"{COURSE_ROOT / 'nbgrader_config.py'} is missing"
    for name in ["nbgrader_config.py", "nbgrader_config.json"]:
        path = COURSE_ROOT / name
        if path.exists() or path.is_symlink():
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode) or info.st_uid != 0 or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                return (f"{path} is not a file of root's that only root may change (setup.sh installs it so): "
                        "refusing to run it as root")
    return None


def grade(assignment, force, user):
    refused = untrusted_configuration()
    if refused:
        return 1, refused + "\n"
    gradebook = COURSE_ROOT / "gradebook.db"
    before = gmmlab_hub.last_change(gradebook) if gradebook.exists() and gmmlab_hub.ensure_audit(gradebook) else 0
    command = [sys.executable, "-m", "gmmlab_course.parallel", assignment, "--jobs", str(os.cpu_count() or 1)]
    result = subprocess.run(command + (["--force"] if force else []), cwd=COURSE_ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONSAFEPATH": "1"})
    if gradebook.exists() and gmmlab_hub.ensure_audit(gradebook):
        gmmlab_hub.sign(gradebook, before, f"{user} (autograde)")
    give_back([COURSE_ROOT / "autograded", gradebook, COURSE_ROOT / ".gmmlab"])
    return result.returncode, result.stdout


class AutogradeAPI(HubOAuthenticated, web.RequestHandler):
    def check(self, assignment):
        if not NAME.match(assignment) or assignment not in assignments():
            raise web.HTTPError(404, f"no collected submissions of {assignment!r} in {COURSE_ROOT / 'submitted'}")

    @web.authenticated
    def get(self, assignment):
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(JOBS.get(assignment, {"state": "idle", "returncode": None, "log": ""})))

    @web.authenticated
    async def post(self, assignment):
        self.check(assignment)
        if any(job["state"] == "running" for job in JOBS.values()):
            raise web.HTTPError(409, "a grading run is under way; wait for it to finish")
        force = self.get_argument("force", "") in {"1", "true", "on"}
        user = self.current_user["name"]
        JOBS[assignment] = {"state": "running", "returncode": None, "log": f"started by {user}\n"}
        asyncio.ensure_future(self.run(assignment, force, user))
        if self.get_argument("_xsrf", None):  # the page's button: back to the page, which shows the run
            return self.redirect(PREFIX)
        self.set_status(202)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(JOBS[assignment]))

    @staticmethod
    async def run(assignment, force, user):
        try:
            returncode, log = await asyncio.get_running_loop().run_in_executor(None, grade, assignment, force, user)
        except Exception as error:  # noqa: BLE001 - reported to the instructor, the service keeps running
            returncode, log = -1, f"{type(error).__name__}: {error}"
        JOBS[assignment] = {"state": "done", "returncode": returncode, "log": JOBS[assignment]["log"] + log}


class Page(HubOAuthenticated, web.RequestHandler):
    @web.authenticated
    def get(self):
        rows = []
        for name in assignments():
            job = JOBS.get(name, {"state": "idle", "returncode": None, "log": ""})
            rows.append(
                f"<h2>{html.escape(name)}</h2><p>{job['state']}"
                + (f", exit status {job['returncode']}" if job["returncode"] is not None else "")
                + f"</p><form method='post' action='{url_path_join(PREFIX, 'api/autograde', name)}'>"
                + self.xsrf_form_html()
                + "<label><input type='checkbox' name='force' value='1'> regrade everyone</label> "
                + "<button type='submit'>Autograde</button></form>"
                + f"<pre>{html.escape(job['log'][-20000:])}</pre>"
            )
        self.finish("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Autograde gmmlab</title>"
                    "</head><body><h1>Autograde gmmlab</h1>"
                    + ("".join(rows) or "<p>No submissions collected yet: collect them in the formgrader.</p>")
                    + "</body></html>")


def main():
    app = web.Application(
        [
            (PREFIX, Page),
            (url_path_join(PREFIX, "oauth_callback"), HubOAuthCallbackHandler),
            (url_path_join(PREFIX, r"api/autograde/([^/]+)"), AutogradeAPI),
        ],
        cookie_secret=os.urandom(32),
    )
    url = os.environ["JUPYTERHUB_SERVICE_URL"]
    host, port = re.match(r"https?://([^:/]+):(\d+)", url).groups()
    HTTPServer(app).listen(int(port), host)
    IOLoop.current().start()


if __name__ == "__main__":
    main()
