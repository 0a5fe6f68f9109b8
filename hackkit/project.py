"""``hackkit new`` and ``hackkit update``: render the project template, and keep projects current.

A project is rendered from ``template/`` through cookiecutter's API, committed to a new git
repository, and its answers are stored in ``.hackkit-answers.yml``. The pristine render is kept
on the branch ``hackkit-template``; ``update`` re-renders it with the installed hackkit and merges
that branch into the team's, so git does the three-way merge and conflicts look like any other.
"""

from __future__ import annotations

import datetime
import json
import keyword
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hackkit import __version__
from hackkit.errors import ConfigError, HackkitError

ANSWERS_FILE = ".hackkit-answers.yml"
TEMPLATE_BRANCH = "hackkit-template"
SLUG = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
MAX_NAME = 64
RESERVED = {"hackkit", "gradio", "streamlit", "app", "test", "tests", "data", "prompts"}  # modules the app imports
WINDOWS_DEVICES = {"con", "prn", "aux", "nul", *(f"{port}{n}" for port in ("com", "lpt") for n in range(10))}
TEXT_ANSWERS = ("project_name", "description", "author")
FALLBACK_IDENTITY = ("-c", "user.name=hackkit", "-c", "user.email=hackkit@localhost")


def template_dir() -> Path:
    """The template shipped with this hackkit: ``template/`` in a checkout, ``hackkit/_template`` in a wheel."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "_template", package.parent / "template"):
        if (candidate / "cookiecutter.json").is_file():
            return candidate
    raise HackkitError("hackkit's project template is missing from this installation.", hint="reinstall hackkit-llm")


def template_defaults(template: Path | None = None) -> dict[str, Any]:
    """``cookiecutter.json``: a list is a choice (its first item the default)."""
    data: dict[str, Any] = json.loads(((template or template_dir()) / "cookiecutter.json").read_text(encoding="utf-8"))
    return data


def default_answer(spec: Any, answers: dict[str, Any]) -> Any:
    """A ``cookiecutter.json`` default, rendered like cookiecutter does: Jinja over the answers so far."""
    value = spec[0] if isinstance(spec, list) else spec
    if isinstance(value, str) and "{{" in value:
        import jinja2

        value = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(value).render(cookiecutter=answers)
    return value


def choices(template: Path | None = None) -> dict[str, list[str]]:
    return {key: value for key, value in template_defaults(template).items() if isinstance(value, list)}


def project_slug(name: str) -> str:
    """The folder name for NAME (a name, or a title such as "Study Buddy"); a ConfigError says why not."""
    slug = slug_of(name)
    if _is_path(name) or not slug:
        check_name(name)  # raises: a path, or nothing to keep; the message names what the team typed
    check_name(slug)
    return slug


def check_name(slug: str) -> None:
    """A project name must work as a folder (on Windows too), a Docker image and (with _ for -) a Python module."""
    if problem := name_problem(slug):
        raise ConfigError(*problem)


def name_problem(slug: str) -> tuple[str, str] | None:
    """What is wrong with a project name, and the fix; None when it is fine.

    template/hooks/pre_gen_project.py repeats this rule in the same words, so plain cookiecutter
    refuses the same names (a test checks that the two agree).
    """
    module = slug.replace("-", "_")
    if _is_path(slug):
        parent, leaf = _split_path(slug)
        return (
            f"{slug!r} is a path; a project name is one folder name.",
            f"pass the name {leaf!r} alone, and the folder to create it in with -o (here: -o {parent})",
        )
    if not slug:
        return "The project name is empty.", "give a name such as study-buddy"
    if len(slug) > MAX_NAME:
        return (
            f"The project name is {len(slug)} characters long; the most is {MAX_NAME}.",
            "pick a shorter name (the title can stay long)",
        )
    if not slug.isascii():
        return (
            f"{slug!r} is not ASCII; a project name is made of a-z, 0-9 and hyphens.",
            "pick a name in those (for example: study-buddy); the title can be in any language",
        )
    if not SLUG.fullmatch(slug):
        return (
            f"{slug!r} is not a valid project name.",
            "use lowercase letters, digits and single hyphens, starting with a letter (for example: study-buddy)",
        )
    another = f"pick another name, e.g. {slug}-app"
    if slug in WINDOWS_DEVICES:
        return f"{slug!r} is a device name on Windows, so no folder there can have it.", another
    if keyword.iskeyword(module):
        return f"{slug!r} is a Python keyword, so it cannot name a module.", another
    if module in RESERVED:
        return f"{slug!r} would shadow the module {module!r} that the app imports.", another
    return None


def _is_path(name: str) -> bool:
    return "/" in name or "\\" in name


def _split_path(name: str) -> tuple[str, str]:
    """``../x`` -> ("..", "x"): the folder to create in, and the name."""
    parent, separator, leaf = name.replace("\\", "/").rstrip("/").rpartition("/")
    return parent or ("/" if separator else "."), leaf


def check_text(key: str, value: str) -> None:
    if not value.strip() or any(c in value for c in '"\\') or any(ord(c) < 32 for c in value):
        raise ConfigError(
            f"The {key.replace('_', ' ')} {value!r} cannot be used.",
            hint="give one line of text without double quotes or backslashes",
        )


def slug_of(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def installed_from() -> str:
    """Where hackkit-llm was installed from, as a pip requirement URL; "" when from an index.

    PEP 610's ``direct_url.json`` says it for pip installs from a folder, a wheel file or git. A
    source checkout (its metadata is an egg-info without that file) is its own folder.
    """
    from importlib.metadata import distributions

    for dist in distributions(name="hackkit-llm"):
        text = dist.read_text("direct_url.json")
        if text:
            direct = json.loads(text)
            url = str(direct.get("url", ""))
            vcs = direct.get("vcs_info")
            return f"{vcs['vcs']}+{url}@{vcs.get('commit_id', '')}".rstrip("@") if vcs else url
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "template").is_dir():
        return checkout.as_uri()
    return ""


def torch_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch").split("+")[0]
    except PackageNotFoundError:
        return ""


@dataclass
class Created:
    path: Path
    answers: dict[str, Any]
    seconds: float
    committed: bool
    notes: list[str] = field(default_factory=list)


def context(answers: dict[str, Any]) -> dict[str, Any]:
    """The cookiecutter context: the team's answers plus what hackkit fills in itself, all literal."""
    extra = {"__hackkit_version": __version__, "__hackkit_source": installed_from()}
    if torch := torch_version():
        extra["__torch_version"] = torch
    return {key: literal(value) for key, value in {**answers, **extra}.items()}


