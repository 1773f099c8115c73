"""What the API and the pages need of the running platform, and nothing more.

The web layer reads the platform through :class:`PlatformPort`, never through the
composition root (``plantos.app``), which builds the platform *and* installs the web
layer: depending on it would be an import cycle. Each concern is a small protocol of
read-only members; the composition root proves (under mypy) that its platform
satisfies them all. A test double or another composition can serve the same API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from plantos.analytics.oee.reason_store import ReasonStore
from plantos.analytics.stage import AnalyticsStage
from plantos.core.batch import SampleBatch
from plantos.core.clock import Clock
from plantos.core.events import Event
from plantos.edge.supervisor import Supervisor
from plantos.historian.deadletter import DeadLetterStore
from plantos.historian.protocol import Historian
from plantos.integration.erp.outbox.dispatcher import OutboxDispatcher
from plantos.live import LiveState
from plantos.loops.quality_setup import Quality
from plantos.loops.setup import Maintenance
from plantos.model import Plant, TagDef
from plantos.mom.runtime import MomRuntime
from plantos.security import AuditLog, TokenStore, UserStore
from plantos.security.ot_write import OtWrites


class PlantData(Protocol):
    """The plant model, its time and its data: what the plant, live, history and
    analytics routes and pages show."""

    @property
    def clock(self) -> Clock:
        """Platform time (may run faster than the wall in the demo): every "now"."""

    @property
    def plant(self) -> Plant:
        """The plant model: assets, tags and their specs, for lookups and scoping."""

    @property
    def tag_ids(self) -> Mapping[str, int]:
        """Tag path to historian id: turns a path in a URL into a query."""

    @property
    def tags_by_id(self) -> Mapping[int, TagDef]:
        """Historian id to tag: names what a connector reports by id."""

    @property
    def live(self) -> LiveState:
        """The newest value of every tag, for the live routes and the stream."""

    @property
    def historian(self) -> Historian:
        """Raw and rolled-up history, and the store's statistics."""

    @property
    def analytics(self) -> AnalyticsStage:
        """OEE, SPC, anomaly watches and alarms as judged from the stream."""

    @property
    def reasons(self) -> ReasonStore:
        """The reasons operators gave to stops."""

    @property
    def judgements(self) -> Sequence[Event]:
        """The newest judgements (anomalies, SPC findings, alarms), newest last."""


class Security(Protocol):
    """Who may do what, and the record of what they did."""

    @property
    def tokens(self) -> TokenStore:
        """API tokens: authenticates a bearer and lists or revokes tokens."""

    @property
    def users(self) -> UserStore:
        """People, their roles and scopes, and their sign-in sessions."""

    @property
    def audit(self) -> AuditLog:
        """Every security-relevant act, appended by the routes and read by the audit view."""

    @property
    def ot_writes(self) -> OtWrites:
        """The only path back into OT: requests, approvals and their execution."""


class Operations(Protocol):
    """Production, maintenance and business systems, and the events they publish."""

    @property
    def mom(self) -> MomRuntime:
        """Orders, their progress, the plan and the floor's records."""

    @property
    def maintenance(self) -> Maintenance:
        """Work orders, the maintenance loop and the notifications."""

    @property
    def quality(self) -> Quality:
        """Nonconformances, the holds they put on orders and the quality loop."""

    @property
    def erp(self) -> OutboxDispatcher | None:
        """The ERP connectors draining the outbox (None without an erp.yaml)."""

    async def emit(self, event: Event) -> None:
        """Publish an event a person caused (an acknowledged alarm, a changed order)."""

    async def ingest(self, batch: SampleBatch, *, source: str) -> None:
        """Samples through the ingest gate onto the bus, like a connector's: a value a
        person entered reaches the historian and the live state the same way."""


class Running(Protocol):
    """How the platform runs: what a service manager and an operator of PlantOS ask."""

    @property
    def ready(self) -> bool:
        """Every bus consumer running: the readiness probe."""

    @property
    def connectors(self) -> Sequence[Supervisor]:
        """The supervised connectors, for what each tag is reported by."""

    @property
    def dead_letters(self) -> DeadLetterStore:
        """Batches the historian refused, to list and to replay."""

    def health(self) -> dict[str, Any]:
        """Each stage's state, lag, restarts and last error."""

    def metrics(self) -> dict[str, Any]:
        """Counters of every part, for the system routes and Prometheus."""


class PlatformPort(PlantData, Security, Operations, Running, Protocol):
    """Everything the API and the pages use of the running platform."""
