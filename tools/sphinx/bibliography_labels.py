"""Author-year labels for the book's bibliography page, matching the author-year citations in the text.

The chapters cite with ``{cite:t}`` / ``{cite:p}`` and ``bibtex_reference_style: author_year``, which
prints "Bishop (2006)". pybtex's own label styles number the entries ("[1]") or abbreviate them
("[Bis06]"), so the bibliography page would not show the names a reader looks for. This extension
registers the pybtex style ``authoryear`` (``bibtex_default_style`` in ``_config.yml``): pybtex's plain
formatting, sorted by author and year, with labels such as "Bishop 2006", "Neal and Hinton 1998" and
"Deisenroth et al. 2020".
"""

from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle


def _last_names(person):
    # rich names decode LaTeX, so H{\"a}rdle is labelled Härdle
    return " ".join(name.render_as("text") for name in person.rich_prelast_names + person.rich_last_names)


class AuthorYearLabelStyle(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            people = entry.persons.get("author") or entry.persons.get("editor") or []
            names = [_last_names(p) for p in people]
            if len(names) > 2:
                who = f"{names[0]} et al."
            else:
                who = " and ".join(names)
            yield f"{who} {entry.fields.get('year', '')}".strip()


class AuthorYearStyle(PlainStyle):
    default_label_style = "authoryear"


def setup(app):
    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabelStyle)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