def literal(value: Any) -> Any:
    """``value`` written so that cookiecutter, which renders every answer as Jinja, gives it back unchanged.

    Each ``{`` becomes the expression ``{{ "{" }}``: with no ``{`` left, no tag can start, and
    ``}}`` or ``%}`` alone are plain text. So ``Ducks {{ 6*7 }}`` stays that, not ``Ducks 42``.
    """
    return value.replace("{", '{{ "{" }}') if isinstance(value, str) else value


def render(answers: dict[str, Any], output_dir: Path, *, force: bool = False, template: Path | None = None) -> Path:
    """Render the template into ``output_dir/<project_slug>``; nothing is written when the folder is taken."""
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.main import cookiecutter

    template = template or template_dir()
    target = output_dir / answers["project_slug"]
    if target.exists() and not target.is_dir():
        raise ConfigError(f"{target} exists and is a file.", hint="pick another name or folder")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise ConfigError(
            f"{target} already exists and is not empty; nothing was written.",
            hint="pick another name, or pass --force to write the template's files into it "
            "(files it also has are overwritten, nothing else is touched)",
        )
    try:
        path = cookiecutter(
            str(template),
            no_input=True,
            extra_context=context(answers),
            output_dir=str(output_dir),
            overwrite_if_exists=target.is_dir(),
        )
    except CookiecutterException as exc:
        raise HackkitError(f"The template could not be rendered: {exc}", hint="report this as a hackkit bug") from exc
    from hackkit.deploy.files import write_project_files

    full = with_defaults(answers, template)  # a caller may give only some answers, as cookiecutter allows
    write_project_files(Path(path), full)  # the files `hackkit deploy` writes too, from the same code
    return Path(path)


def with_defaults(answers: dict[str, Any], template: Path | None = None) -> dict[str, Any]:
    """``answers`` with every question it leaves out answered as cookiecutter does: its default."""
    full = dict(answers)
    for key, spec in template_defaults(template).items():
        if key not in full and not key.startswith("_"):
            full[key] = default_answer(spec, full)
    return full


def create(
    answers: dict[str, Any],
    output_dir: Path,
    *,
    force: bool = False,
    git: bool = True,
    template: Path | None = None,
) -> Created:
    """``hackkit new``: validate, render, then commit the render and keep it on the template branch."""
    started = time.perf_counter()
    slug = answers.get("project_slug") or project_slug(answers["project_name"])
    answers = {"year": str(datetime.date.today().year), **answers, "project_slug": slug}
    check_name(slug)
    for key in TEXT_ANSWERS:
        if key in answers:
            check_text(key, str(answers[key]))
    path = render(answers, output_dir, force=force, template=template)
    created = Created(path, answers, 0.0, committed=False)
    if git:
        _commit_first_render(created)
    created.seconds = time.perf_counter() - started
    return created


@dataclass
class Updated:
    old_version: str
    new_version: str
    changed: list[str]  # what the template changed since it was last merged
    conflicts: list[str]
    up_to_date: bool = False  # the template branch was merged into the current one already: nothing to do


