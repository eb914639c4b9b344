import os

import matplotlib
import pytest
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

# Property tests run a fixed number of examples with no per-example deadline: the machine is small and
# shared, and the tests check properties, not speed.
settings.register_profile(
    "course", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "course"))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


# make test runs the suite on two workers (pytest-xdist, --dist loadfile): whole files go to whichever worker is
# free, in collection order. The longest files go first, so the run does not end with one worker busy on a long
# file while the other idles.
LONGEST_FIRST = ["test_book_html.py", "test_assignments.py", "test_jupyterhub.py", "test_grading_integrity.py",
                 "test_instructors_appendix.py", "test_binder_lab.py", "test_nbgrader_workflow.py",
                 "test_notebooks_execute.py", "test_dask.py"]


def pytest_collection_modifyitems(config, items):
    rank = {name: position for position, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the other files keep their order
