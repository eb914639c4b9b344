"""The course Hub's own pieces (book/jupyterhub.md); setup.sh installs this file as /etc/gmmlab-hub/lib/gmmlab_hub.py.

- ``StaffAuthorizer``: the formgrader's Jupyter server (the grader account's) gives instructors everything and
  teaching assistants the formgrader and read-only files: no terminal, no kernel, no writes, so no shell as the
  grader account and nothing they can change that root executes.
- The grade audit: SQLite triggers in the gradebook record every change of a score or a comment (old, new, when)
  in the table ``gmmlab_audit``; the formgrader (this module is its server extension) adds the Hub user who made
  it, the autograder the instructor who started it. A change made any other way (a shell of the grader account)
  is recorded with no name.
- Commands, run with the Hub's python::

      python /etc/gmmlab-hub/lib/gmmlab_hub.py audit [GRADEBOOK]   # the grade changes, oldest first
      python /etc/gmmlab-hub/lib/gmmlab_hub.py backup              # as root: a consistent copy of everything
      python /etc/gmmlab-hub/lib/gmmlab_hub.py restore BACKUP [--all]  # as root: the gradebook [and the rest]
"""

import argparse
import datetime
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

COURSE = "gmmlab"
AUDITED = {"grade": ["auto_score", "manual_score", "extra_credit"], "comment": ["manual_comment"]}


# ------------------------------------------------------------------------------------ who may do what

def _authorizer_class():
    from jupyterhub.singleuser.extension import JupyterHubAuthorizer

    class StaffAuthorizer(JupyterHubAuthorizer):
        """Instructors (the Hub group ``instructors-gmmlab``) may do anything; other staff may only read."""

        def is_authorized(self, handler, user, action, resource):
            if not super().is_authorized(handler, user, action, resource):
                return False
            if f"instructors-{COURSE}" in (user.hub_user.get("groups") or []):
                return True
            return action == "read" and resource != "terminals"

    return StaffAuthorizer


def __getattr__(name):  # the authorizer is imported lazily: the commands below run without JupyterHub
    if name == "StaffAuthorizer":
        return _authorizer_class()
    raise AttributeError(name)


# ------------------------------------------------------------------------------------ the grade audit

def ensure_audit(gradebook):
    """Create the audit table and its triggers in ``gradebook`` (an SQLite file), if it has nbgrader's tables."""
    with sqlite3.connect(gradebook) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not set(AUDITED) <= tables:
            return False
        db.execute("CREATE TABLE IF NOT EXISTS gmmlab_audit (id INTEGER PRIMARY KEY, "
                   "at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')), "
                   "tbl TEXT NOT NULL, row_id TEXT NOT NULL, field TEXT NOT NULL, old, new, who TEXT)")
        for table, fields in AUDITED.items():
            for field in fields:
                db.execute(
                    f"CREATE TRIGGER IF NOT EXISTS gmmlab_audit_{table}_{field} AFTER UPDATE OF {field} ON {table} "
                    f"WHEN old.{field} IS NOT new.{field} BEGIN "
                    f"INSERT INTO gmmlab_audit (tbl, row_id, field, old, new) "
                    f"VALUES ('{table}', new.id, '{field}', old.{field}, new.{field}); END")
    return True


def last_change(gradebook):
    with sqlite3.connect(gradebook) as db:
        return db.execute("SELECT coalesce(max(id), 0) FROM gmmlab_audit").fetchone()[0]


def sign(gradebook, after, who, table=None, row_id=None):
    """Name ``who`` on the unsigned changes since ``after`` (of one row, when given)."""
    query, args = "UPDATE gmmlab_audit SET who = ? WHERE id > ? AND who IS NULL", [who, after]
    if row_id is not None:
        query, args = query + " AND tbl = ? AND row_id = ?", args + [table, row_id]
    with sqlite3.connect(gradebook) as db:
        db.execute(query, args)


def audit(gradebook):
    """The recorded changes, oldest first: (time UTC, who, student, assignment, cell, field, old, new)."""
    with sqlite3.connect(f"file:{gradebook}?mode=ro", uri=True) as db:
        return db.execute(
            "SELECT a.at, coalesce(a.who, '(no Hub user: a shell of the grader account)'), sa.student_id, "
            "asg.name, cell.name, a.field, a.old, a.new FROM gmmlab_audit a "
            "LEFT JOIN grade g ON a.tbl = 'grade' AND g.id = a.row_id "
            "LEFT JOIN comment c ON a.tbl = 'comment' AND c.id = a.row_id "
            "LEFT JOIN submitted_notebook sn ON sn.id = coalesce(g.notebook_id, c.notebook_id) "
            "LEFT JOIN submitted_assignment sa ON sa.id = sn.assignment_id "
            "LEFT JOIN assignment asg ON asg.id = sa.assignment_id "
            "LEFT JOIN base_cell cell ON cell.id = coalesce(g.cell_id, c.cell_id) ORDER BY a.id").fetchall()


def _gradebook_of(handler):
    url = handler.settings.get("nbgrader_db_url") or handler.db_url
    assert url.startswith("sqlite:///"), f"the grade audit needs an SQLite gradebook, not {url}"
    return url[len("sqlite:///"):]


