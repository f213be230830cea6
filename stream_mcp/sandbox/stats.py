"""QueryTeamUsageStats (POST /stats/team_usage): usage per team, computed from the
sandbox's own data.

Teams are the ``team`` of channels and users ("" for neither). Messages count by their
channel's team and users by their teams. Without dates the month to date is reported
(totals only); with ``start_date``/``end_date`` each metric also has a ``daily`` list.
Translations, image moderations and concurrency are always 0: the sandbox does none of them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from stream_mcp.sandbox import paging
from stream_mcp.sandbox.clock import parse_time
from stream_mcp.sandbox.context import Call, opt_str
from stream_mcp.sandbox.errors import input_error
from stream_mcp.sandbox.store import CHANNELS, MESSAGES, USERS

_ZERO_DAILY = ("translations_daily", "image_moderations_daily")
_PEAKS = ("concurrent_users", "concurrent_connections")


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise input_error(f"{name} must be YYYY-MM-DD", field=name) from None


def _window(call: Call) -> tuple[date, date, bool]:
    body = call.body
    month = opt_str(body, "month")
    start = _day(opt_str(body, "start_date"), "start_date")
    end = _day(opt_str(body, "end_date"), "end_date")
    today = call.clock.peek().date()
    if month and (start or end):
        raise input_error("month cannot be combined with start_date/end_date", field="month")
    if month:
        try:
            first = datetime.strptime(month, "%Y-%m").date()
        except ValueError:
            raise input_error("month must be YYYY-MM", field="month") from None
        nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        return first, nxt - timedelta(days=1), False
    if start or end:
        start = start or (end or today) - timedelta(days=30)
        end = end or today
        if end < start:
            raise input_error("end_date is before start_date", field="end_date")
        return start, end, True
    return today.replace(day=1), today, False


def _metric(per_day: dict[date, int], start: date, end: date, daily: bool) -> dict[str, Any]:
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    out: dict[str, Any] = {"total": sum(per_day.get(d, 0) for d in days)}
    if daily:
        out["daily"] = [{"date": d.isoformat(), "value": per_day.get(d, 0)} for d in days]
    return out


def query_team_usage_stats(call: Call) -> dict[str, Any]:
    start, end, daily = _window(call)
    only_team = call.body.get("team")
    now = call.clock.peek()
    channel_team = {c["cid"]: c.get("team") or "" for c in call.store.select(CHANNELS)}
    users_by_team: dict[str, list[dict[str, Any]]] = {}
    for user in call.store.select(USERS):
        for team in user.get("teams") or [""]:
            users_by_team.setdefault(team, []).append(user)
    messages_by_team: dict[str, list[datetime]] = {}
    for message in call.store.select(MESSAGES):
        team = channel_team.get(message["cid"], "")
        messages_by_team.setdefault(team, []).append(parse_time(message["created_at"]))
    teams = sorted(set(users_by_team) | set(messages_by_team))
    if isinstance(only_team, str):
        teams = [t for t in teams if t == only_team]
    rows = []
    for team in teams:
        sent = messages_by_team.get(team, [])
        members = users_by_team.get(team, [])
        active = [parse_time(u["last_active"]) for u in members if u.get("last_active")]
        msg_days: dict[date, int] = {}
        for moment in sent:
            msg_days[moment.date()] = msg_days.get(moment.date(), 0) + 1
        user_days: dict[date, int] = {}
        for moment in active:
            user_days[moment.date()] = user_days.get(moment.date(), 0) + 1
        month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        row: dict[str, Any] = {
            "team": team,
            "users_daily": _metric(user_days, start, end, daily),
            "messages_daily": _metric(msg_days, start, end, daily),
            **{name: _metric({}, start, end, daily) for name in _ZERO_DAILY},
            **{name: {"total": 0} for name in _PEAKS},
            "users_total": {"total": len(members)},
            "users_last_24_hours": {"total": sum(m > now - timedelta(days=1) for m in active)},
            "users_last_30_days": {"total": sum(m > now - timedelta(days=30) for m in active)},
            "users_month_to_date": {"total": sum(m >= month_start for m in active)},
            "users_engaged_last_30_days": {"total": 0},
            "users_engaged_month_to_date": {"total": 0},
            "messages_total": {"total": len(sent)},
            "messages_last_24_hours": {"total": sum(m > now - timedelta(days=1) for m in sent)},
            "messages_last_30_days": {"total": sum(m > now - timedelta(days=30) for m in sent)},
            "messages_month_to_date": {"total": sum(m >= month_start for m in sent)},
        }
        rows.append(row)
    chunk, cursors = paging.page(rows, call.body, default_limit=30, max_limit=30)
    return {"teams": chunk, **({"next": cursors["next"]} if "next" in cursors else {})}
