"""{{ cookiecutter.project_name }}: {{ cookiecutter.description }}

{% if cookiecutter.ui == "gradio" -%}
Run it with `python app.py` and open http://127.0.0.1:7860. Everything the page does comes from
hackkit.ui; change the title, examples, panels and limits in hackkit.toml, the model's instructions
in prompts/, and the documents in data/ (then `hackkit ingest`).
"""

import os

from hackkit.ui import gradio_app, launch_gradio

demo = gradio_app()  # a gr.Blocks: add your own tabs with `with demo:` before launching

if __name__ == "__main__":
    # HOST=0.0.0.0 in containers and on Spaces; PORT is set by Render and by the Dockerfile.
    launch_gradio(demo, host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "7860")))
{%- else -%}
Run it with `streamlit run app.py` and open http://127.0.0.1:8501 (.streamlit/config.toml keeps it
on this machine and sends no usage statistics). Everything the page does comes from hackkit.ui;
change the title, examples, panels and limits in hackkit.toml, the model's instructions in
prompts/, and the documents in data/ (then `hackkit ingest`).
"""

from hackkit.ui.streamlit_app import main

main()
{%- endif %}
