"""The audit trail: who did what at the desk, and when. An entry is added in
the transaction of the action it records, so neither is stored without the
other. It holds ids and claim codes, never patient text; the desk's admins
read it on the Audit log page, and retention deletes it after
AUDIT_RETENTION_DAYS."""

from __future__ import annotations

from .extensions import db
from .models import AuditEvent


def record(staff: str, action: str, subject: str = "") -> None:
    """Record a desk action in the transaction that does it: the caller
    commits both together, so neither is stored without the other. Callers
    pass ids and claim codes, never patient text."""
    db.session.add(AuditEvent(staff=staff[:80], action=action[:40], subject=subject[:120]))
