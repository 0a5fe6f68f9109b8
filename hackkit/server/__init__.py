"""The workshop gateway: one OpenAI-compatible server for a room of teams.

Mentors run ``hackkit gateway serve`` in a folder whose ``hackkit.toml`` names the models to
expose (``[gateway.models]``) and the providers behind them (``[llm.providers]``, keys from the
environment). Each team gets its own key, budget, rate limits and log. The request path::

    auth -> policies -> limits and budget reservation -> the client's Router -> settle and log

Importing this package imports no web framework; ``hackkit.server.app`` builds the ASGI app.
"""