def _load_jupyter_server_extension(serverapp):
    """In the formgrader: sign every grade or comment changed through its API with the Hub user who changed it."""
    from nbgrader.server_extensions.formgrader import apihandlers

    def signed(put, table):
        def wrapped(self, grade_id):
            gradebook = _gradebook_of(self)
            ensure_audit(gradebook)
            before = last_change(gradebook)
            put(self, grade_id)
            sign(gradebook, before, self.current_user.username, table, grade_id)
        return wrapped

    for handler, table in [(apihandlers.GradeHandler, "grade"), (apihandlers.CommentHandler, "comment")]:
        handler.put = signed(handler.put, table)
    if Path("gradebook.db").exists():  # the formgrader runs in the course directory
        ensure_audit("gradebook.db")
    serverapp.log.info("gmmlab_hub: grade changes through the formgrader are signed in gmmlab_audit")


def _jupyter_server_extension_points():
    return [{"module": "gmmlab_hub"}]


# ------------------------------------------------------------------------------------ backup and restore

def settings():
    """The Hub's settings (setup.sh's env file next to this module's folder, or GMMLAB_HUB_ETC's)."""
    etc = Path(os.environ.get("GMMLAB_HUB_ETC") or Path(__file__).resolve().parent.parent)
    found = dict(line.split("=", 1) for line in (etc / "env").read_text().splitlines() if "=" in line)
    return {key.removeprefix("GMMLAB_HUB_"): value for key, value in found.items()}


def copy_database(source, target):
    """A consistent copy of a live SQLite database (its backup API: pages copied under its own locks)."""
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def backup(into=None):
    """Copy the gradebook and the Hub's database (consistently, while the Hub runs), the Hub's secrets and
    configuration, the course directory, the exchange and the homes into a new folder of STATE/backups."""
    s = settings()
    into = Path(into or Path(s["STATE"]) / "backups" / datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    into.mkdir(mode=0o700, parents=True)
    copy_database(Path(s["COURSE_ROOT"]) / "gradebook.db", into / "gradebook.db")
    copy_database(Path(s["STATE"]) / "jupyterhub.sqlite", into / "jupyterhub.sqlite")
    for name, folder, skip in [("etc", s["ETC"], []), ("state", s["STATE"], ["backups", "jupyterhub.sqlite*"]),
                               ("course", s["COURSE_ROOT"], ["gradebook.db*"]), ("exchange", s["EXCHANGE"], []),
                               ("homes", s["HOMES"], [])]:
        done = subprocess.run(["tar", "-czf", str(into / f"{name}.tar.gz"), "--numeric-owner", "-C", folder,
                               "--warning=no-file-changed", *[f"--exclude=./{pattern}" for pattern in skip], "."])
        if done.returncode > 1:  # 1: a file changed while it was read (a log, a student saving), still copied
            raise SystemExit(f"backup of {folder} failed (tar exit status {done.returncode})")
    return into


def restore(backup_dir, everything=False):
    """Put the gradebook of ``backup_dir`` back (safe while the Hub runs: the formgrader reads it afresh at every
    request); with ``everything``, with the Hub stopped, also the Hub's database and every folder backed up."""
    s, backup_dir = settings(), Path(backup_dir)
    databases = [("gradebook.db", Path(s["COURSE_ROOT"]) / "gradebook.db")]
    if everything:
        for name, folder in [("etc", s["ETC"]), ("state", s["STATE"]), ("course", s["COURSE_ROOT"]),
                             ("exchange", s["EXCHANGE"]), ("homes", s["HOMES"])]:
            Path(folder).mkdir(parents=True, exist_ok=True)
            subprocess.run(["tar", "-xzf", str(backup_dir / f"{name}.tar.gz"), "--numeric-owner",
                            "--same-permissions", "-C", folder], check=True)
        databases.append(("jupyterhub.sqlite", Path(s["STATE"]) / "jupyterhub.sqlite"))
    for name, target in databases:
        existed = target.exists()
        copy_database(backup_dir / name, target)
        if not existed:  # a restore onto a new machine: the file is the course's (or root's), as it was
            owner = target.parent.stat()
            os.chown(target, owner.st_uid, owner.st_gid)


def main(argv=None):
    parser = argparse.ArgumentParser(description="The gmmlab Hub's grade audit, backup and restore.")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("audit", help="list the recorded grade changes, oldest first")
    show.add_argument("gradebook", nargs="?", default="gradebook.db")
    save = commands.add_parser("backup", help="as root: copy everything into STATE/backups/<time>")
    save.add_argument("--into", help="another folder to make for the backup")
    load = commands.add_parser("restore", help="as root: put a backup's gradebook back")
    load.add_argument("backup")
    load.add_argument("--all", action="store_true", dest="everything",
                      help="with the Hub stopped: also its database, configuration, course, exchange and homes")
    args = parser.parse_args(argv)
    if args.command == "audit":
        if not Path(args.gradebook).exists():
            parser.error(f"no gradebook {args.gradebook}: run this in the course directory, or name the file")
        if not ensure_audit(args.gradebook):
            parser.error(f"{args.gradebook} is not an nbgrader gradebook")
        for row in audit(args.gradebook):
            print(" | ".join("" if value is None else str(value) for value in row))
    elif args.command == "backup":
        print(backup(args.into))
    else:
        restore(args.backup, args.everything)
        print(f"restored from {args.backup}")


if __name__ == "__main__":
    sys.exit(main())
