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


# make test runs the suite on three workers (pytest-xdist, --dist loadfile): whole files go to whichever worker is
# free, in collection order. Files marked slow go first, the longest first (each marks its usual minutes on two
# workers, `pytest.mark.slow(minutes=N)`), so the run does not end with one worker busy on a long file while the
# other idles.
def _minutes(item):
    marker = item.get_closest_marker("slow")
    return -float(marker.kwargs.get("minutes", 1)) if marker else 0.0


def pytest_collection_modifyitems(config, items):
    items.sort(key=_minutes)  # stable: the other files keep their order
    if os.geteuid() != 0:
        for item in items:
            if item.get_closest_marker("root"):
                item.add_marker(pytest.mark.skip(reason="needs root (accounts, the grading sandbox); the suite runs as root"))
