"""The dashboard: how the community is doing, drawn as server-rendered SVG charts."""
from __future__ import annotations

from flask import g, render_template

from api.pages import blp, page_login_required
from api.pages.charts import bar_chart, line_chart
from matcher.service.stats import community_stats


@blp.route("/dashboard")
@page_login_required
def dashboard():
    """Members waiting, proposals and their age, supporters' load, time to a first pairing, ratings by week."""
    stats = community_stats(g.db)
    charts = {
        "role": bar_chart("Members waiting, by role", stats.waiting_by_role),
        "language": bar_chart("Members waiting, by language", stats.waiting_by_language),
        "load": bar_chart("Supporters and peers, by how full they are", stats.supporter_load),
        "ratings": line_chart("Mean rating by week (1 to 5)",
                              [(w.week, w.mean) for w in stats.ratings_by_week]),
    }
    return render_template("dashboard.html", stats=stats, charts=charts)
