"""Packaging beyond pyproject.toml: the top-level template/ ships inside the wheel as hackkit/_template."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["hackkit", "hackkit.*"]), "hackkit._template"],
    package_dir={"hackkit._template": "template"},
)
