"""Collecting from nbgrader's exchange only what each student submitted from their own account.

nbgrader names a submission after the id the submitting user gives (``nbgrader submit --student=<id>`` accepts
any), and its collect only warns when the folder's owner differs from that id, then collects it anyway: on a
shared machine one student can replace another's work. :class:`OwnerCheckedCollect` leaves every such submission
in the exchange, with a warning naming both accounts, before choosing each student's latest (or, with
``--before-duedate``, latest on time) submission, so what is graded is always the student's own.

Enable it in an nbgrader configuration the students cannot change (the Hub's /etc/jupyter/nbgrader_config.py,
deploy/jupyterhub/nbgrader_config.py)::

    c.ExchangeFactory.collect = "gmmlab.grading.exchange.OwnerCheckedCollect"
"""

import glob
import os
import pwd

from nbgrader.exchange.default.collect import ExchangeCollect, groupby


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

