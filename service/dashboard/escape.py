"""Job data leaves the dashboard's data endpoints as text, never as markup.

rq-dashboard draws the JSON of its data endpoints into pages through unescaped
templates, so a job argument such as `<meta http-equiv=refresh ...>` or `<base href>`
would act in the viewer's browser (the CSP stops scripts, not these). Escaping every
string of every JSON answer covers every field, present or added by an upgrade.
"""

from __future__ import annotations

import html
import json

from flask import Flask, Response

Json = dict[str, "Json"] | list["Json"] | str | int | float | bool | None


def escape_json_answers(app: Flask) -> None:
    @app.after_request
    def escape(response: Response) -> Response:
        # Data only: error answers are ours, and rq-dashboard's pages never draw them.
        if response.mimetype == "application/json" and response.status_code < 400:
            data = json.loads(response.get_data())
            response.set_data(json.dumps(escaped(data)))
        return response


def escaped(value: Json) -> Json:
    """`value` with every string, at any depth, HTML-escaped (keys are rq-dashboard's own names)."""
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, list):
        return [escaped(item) for item in value]
    if isinstance(value, dict):
        return {key: escaped(item) for key, item in value.items()}
    return value
