"""The targets that build from a folder: Docker, Render (which builds the Dockerfile) and Modal.

Each writes its bundle and says what to run next; none of them needs a token or the network.
"""

from __future__ import annotations

from hackkit.deploy import files
from hackkit.deploy.appfiles import AppOptions, write_app
from hackkit.deploy.bundle import Bundle, BundleWriter
from hackkit.deploy.options import DeployOptions


def write_docker(writer: BundleWriter, options: DeployOptions) -> Bundle:
    """The app, its Dockerfile and .dockerignore: what Docker, Render and a Docker Space build."""
    spec = writer.project.spec(bake=options.bake)
    notes = write_app(writer, AppOptions(cpu_index=False))
    writer.write("Dockerfile", files.dockerfile(spec))
    writer.write(".dockerignore", files.dockerignore(spec))
    bundle = Bundle("docker", writer.folder, notes=notes, options={"spec": spec})
    keys = " ".join(f"-e {name}" for name in writer.project.secrets())
    bundle.commands = [
        f"docker build -t {spec.slug} {writer.folder}",
        f"docker run --rm -p {spec.port}:{spec.port} {keys + ' ' if keys else ''}{spec.slug}".replace("  ", " "),
    ]
    if keys:
        bundle.notes.append("the keys are passed from your shell with -e (export them, or use --env-file .env)")
    return bundle


def write_render(writer: BundleWriter, options: DeployOptions) -> Bundle:
    bundle = write_docker(writer, options)
    spec = bundle.options["spec"]
    writer.write("render.yaml", files.render_yaml(spec))
    bundle.target = "render"
    bundle.commands = [
        f"push {writer.folder} as a git repository (render.yaml at its top), then on render.com: "
        "New > Blueprint, pick the repository; Render asks for "
        + (", ".join(spec.secret_variables) or "nothing: no key is needed"),
    ]
    return bundle


def write_modal(writer: BundleWriter, options: DeployOptions) -> Bundle:
    spec = writer.project.spec(bake=options.bake)
    notes = write_app(writer, AppOptions(cpu_index=False))
    writer.write("modal_app.py", files.modal_app(spec))
    bundle = Bundle("modal", writer.folder, notes=notes, options={"spec": spec})
    secrets = " ".join(f"{name}=..." for name in spec.secret_variables)
    bundle.commands = [
        "pip install modal && modal setup",
        *([f"modal secret create {spec.slug}-keys {secrets}"] if secrets else []),
        f"cd {writer.folder} && modal deploy modal_app.py",
    ]
    if not secrets:
        bundle.commands.insert(1, f"modal secret create {spec.slug}-keys NONE=none   # the app needs no key")
    return bundle
