"""`monitoring dashboard`: a web page of the live windows and alerts, updated by server-sent events.

follow.py reads the CSVs as they grow, state.py keeps what the page shows (pure), charts.py draws the
last minutes with matplotlib, app.py is the Starlette app (uvicorn serves it), page.html the page.
"""
