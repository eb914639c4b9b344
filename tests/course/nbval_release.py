"""pytest plugin for nbval over exercises/ (loaded by tests/course/test_notebooks_execute.py): in a student version a
cell may fail only because an answer is not written yet, that is with a NotImplementedError raised by an answer
cell (directly, or reported by a test cell as "not implemented yet: replace `raise NotImplementedError()`")."""

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    error = call.excinfo.value if call.when == "call" and call.excinfo is not None else None
    if type(error).__name__ == "NbCellError" and "NotImplementedError" in str(getattr(error, "inner_traceback", "")):
        report.outcome = "skipped"
        report.wasxfail = "waits for the student's answer (NotImplementedError)"
