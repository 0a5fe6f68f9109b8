"""What judges try first. These run offline with hackkit's fake provider: `python -m pytest`."""

from hackkit.errors import ServerError
from hackkit.testing import enqueue, requests
from hackkit.ui.viewmodel import POLITE_ERROR

PROJECT_NAME = {{ cookiecutter.project_name | tojson }}
{%- if cookiecutter.rag %}
QUESTION = "How are projects judged?"
ANSWER = "Three judges score every project on four criteria [1]."  # what the model will say
{%- else %}
QUESTION = "What can you do?"
ANSWER = "I answer questions clearly and briefly."  # what the model will say
{%- endif %}


def test_an_empty_question_asks_for_one(ask):
    reply = ask("   ")
    assert reply.text == "Please type a question."
    assert not reply.sources


def test_a_question_gets_the_models_answer(ask):
    enqueue(ANSWER)  # not an echo of the question: only the app's own work brings this to the page
    reply = ask(QUESTION)
    assert reply.text == ANSWER and not reply.error
    assert reply.done
    (request,) = requests  # the model was asked once, led by the app's own prompt
    assert PROJECT_NAME in request.messages[0]["content"]
{%- if cookiecutter.rag %}
    assert reply.sources[0].n == 1 and "judging.md" in reply.sources[0].label  # the [1] it cites
    assert reply.sources[0].text in request.messages[-1]["content"]  # is a document the model was shown
{%- else %}
    assert request.messages[-1]["content"] == QUESTION
{%- endif %}


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
    assert demo.title == PROJECT_NAME
{%- else %}


def test_the_page_answers_a_question(project, app):
    from hackkit.ui.sanitize import safe_markdown
    from streamlit.testing.v1 import AppTest

    page = AppTest.from_file(str(project / "app.py"), default_timeout=120).run()
    assert not page.exception
    assert page.title[0].value == PROJECT_NAME
    enqueue(ANSWER)
    page.chat_input[0].set_value(QUESTION).run()
    answer = [message for message in page.chat_message if message.name == "assistant"][-1]
    shown = answer.markdown[0].value  # Markdown source: the answer escaped, then who answered
    assert shown.startswith(safe_markdown(ANSWER) + "\n\n")
    assert shown.endswith("*Answered by fake/echo.*")
{%- if cookiecutter.rag %}
    labels = [e.label.replace("\\", "") for e in page.expander]  # Markdown source: brackets come escaped
    assert any(label.startswith("[1] ") and "judging.md" in label for label in labels)  # the [1] it cites
{%- endif %}
{%- endif %}
