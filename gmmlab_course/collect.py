"""Collecting submissions: from nbgrader's exchange, each student's own only, and from a Canvas download.

**What a student controls, and what collect trusts.** A student controls every byte of every file they submit,
the names and the types of those files (regular files, directories, symbolic links to anything on the machine,
FIFOs, sockets, devices, files nobody but they can read), the folders they make in the exchange's inbound folder
(their names, so the id and the time written there, and their modification times, which ``touch`` or
``os.utime`` set to anything) and every file in them, ``timestamp.txt`` included. Collect runs with the
instructor's (or the grader account's) rights, so nothing it does may depend on any of that being honest:

- **whose**: nbgrader names a submission after the id the submitting user gives (``nbgrader submit
  --student=<id>`` accepts any), and its collect only warns when the folder's owner differs from that id, then
  collects it anyway. :class:`OwnerCheckedCollect` leaves every such submission in the exchange, with a warning
  naming both accounts, so what is graded is always the student's own;
- **what**: only regular files are copied, each opened without following links and checked to be the file that
  was listed; symbolic links (to the gradebook, to another student's work, to ``/dev/zero``, to a folder),
  FIFOs, sockets, devices and files the collector cannot read are skipped, each with a warning naming the
  student and the file, and never stop the collection of the rest of the class. A submission folder that is
  itself a link is not collected;
- **how much**: a submission of more than ``max_submission_files`` entries or ``max_submission_bytes`` bytes
  (checked before copying, and again while copying, in case it grows) is not collected, with a warning;
- **when**: the time that decides the latest submission and the late penalty is the kernel's change time
  (``st_ctime``, which no user can set) of the newest entry of the submission, read without following links.
  The student's ``timestamp.txt`` and the time in the folder's name are ignored, and the collected copy's
  ``timestamp.txt`` is written by collect, in nbgrader's format.

``submitted/`` is written only by this collect, by ``nbgrader zip_collect`` (:class:`CanvasExtractor` refuses
archives with links or absurd sizes) and by the instructor's own hand, so ``nbgrader autograde``, which copies a
submission's other files into ``autograded/`` following links, meets none. What happens after collect (the
sandbox, its replies, the outputs, the time budgets, the feedback) is described in the instructors' appendix,
*What a student controls, and what the grader trusts*, and in :mod:`gmmlab_course.feedback`.

Enable it in an nbgrader configuration the students cannot change (the Hub's /etc/jupyter/nbgrader_config.py,
deploy/jupyterhub/nbgrader_config.py)::

    c.ExchangeFactory.collect = "gmmlab_course.collect.OwnerCheckedCollect"

:class:`CanvasCollector` is the ``nbgrader zip_collect`` plugin for Canvas's "Download Submissions" zip
(the course's ``nbgrader_config.py`` names it; the roster that joins Canvas to nbgrader is described in
:mod:`gmmlab_course.export`).
"""

import datetime
import fnmatch
import glob
import os
import pwd
import shutil
import stat
import tarfile
import zipfile

from nbgrader.api import Gradebook
from nbgrader.exchange.default.collect import ExchangeCollect, groupby
from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin
from nbgrader.utils import parse_utc
from traitlets import Integer

