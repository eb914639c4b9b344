"""Execute the book's chapters on every core, into the execution cache that ``jupyter-book build`` reads.

Jupyter Book 1.x (myst-nb's ``execute_notebooks: cache``) executes a chapter when Sphinx reads it, one chapter
after another, so a 2-core machine builds the book on one core. ``make book`` runs this first: it reads each
chapter of ``_toc.yml`` exactly as myst-nb reads it, executes the chapters that the cache does not hold in a pool
of processes (the longest source first), and stores each result as myst-nb's cache client stores it
(myst_nb/core/execute/cache.py): same project record, same notebook hash. The build then finds every chapter in
the cache and executes none. A chapter that fails is left out of the cache, so the build runs it again and
reports the error where it always does.

    .venv/bin/python tools/execute.py [--jobs N]
"""

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import yaml
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn
from jupyter_cache.executors.utils import single_nb_execution
from myst_nb.core.config import NbParserConfig
from myst_nb.core.read import create_nb_reader
from myst_parser.config.main import MdParserConfig

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "_build" / ".jupyter_cache"  # jupyter-book's default execution cache


def toc_documents():
    """Every document _toc.yml lists (root, chapters, sections), as docnames (book/kmeans), in order."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    found = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            found.extend([node["file"]] if "file" in node else [])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({key: value for key, value in toc.items() if key != "root"})
    return [str(Path(doc).with_suffix("")) for doc in found]


def chapters():
    """The sources of _toc.yml's documents that are notebooks or may be (MyST Markdown), in order."""
    return [path for name in toc_documents() for path in (REPO / f"{name}.md", REPO / f"{name}.ipynb") if path.is_file()]


def read(path):
    """(notebook, read format) as myst-nb reads ``path``, or None when it is not a notebook."""
    text = path.read_text(encoding="utf-8")
    reader = create_nb_reader(str(path), MdParserConfig(), NbParserConfig(), text)
    if reader is None:
        return None
    return reader.read(text), reader.read_fmt


def execute(path, notebook, timeout, allow_errors):
    """Run one chapter, as :func:`read` read it, in its own folder (myst-nb's default CWD); (the notebook with
    its outputs, seconds, error text or None)."""
    result = single_nb_execution(notebook, cwd=str(path.parent), timeout=timeout, allow_errors=allow_errors,
                                 meta_override=True)
    return notebook, result.time, (None if result.err is None else result.exc_string)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="chapters run at once (default: cores)")
    args = parser.parse_args()
    config = yaml.safe_load((REPO / "_config.yml").read_text()).get("execute", {})
    if config.get("execute_notebooks") != "cache":
        print("tools/execute.py: _config.yml does not execute into the cache; nothing to do")
        return 0
    timeout, allow_errors = config.get("timeout", 30), config.get("allow_errors", False)
    cache = get_cache(str(CACHE))
    pending = []
    for path in chapters():
        read_result = read(path)
        if read_result is None or not any(cell.cell_type == "code" for cell in read_result[0].cells):
            continue
        try:
            cache.match_cache_notebook(read_result[0])
        except KeyError:
            pending.append((path, *read_result))
    if not pending:
        return 0
    pending.sort(key=lambda item: item[0].stat().st_size, reverse=True)  # longest first: the pool ends together
    print(f"tools/execute.py: executing {len(pending)} chapters, {args.jobs} at a time")
    begin, failed = time.monotonic(), []
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [(path, fmt, pool.submit(execute, path, notebook, timeout, allow_errors))
                   for path, notebook, fmt in pending]
        for path, fmt, future in futures:
            notebook, seconds, error = future.result()
            name = path.relative_to(REPO)
            if error is not None:
                failed.append(name)
                print(f"{name}: failed; jupyter-book build runs it again and reports the error")
                continue
            # what myst-nb's NotebookClientCache does after executing a notebook itself
            record = cache.add_nb_to_project(str(path), **({"read_data": fmt} if fmt else {}))
            cache.cache_notebook_bundle(CacheBundleIn(notebook, record.uri, data={"execution_seconds": seconds}),
                                        check_validity=False, overwrite=True)
            print(f"{name}: executed in {seconds:.1f} s")
    print(f"tools/execute.py: {len(pending) - len(failed)} chapters cached in {time.monotonic() - begin:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
