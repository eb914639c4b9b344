"""The course's instructor tools: grading, collecting, exporting and scheduling the gmmlab problem sets.

Students and users import :mod:`gmmlab`; instructors, graders and the course's JupyterHub run this package. It
imports gmmlab (the teaching modules its grading sandbox copies, and the checks of :mod:`gmmlab.grading` that the
test cells call), never the reverse. It needs nbgrader: ``pip install "gmmlab[instructor]"``.

- :mod:`gmmlab_course.manifest`: the problem sets, their chapters, sandboxes and due dates (``course.toml``);
- :mod:`gmmlab_course.autograde`: the nbgrader preprocessors that grade in a trusted process;
- :mod:`gmmlab_course.sandbox`: the bubblewrap sandbox a submission's code runs in;
- :mod:`gmmlab_course.normalise`: awkward submissions rebuilt on the released notebook;
- :mod:`gmmlab_course.feedback`: what the feedback students get back leaves out;
- :mod:`gmmlab_course.collect`: collecting from the exchange and from a Canvas download;
- :mod:`gmmlab_course.gradebook`: who submitted what, and whether the gradebook is current;
- :mod:`gmmlab_course.export`: grades out (``grades.csv`` with a status, a Canvas gradebook);
- :mod:`gmmlab_course.manual`: grading written answers from the command line;
- :mod:`gmmlab_course.parallel`: grading a class on every core;
- :mod:`gmmlab_course.report`: the class report after grading (scores, named mistakes and their book sections in
  ``mistakes.toml``, students to look at, similar submissions found by :mod:`gmmlab_course.similarity`);
- :mod:`gmmlab_course.coursedir`: throwaway course directories, for the tests and the benchmarks.
"""
