"""Real files for ingest tests, built in the test: PDFs (plain, encrypted, truncated), Word, HTML, CSV."""

from __future__ import annotations

import io
from pathlib import Path


def pdf_bytes(pages: list[str]) -> bytes:
    """A minimal valid PDF, one line of Helvetica text per page."""
    objects: list[str] = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids = []
    for text in pages:
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 11 Tf 40 720 Td ({escaped}) Tj ET" if text else ""
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {len(objects)} 0 R >>"
        )
        kids.append(len(objects))
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>"
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def encrypted_pdf_bytes(pages: list[str], password: str = "secret") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(pages))))
    writer.encrypt(password, algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def docx_bytes(title: str, sections: dict[str, str]) -> bytes:
    from docx import Document

    document = Document()
    document.core_properties.title = title
    document.add_heading(title, level=1)
    for heading, text in sections.items():
        document.add_heading(heading, level=2)
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def write_sample_docs(folder: Path) -> None:
    """A small, varied document set a hackathon team might have."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "handbook.md").write_text(
        "# Team handbook\n\n## Demo day\n\nThe demo starts at 17:00 in room B12. Each team gets five minutes "
        "and two questions from the judges.\n\n## Prizes\n\nThe first prize is a trip to the Paris AI summit. "
        "The second prize is a set of mechanical keyboards.\n"
    )
    (folder / "food.txt").write_text(
        "The cafeteria serves lunch from noon to 2 pm. Vegetarian and vegan options are available every day.\n"
    )
    (folder / "rules.html").write_text(
        "<html><head><title>Hackathon rules</title><script>var tracking = 1;</script></head><body>"
        "<h1>Rules</h1><p>Teams have at most four members.</p><h2>Code</h2><p>All code must be written "
        "during the event and pushed to a public repository.</p></body></html>"
    )
    (folder / "sponsors.pdf").write_bytes(
        pdf_bytes(
            [
                "Our sponsors provide free GPU credits for every registered team.",
                "Mentors from the sponsor companies hold office hours on Saturday morning.",
            ]
        )
    )
    (folder / "schedule.docx").write_bytes(
        docx_bytes(
            "Schedule",
            {
                "Saturday": "Hacking starts at 9:00 after the opening keynote about retrieval augmented generation.",
                "Sunday": "Submissions close at 14:00 and the closing ceremony is at 18:00.",
            },
        )
    )
    (folder / "teams.csv").write_text(
        "team,members,project\nRubber Ducks,4,a debugging assistant\nNight Owls,3,a sleep tracker for students\n"
    )


VENUE_CODE = "ZX-4471"


def write_venue_notes(folder: Path) -> None:
    """One long chunk about many things that holds a code once: an exact keyword hit with a low cosine similarity."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "venue.md").write_text(
        "# Venue notes\n\nThe venue opens its doors at eight in the morning and the main hall has three hundred "
        "seats. Parking is free on the north side of the building, and bicycles can be left in the courtyard. "
        "The coffee machines on the first floor are refilled every two hours by the catering staff. Lost and "
        "found items are kept at the reception desk until Sunday evening. The hardware lab door uses the code "
        f"{VENUE_CODE}, so ask a mentor if it does not open. Quiet rooms are on the second floor for teams that "
        "need to focus, and the rooftop terrace closes at sunset. Please keep the corridors free of cables and "
        "bags, since the fire marshal checks them twice a day.\n"
    )


def template_project(folder: Path) -> Path:
    """The project `hackkit new --no-input` makes, rendered without git: its documents and sample questions."""
    from hackkit import project

    return project.render({"project_name": "Demo app", "project_slug": "demo-app"}, folder)