CHUNK = 1 << 20
KINDS = {stat.S_IFLNK: "a symbolic link", stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket",
         stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device"}


def owner(path):
    """The login of the account that owns ``path`` itself, a symbolic link included (``uid <n>`` for a uid
    without one): a link alice makes to a folder of bob's is alice's."""
    uid = os.lstat(path).st_uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


class Refused(Exception):
    """A submission that is not collected at all (the message says why)."""


class Listing:
    """What a submission folder holds, read without following links: the regular files to copy, what is skipped
    and why, their total size and the newest change time (``st_ctime``) of the folder and everything in it."""

    def __init__(self, folder, ignore, max_files, max_bytes):
        self.files, self.skipped, self.bytes = [], [], 0
        top = os.lstat(folder)
        if not stat.S_ISDIR(top.st_mode):
            raise Refused(f"it is {KINDS.get(stat.S_IFMT(top.st_mode), 'not a folder')}, not a folder")
        self.ctime, entries, pending = top.st_ctime, 0, [""]
        while pending:
            relative = pending.pop()
            try:
                listing = list(os.scandir(os.path.join(folder, relative)))
            except OSError as error:
                if not relative:
                    raise Refused(f"its folder cannot be listed ({error.strerror})") from None
                self.skipped.append((relative, f"a folder that cannot be listed ({error.strerror})"))
                continue
            for entry in listing:
                entries += 1
                if entries > max_files:
                    raise Refused(f"it holds more than {max_files} files and folders "
                                  "(OwnerCheckedCollect.max_submission_files)")
                path = os.path.join(relative, entry.name)
                info = entry.stat(follow_symlinks=False)
                self.ctime = max(self.ctime, info.st_ctime)
                if any(fnmatch.fnmatch(entry.name, pattern) for pattern in ignore) or path == "timestamp.txt":
                    continue  # nbgrader's CourseDirectory.ignore; the student's timestamp.txt is never used
                if stat.S_ISDIR(info.st_mode):
                    pending.append(path)
                elif stat.S_ISREG(info.st_mode):
                    self.files.append((path, info))
                    self.bytes += info.st_size
                else:
                    self.skipped.append((path, KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")))
        if self.bytes > max_bytes:
            raise Refused(f"its files hold {self.bytes} bytes, more than {max_bytes} "
                          "(OwnerCheckedCollect.max_submission_bytes)")

    def timestamp(self, fmt):
        """The newest change time, in nbgrader's timestamp format (UTC)."""
        return datetime.datetime.fromtimestamp(self.ctime, datetime.timezone.utc).strftime(fmt)


class OwnerCheckedCollect(ExchangeCollect):
    """nbgrader's collect, taking each student's submissions only from the folders their own account made, only
    their regular files, within a size cap, and timed by the kernel rather than by the student."""

    max_submission_bytes = Integer(
        20 * 2**20, help="Largest submission collected, in bytes (all its files together)").tag(config=True)
    max_submission_files = Integer(
        100, help="Most files and folders a collected submission may hold").tag(config=True)

    def _path_to_record(self, path):
        """nbgrader's record of a submission folder, without the time in its name: nbgrader's own parses it and
        stops the whole collect at a name like ``alice+ps4-em+yesterday+1``, which any student can make."""
        return {"username": os.path.basename(path).rsplit("+", 3)[0], "filename": os.path.basename(path),
                "timestamp": datetime.datetime.min}

    def init_src(self):
        super().init_src()  # checks the course and the inbound folder, reads the due date; its choice is replaced
        student_id = self.coursedir.student_id or "*"
        pattern = os.path.join(self.inbound_path, f"{student_id}+{self.coursedir.assignment_id}+*")
        records = []
        for path in glob.glob(pattern):
            record = self._path_to_record(path)
            try:
                if owner(path) != record["username"]:
                    self.log.warning(
                        f"{path} claims to be submitted by {record['username']} but is owned by {owner(path)}: "
                        "not collected (submitted under another student's name)")
                    continue
                listing = self._list(path)
            except (Refused, OSError) as error:  # OSError: the student removed or changed it meanwhile
                self.log.warning(f"{record['username']}: {path} not collected: {error}")
                continue
            record["timestamp"] = parse_utc(listing.timestamp(self.timestamp_format))
            records.append(record)
        self.src_records = [self._choose(group) for group in groupby(records, lambda r: r["username"]).values()]

    def _list(self, path):
        return Listing(path, self.coursedir.ignore, self.max_submission_files, self.max_submission_bytes)

    def _choose(self, records):
        """A student's submission to collect: the latest, or with --before-duedate the latest on time if any."""
        records = self._sort_by_timestamp(records)
        if self.duedate is not None and self.before_duedate:
            on_time = [r for r in records if r["timestamp"] <= self.duedate]
            if on_time:
                return on_time[0]
        return records[0]

    def do_copy(self, src, dest, log=None):
        """Copy the regular files of the submission ``src`` to ``dest`` and write its ``timestamp.txt``; nothing
        is copied if it has grown past the caps since it was listed."""
        student = os.path.basename(src).rsplit("+", 3)[0]
        try:
            listing = self._list(src)  # again: the student may have changed it since init_src
            self._copy(student, src, dest, listing)
        except (Refused, OSError) as error:  # OSError: the student removed or changed it meanwhile
            shutil.rmtree(dest, ignore_errors=True)
            self.log.warning(f"{student}: {src} not collected: {error}")
            return
        for path, why in listing.skipped:
            self.log.warning(f"{student}: {path} in {src} not collected: {why}")
        with open(os.path.join(dest, "timestamp.txt"), "w") as handle:
            handle.write(listing.timestamp(self.timestamp_format))

    def _copy(self, student, src, dest, listing):
        budget = self.max_submission_bytes
        os.makedirs(dest)
        for path, listed in listing.files:
            try:
                fd = os.open(os.path.join(src, path), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError as error:
                listing.skipped.append((path, f"it cannot be read ({error.strerror})"))
                continue
            with os.fdopen(fd, "rb") as source:
                opened = os.fstat(fd)
                if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (listed.st_dev, listed.st_ino):
                    listing.skipped.append((path, "it was replaced while it was collected"))
                    continue
                os.makedirs(os.path.join(dest, os.path.dirname(path)), exist_ok=True)
                with open(os.path.join(dest, path), "xb") as target:
                    while chunk := source.read(min(CHUNK, budget + 1)):
                        budget -= len(chunk)
                        if budget < 0:
                            raise Refused(f"its files grew past {self.max_submission_bytes} bytes while collected")
                        target.write(chunk)


class CanvasCollector(FileNameCollectorPlugin):
    """``nbgrader zip_collect`` for Canvas's submissions zip, mapping Canvas user ids to nbgrader ids.

    ``named_regexp`` must give ``file_id`` and either ``student_id`` (an nbgrader id, used as is) or
    ``lms_user_id`` (a Canvas user id), which is looked up in the gradebook's students. A file whose Canvas id
    belongs to nobody on the roster is skipped with an error naming it; ``nbgrader zip_collect`` then reports
    it among the files skipped.
    """

    def collect(self, submitted_file):
        info = super().collect(submitted_file)
        if not info or "student_id" in info:
            return info
        lms_user_id = info.pop("lms_user_id", None)
        if lms_user_id is None:
            self.log.error("named_regexp gives neither student_id nor lms_user_id for %s", submitted_file)
            return None
        student = self._roster().get(lms_user_id)
        if student is None:
            self.log.error("No student has lms_user_id %s (add them with `nbgrader db student add ... "
                           "--lms-user-id=%s`); skipped %s", lms_user_id, lms_user_id, submitted_file)
            return None
        info["student_id"] = student
        return info

    def _roster(self):
        if not hasattr(self, "_students"):
            coursedir = self.parent.coursedir
            with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
                self._students = {s.lms_user_id: s.id for s in gradebook.students if s.lms_user_id}
        return self._students


class CanvasExtractor(ExtractorPlugin):
    """``nbgrader zip_collect``'s extractor, refusing an archive that holds links or members too large.

    nbgrader unpacks with setuptools' ``unpack_archive``, which keeps members inside the target folder but has
    no bound on their sizes (a small zip can unpack to fill the disk) and resolves a tar's links to other
    members. A Canvas download holds neither, so an archive that does was not made by Canvas: it is not
    extracted, with an error naming the member, and ``zip_collect`` stops before anything is collected.
    """

    max_member_bytes = Integer(
        20 * 2**20, help="Largest file a submissions archive may unpack to, in bytes").tag(config=True)
    max_archive_bytes = Integer(
        4 * 2**30, help="Most bytes a submissions archive may unpack to, in all").tag(config=True)

    def extract(self, archive_path, extracted_path):
        for folder, _, names in os.walk(archive_path):
            for name in names:
                path = os.path.join(folder, name)
                problem = self._problem(path)
                if problem:
                    self.log.error("Not extracting %s: %s", path, problem)
                    raise ValueError(f"{path} was not extracted: {problem}")
        super().extract(archive_path, extracted_path)

    def _problem(self, path):
        """Why the archive at ``path`` must not be unpacked, or None."""
        if os.path.islink(path):
            return "it is a symbolic link"
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                members = [(m.filename, stat.S_ISLNK(m.external_attr >> 16), m.file_size) for m in archive.infolist()]
        elif tarfile.is_tarfile(path):
            with tarfile.open(path) as archive:
                members = [(m.name, not (m.isfile() or m.isdir()), m.size) for m in archive.getmembers()]
        else:
            return None  # copied as is (a notebook uploaded without an archive)
        total = 0
        for name, special, size in members:
            if special:
                return f"its member {name} is a link or a special file"
            if size > self.max_member_bytes:
                return f"its member {name} unpacks to {size} bytes (CanvasExtractor.max_member_bytes)"
            total += size
        if total > self.max_archive_bytes:
            return f"it unpacks to {total} bytes (CanvasExtractor.max_archive_bytes)"
        return None
