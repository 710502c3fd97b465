"""The mmoa dashboard: spend against the single-model baseline, models, routing, budgets, traces.

Run with `mmoa dashboard` (it starts `streamlit run` on this file with `--store FILE` or
`--collector URL`, and `--refresh SECONDS`). This file is the frame: it opens the source, draws
the sidebar filters, and runs the page picked in the navigation (one module per page in
dashboard/screens). Imports only `analytics` among mmoa's packages.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

from dashboard import context

# not "pages": Streamlit would treat that folder as its older, automatic multipage layout
PAGES = Path(__file__).resolve().parent / "screens"

# (file, title, url path, icon); the first is the default page
PAGE_LIST = (
    ("overview.py", "Overview", "overview", ":material/monitoring:"),
    ("models.py", "Models", "models", ":material/memory:"),
    ("routing.py", "Routing", "routing", ":material/alt_route:"),
    ("budgets.py", "Budgets", "budgets", ":material/savings:"),
    ("trace.py", "Trace", "trace", ":material/timeline:"),
    ("sql.py", "SQL", "sql", ":material/terminal:"),
)


def main() -> None:
    st.set_page_config(page_title="mmoa", page_icon=":material/route:", layout="wide")
    pages = [
        st.Page(str(PAGES / file), title=title, url_path=url, icon=icon, default=i == 0)
        for i, (file, title, url, icon) in enumerate(PAGE_LIST)
    ]
    page = st.navigation(pages)
    st.sidebar.caption("mmoa: LLM spend and savings")
    if context.build(context.parse_args(sys.argv[1:])) is None:
        st.title(page.title)
        st.stop()
    page.run()


main()
