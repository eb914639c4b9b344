"""Collecting submissions: from nbgrader's exchange, each student's own only, and from a Canvas download.

nbgrader names a submission after the id the submitting user gives (``nbgrader submit --student=<id>`` accepts
any), and its collect only warns when the folder's owner differs from that id, then collects it anyway: on a
shared machine one student can replace another's work. :class:`OwnerCheckedCollect` leaves every such submission
in the exchange, with a warning naming both accounts, before choosing each student's latest (or, with
``--before-duedate``, latest on time) submission, so what is graded is always the student's own.

Enable it in an nbgrader configuration the students cannot change (the Hub's /etc/jupyter/nbgrader_config.py,
deploy/jupyterhub/nbgrader_config.py)::

    c.ExchangeFactory.collect = "gmmlab_course.collect.OwnerCheckedCollect"

:class:`CanvasCollector` is the ``nbgrader zip_collect`` plugin for Canvas's "Download Submissions" zip
(the course's ``nbgrader_config.py`` names it; the roster that joins Canvas to nbgrader is described in
:mod:`gmmlab_course.export`).
"""

import glob
import os
import pwd

from nbgrader.api import Gradebook
from nbgrader.exchange.default.collect import ExchangeCollect, groupby
from nbgrader.plugins import FileNameCollectorPlugin


def owner(path):
    """The login of the account that owns ``path`` itself, a symbolic link included (``uid <n>`` for a uid
    without one): a link alice makes to a folder of bob's is alice's."""
    uid = os.lstat(path).st_uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


class OwnerCheckedCollect(ExchangeCollect):
    """nbgrader's collect, taking each student's submissions only from the folders their own account made."""

    def init_src(self):
        super().init_src()  # checks the course and the inbound folder, reads the due date
        student_id = self.coursedir.student_id or "*"
        pattern = os.path.join(self.inbound_path, f"{student_id}+{self.coursedir.assignment_id}+*")
        records = []
        for path in glob.glob(pattern):
            record = self._path_to_record(path)
            if owner(path) == record["username"]:
                records.append(record)
            else:
                self.log.warning(
                    f"{path} claims to be submitted by {record['username']} but is owned by {owner(path)}: "
                    "not collected (submitted under another student's name)")
        self.src_records = [self._choose(group) for group in groupby(records, lambda r: r["username"]).values()]

    def _choose(self, records):
        """A student's submission to collect: the latest, or with --before-duedate the latest on time if any."""
        records = self._sort_by_timestamp(records)
        if self.duedate is not None and self.before_duedate:
            on_time = [r for r in records if r["timestamp"] <= self.duedate]
            if on_time:
                return on_time[0]
        return records[0]


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
