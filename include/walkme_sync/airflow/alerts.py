"""Tell people when a sync needs them: e-mail, Slack, a generic webhook, via Airflow notifiers.

`record_run` calls :func:`send_alerts` with the run summary, so every recorded run is judged once:
a Failed run, a share of failed-or-rejected rows above the integration's limit, a run slower than
its limit, and (opt-in) every success. The message holds the integration, the environment, the
one-line result, the reason and a link to the run. Notifiers are called with `notify()`, not through
their templating: report values in a reason must never be rendered as Jinja.

A failure to alert is logged and never changes the run's outcome.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from airflow.sdk.bases.notifier import BaseNotifier

from include.walkme_sync.airflow.run_note import note_text
from include.walkme_sync.config import IntegrationConfig
from include.walkme_sync.frames import Bucket

log = logging.getLogger(__name__)

EMAIL_ENV = "WALKME_SYNC_ALERT_EMAIL"
SLACK_CONN_ENV = "WALKME_SYNC_ALERT_SLACK_CONN_ID"
WEBHOOK_CONN_ENV = "WALKME_SYNC_ALERT_WEBHOOK_CONN_ID"


@dataclass(frozen=True)
class Alert:
    """One message about one run."""

    subject: str
    lines: list[str]
    link: str
    payload: dict[str, Any]

    @property
    def text(self) -> str:
        return "\n".join([*self.lines, f"Run: {self.link}"])


def alert_reasons(config: IntegrationConfig, summary: dict[str, Any]) -> list[str]:
    """Why this run deserves a message (empty: it does not)."""
    rules, reasons = config.alerts, []
    failed = summary.get("status") != "Completed"
    if failed and rules.on_failure:
        reasons.append("the run failed")
    rows = int(summary.get("report_rows") or 0)
    problems = int(summary.get(Bucket.FAILED) or 0) + int(summary.get(Bucket.REJECTED) or 0)
    if rules.max_problem_share is not None and rows and problems / rows > rules.max_problem_share:
        reasons.append(
            f"{problems / rows:.1%} of the report's rows failed or were rejected "
            f"(alerts.max_problem_share {rules.max_problem_share:.1%})"
        )
    runtime = float(summary.get("runtime_seconds") or 0) / 60
    if rules.max_runtime_minutes is not None and runtime > rules.max_runtime_minutes:
        reasons.append(
            f"the run took {runtime:.1f} minutes (alerts.max_runtime_minutes "
            f"{rules.max_runtime_minutes:g})"
        )
    if not reasons and not failed and rules.on_success:
        reasons.append("it completed (alerts.on_success)")
    return reasons


def build_alert(config: IntegrationConfig, summary: dict[str, Any], reasons: list[str]) -> Alert:
    result = note_text(summary).split("\n", 1)[0]
    link = run_link(str(summary.get("dag_run_id")), config.dag_id)
    lines = [
        f"Integration: {config.name} ({config.id})",
        f"Environment: {config.environment} (connection {config.conn_id})",
        f"Result: {result}",
    ]
    if summary.get("message"):
        lines.append(f"Reason: {summary['message']}")
    lines.append(f"Why you get this: {'; '.join(reasons)}")
    payload = {
        "integration": config.id,
        "name": config.name,
        "environment": config.environment,
        "status": summary.get("status"),
        "result": result,
        "reason": summary.get("message"),
        "alert_reasons": reasons,
        "run_url": link,
        "dag_run_id": summary.get("dag_run_id"),
    }
    subject = f"[WalkMe sync] {config.name} ({config.environment}): {summary.get('status')}"
    return Alert(subject=subject, lines=lines, link=link, payload=payload)


def run_link(run_id: str, dag_id: str) -> str:
    from airflow.sdk.configuration import conf

    base = str(conf.get("api", "base_url", fallback="") or "").rstrip("/")
    return f"{base}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


class WebhookNotifier(BaseNotifier):
    """POST one alert as JSON to the URL of an HTTP connection (Slack incoming webhook or any)."""

    template_fields = ()

    def __init__(self, conn_id: str, alert: Alert, *, slack: bool) -> None:
        super().__init__()
        self.conn_id, self.alert, self.slack = conn_id, alert, slack

    def notify(self, context: Any) -> None:
        from airflow.providers.http.hooks.http import HttpHook

        body = (
            {"text": f"*{self.alert.subject}*\n{self.alert.text}"}
            if self.slack
            else {
                "subject": self.alert.subject,
                **self.alert.payload,
            }
        )
        hook = HttpHook(method="POST", http_conn_id=self.conn_id)
        hook.run(endpoint="", json=body, extra_options={"timeout": 10})


def notifiers(config: IntegrationConfig, alert: Alert) -> list[tuple[str, BaseNotifier]]:
    """(channel, notifier) for every channel the integration or the project configures."""
    found: list[tuple[str, BaseNotifier]] = []
    emails = config.alerts.email or _env_list(EMAIL_ENV)
    if emails:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        html = "<br>".join(_escape(line) for line in [*alert.lines, f"Run: {alert.link}"])
        found.append(("email", SmtpNotifier(to=emails, subject=alert.subject, html_content=html)))
    slack = config.alerts.slack_conn_id or os.environ.get(SLACK_CONN_ENV)
    if slack:
        found.append(("slack", WebhookNotifier(slack, alert, slack=True)))
    webhook = config.alerts.webhook_conn_id or os.environ.get(WEBHOOK_CONN_ENV)
    if webhook:
        found.append(("webhook", WebhookNotifier(webhook, alert, slack=False)))
    return found


def send_alerts(config: IntegrationConfig, summary: dict[str, Any], context: Any) -> list[str]:
    """Send the run's alert on every channel; returns the channels that took it."""
    reasons = alert_reasons(config, summary)
    if not reasons:
        return []
    alert = build_alert(config, summary, reasons)
    sent = []
    for channel, notifier in notifiers(config, alert):
        try:
            notifier.notify(context)  # not __call__: no Jinja rendering of report values
            sent.append(channel)
        except Exception as exc:  # an alert is a convenience: never fail the sync for it
            log.warning("Could not send the %s alert: %s: %s", channel, type(exc).__name__, exc)
    if sent:
        log.info("Alert sent (%s): %s", ", ".join(sent), "; ".join(reasons))
    return sent


def _env_list(name: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


def _escape(text: str) -> str:
    import html

    return html.escape(text)
