"""System-wide nbgrader configuration of the course's Hub: setup.sh installs it as /etc/jupyter/nbgrader_config.py.

Every user's nbgrader reads it: the students' Assignments tab, the formgrader and the autograder.
"""

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.Exchange.root = "/usr/local/share/nbgrader/exchange"  # nbgrader 0.9.6's default; setup.sh makes it, mode 1777
c.CourseDirectory.course_id = "gmmlab"

# Collect takes each student's submission only from the account it is named after: a submission that alice made
# under bob's name (`nbgrader submit --student=bob`, or a folder written into the exchange by hand) is left in the
# exchange with a warning, and bob's own latest submission is collected.
c.ExchangeFactory.collect = "gmmlab_course.collect.OwnerCheckedCollect"


# Submit leaves each submission folder writable by its owner and the course's grader only (the inbound folder, which
# setup.sh makes, gives new folders the grader's group), where nbgrader makes it mode 777, "so the instructor can
# delete later": a submission is then protected by nothing but its unguessable name.
import os  # noqa: E402

from nbgrader.exchange.default.submit import ExchangeSubmit  # noqa: E402


class GroupOnlySubmit(ExchangeSubmit):
    def copy_files(self):
        super().copy_files()
        os.chmod(os.path.join(self.inbound_path, self.assignment_filename), 0o770)


c.ExchangeFactory.submit = GroupOnlySubmit
