"""``hackkit deploy TARGET``: build the bundle, run every check, then (Spaces only) push and prove it.

A dry run stops after the checks and returns the calls it would make; it needs no token and no
network. A push waits for the Space to run, asks it the canned question, and records the URL in
``.hackkit/deploy.json`` only once the answer has arrived.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hackkit.deploy import hub, probe, spaces
from hackkit.deploy.bundle import Bundle, BundleWriter, Call, default_out, scan_bundle, scan_project
from hackkit.deploy.containers import write_docker, write_modal, write_render
from hackkit.deploy.options import DeployOptions
from hackkit.deploy.record import record
from hackkit.deploy.source import Project

Writer = Callable[[BundleWriter, DeployOptions], Bundle]
TARGETS: dict[str, Writer] = {
    "spaces": spaces.write_spaces,
    "docker": write_docker,
    "render": write_render,
    "modal": write_modal,
}
YOUR_USER = "YOUR-USER"  # what a dry run without --space shows for the namespace


@dataclass
class Outcome:
    bundle: Bundle
    calls: list[Call] = field(default_factory=list)
    url: str = ""
    page: str = ""
    answer: str = ""


def build(target: str, options: DeployOptions, project: Project | None = None) -> Bundle:
    """Scan the project, write the bundle, scan the bundle; SecretFound stops before anything leaves."""
    project = project or Project.find()
    scan_project(project)
    writer = BundleWriter(project, (options.out or default_out(project, target)).resolve())
    writer.start()
    bundle = TARGETS[target](writer, options)
    scan_bundle(bundle)
    bundle.options["project"] = project
    return bundle


def deploy(target: str, options: DeployOptions, project: Project | None = None, report: hub.Report = print) -> Outcome:
    bundle = build(target, options, project)
    if target != "spaces":
        return Outcome(bundle)
    if options.dry_run:
        repo_id = spaces.space_id(options, YOUR_USER, _writer_of(bundle))
        calls = spaces.plan(bundle, repo_id)
        return Outcome(bundle, [Call("whoami"), *calls, *_afterwards(bundle, repo_id)])
    return _push(bundle, options, report)


def _afterwards(bundle: Bundle, repo_id: str) -> list[Call]:
    """What a push does after the upload, shown by the dry run."""
    kind = _kind(bundle)
    return [
        Call("get_space_runtime", {"repo_id": repo_id}, when="every few seconds until a terminal stage"),
        Call("space_info", {"repo_id": repo_id}, when="for the app's URL"),
        Call("ask", {"question": _question(bundle), "via": probe.ENDPOINT if kind == "gradio" else "/"}),
    ]


def _push(bundle: Bundle, options: DeployOptions, report: hub.Report) -> Outcome:
    token = hub.token()
    api = hub.hub_api(token)
    repo_id = spaces.space_id(options, hub.whoami(api), _writer_of(bundle))  # whoami checks the token first
    calls = spaces.plan(bundle, repo_id)
    report(f"Pushing {len(bundle.files)} files to the Space {repo_id}:")
    commit = hub.push(api, calls, report)
    report("Waiting for the Space to build and start:")
    hub.wait(api, repo_id, commit, options.timeout, options.poll_interval, report)
    url = hub.app_url(api, repo_id)
    question = _question(bundle)
    report(f"Asking {url}: {question!r}")
    private_token = token if options.private else None
    answer = probe.ask(url, _kind(bundle), question, token=private_token, timeout=options.timeout)
    page = hub.page_url(api, repo_id)
    project: Project = bundle.options["project"]
    static = _kind(bundle) == "static"  # the pitch deck's Space: recorded, never the demo link
    record(
        project.settings.data_dir,
        "spaces-static" if static else "spaces",
        url,
        app=not static,
        page=page,
        space=repo_id,
    )
    return Outcome(bundle, calls, url=url, page=page, answer=answer)


def _writer_of(bundle: Bundle) -> BundleWriter:
    return BundleWriter(bundle.options["project"], bundle.folder)


def _kind(bundle: Bundle) -> str:
    sdk = bundle.options.get("sdk")
    if sdk == "static":
        return "static"
    return "streamlit" if sdk == "docker" else "gradio"


def _question(bundle: Bundle) -> str:
    project: Project = bundle.options["project"]
    examples = project.settings.ui.examples
    return examples[0] if examples else "Hello! What can you do?"