def update(project: Path, *, template: Path | None = None) -> Updated:
    """Re-render with the installed hackkit and the stored answers, then merge into the current branch.

    Up to date means the template branch is merged into HEAD, not that the render is unchanged: after
    a ``git merge --abort`` or a merge git refused, the next update merges the same commit again.
    """
    project = project.resolve()
    answers, old_version = _stored_answers(project)
    _check_ready_to_merge(project)
    _commit_fresh_render(project, answers, f"hackkit update: template {old_version} -> {__version__}", template)
    if _template_is_merged(project):
        return Updated(old_version, __version__, [], [], up_to_date=True)
    changed = _git(project, "diff", "--name-only", f"HEAD...{TEMPLATE_BRANCH}").stdout.splitlines()
    merge = _git(
        project, "merge", "--no-edit", "-m", f"Merge the hackkit {__version__} template", TEMPLATE_BRANCH, check=False
    )
    conflicts = _git(project, "diff", "--name-only", "--diff-filter=U").stdout.splitlines() if merge.returncode else []
    if merge.returncode and not conflicts:
        raise HackkitError(
            f"git merge failed: {merge.stderr.strip() or merge.stdout.strip()}",
            hint="do what git says (often: move the files it names out of the way), then run hackkit update again",
        )
    return Updated(old_version, __version__, changed, conflicts)


def _template_is_merged(project: Path) -> bool:
    return _git(project, "merge-base", "--is-ancestor", TEMPLATE_BRANCH, "HEAD", check=False).returncode == 0


def _stored_answers(project: Path) -> tuple[dict[str, Any], str]:
    import yaml

    path = project / ANSWERS_FILE
    if not path.is_file():
        raise ConfigError(
            f"{project} has no {ANSWERS_FILE}, so it was not made by `hackkit new`.",
            hint="run hackkit update in the project's top folder",
        )
    stored = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return stored.get("answers") or {}, str(stored.get("template_version", "?"))


def _check_ready_to_merge(project: Path) -> None:
    if (
        not (project / ".git").exists()
        or _git(project, "rev-parse", "--verify", "-q", TEMPLATE_BRANCH, check=False).returncode
    ):
        raise ConfigError(
            f"{project} has no {TEMPLATE_BRANCH!r} git branch holding the pristine render.",
            hint="projects made by `hackkit new` have one; without it, compare with a fresh `hackkit new` by hand",
        )
    if _git(project, "rev-parse", "-q", "--verify", "MERGE_HEAD", check=False).returncode == 0:
        raise ConfigError("A merge is in progress.", hint="finish it (git commit) or undo it (git merge --abort)")
    if _git(project, "status", "--porcelain", "--untracked-files=no").stdout.strip():
        raise ConfigError("The project has uncommitted changes.", hint="commit or stash them, then run hackkit update")


def _commit_fresh_render(project: Path, answers: dict[str, Any], message: str, template: Path | None) -> None:
    """Replace the template branch's files with a fresh render, and commit them if they changed."""
    with tempfile.TemporaryDirectory(prefix="hackkit-update-") as scratch:
        fresh = render(answers, Path(scratch) / "render", template=template)
        worktree = Path(scratch) / "pristine"
        _git(project, "worktree", "prune")  # forget worktrees of an update that was killed
        _git(project, "worktree", "add", "-q", str(worktree), TEMPLATE_BRANCH)
        try:
            _git(worktree, "rm", "-rq", "--ignore-unmatch", ".")
            shutil.copytree(fresh, worktree, dirs_exist_ok=True)
            _git(worktree, "add", "-A")
            if _git(worktree, "diff", "--cached", "--quiet", check=False).returncode:
                _commit_all(worktree, message)
        finally:
            _git(project, "worktree", "remove", "--force", str(worktree), check=False)


def _commit_first_render(created: Created) -> None:
    """``git init``, commit, and keep the pristine render on the template branch, where git allows."""
    path = created.path
    if shutil.which("git") is None:
        created.notes.append("git is not installed, so nothing was committed and `hackkit update` will not work.")
    elif _inside_git(path):  # like `cargo new`: a repository inside another one confuses git
        created.notes.append(
            "The folder is inside a git repository, so nothing was committed; `hackkit update` needs the "
            "project in a repository of its own."
        )
    else:
        _git(path, "init", "-q", "-b", "main")
        _commit_all(path, f"hackkit new: template {__version__}")
        _git(path, "branch", TEMPLATE_BRANCH)
        created.committed = True


def _inside_git(path: Path) -> bool:
    return _git(path, "rev-parse", "--git-dir", check=False).returncode == 0


def _commit_all(path: Path, message: str) -> None:
    _git(path, "add", "-A")
    identity: tuple[str, ...] = ()
    if _git(path, "config", "user.email", check=False).returncode:
        identity = FALLBACK_IDENTITY  # a fresh machine has no git identity; the team's own commits will
    _git(path, *identity, "commit", "-q", "--no-verify", "-m", message)


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and result.returncode:
        raise HackkitError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result
