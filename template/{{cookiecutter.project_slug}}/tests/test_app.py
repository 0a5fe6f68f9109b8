"""What judges try first. These run offline with hackkit's fake provider: `python -m pytest`."""

from hackkit.errors import ServerError
from hackkit.testing import enqueue
from hackkit.ui.viewmodel import POLITE_ERROR

QUESTION = {{ '"How are projects judged?"' if cookiecutter.rag else '"What can you do?"' }}


def test_an_empty_question_asks_for_one(ask):
    reply = ask("   ")
    assert reply.text == "Please type a question."
    assert not reply.sources


def test_a_question_gets_an_answer(ask):
    reply = ask(QUESTION)
    assert reply.text and not reply.error
    assert reply.done


def test_a_provider_error_reaches_the_visitor_as_a_polite_message(ask):
    enqueue(*[ServerError("the provider is down")] * 5)  # the first try and every retry fail
    reply = ask(QUESTION)
    assert reply.text == POLITE_ERROR
    assert reply.error


def test_the_app_recovers_after_a_provider_error(ask):
    enqueue(*[ServerError("the provider is down")] * 5)
    assert ask(QUESTION).error
    assert not ask(QUESTION).error
{%- if cookiecutter.ui == "gradio" %}


def test_the_page_builds_with_the_configured_title(project):
    import runpy

    demo = runpy.run_path(str(project / "app.py"))["demo"]  # imported, not launched
    assert demo.title == {{ cookiecutter.project_name | tojson }}
{%- else %}


def test_the_page_answers_a_question(project, app):
    from streamlit.testing.v1 import AppTest

    page = AppTest.from_file(str(project / "app.py"), default_timeout=120).run()
    assert not page.exception
    assert page.title[0].value == {{ cookiecutter.project_name | tojson }}
{%- if cookiecutter.rag %}
    page.chat_input[0].set_value("How are projects judged?").run()
    assert any("judging.md" in expander.label for expander in page.expander)
{%- else %}
    page.chat_input[0].set_value("Hello there").run()
{%- endif %}
    answer = [message for message in page.chat_message if message.name == "assistant"][-1]
    assert answer.markdown[0].value.startswith("Echo:")
{%- endif %}
