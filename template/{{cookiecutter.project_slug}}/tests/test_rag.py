"""Answers over the documents in data/, offline: `python -m pytest`."""

from hackkit.rag import NOT_FOUND


def test_a_question_about_the_documents_cites_them(ask):
    reply = ask("How long is each team's demo?")
    assert not reply.error
    assert reply.sources, "no source was shown"
    assert "judging.md" in reply.sources[0].label


def test_gibberish_is_not_in_the_documents(ask):
    reply = ask("zxqv blorptang wibblefrump?")
    assert reply.text == NOT_FOUND
    assert not reply.sources


def test_an_empty_document_is_skipped_and_reported(app, ask):
    report = app.upload([("empty.md", b"")])
    assert "Skipped empty.md" in report
    assert ask("When does hacking stop?").sources  # the other documents still answer
