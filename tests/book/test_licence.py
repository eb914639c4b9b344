"""The course states its licence (content CC BY 4.0, code MIT) and how to cite it."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_licence_files():
    code = (ROOT / "LICENSE").read_text()
    assert code.startswith("MIT License") and "Permission is hereby granted, free of charge" in code
    content = (ROOT / "LICENSE-CONTENT").read_text()
    assert "Attribution 4.0 International" in content
    assert "Section 3 -- License Conditions." in content  # the legal code itself, not only its name
    assert "ShareAlike" not in content.split("Section 1")[1].split("Section 2")[0]  # BY, not BY-SA


def test_readme_and_package_name_the_licences():
    readme = (ROOT / "README.md").read_text()
    assert "CC BY 4.0" in readme and "MIT" in readme and "CITATION.cff" in readme
    assert 'license = { text = "MIT" }' in (ROOT / "pyproject.toml").read_text()


def test_citation_file():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    for key in ("cff-version", "message", "title", "authors", "license", "repository-code"):
        assert citation.get(key), f"CITATION.cff lacks {key}"
    assert citation["cff-version"] == "1.2.0"
    assert set(citation["license"]) == {"MIT", "CC-BY-4.0"}
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert citation["repository-code"] == config["repository"]["url"]
