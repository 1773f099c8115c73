"""The integrations page: each ERP connector's delivery state and lag, its dead letters
with the receiver's reason and the payload, and replay buttons (audited, CSRF-checked
like every form)."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from plantos.api.auth import ENTERPRISE_WIDE, platform_of
from plantos.integration.erp.outbox.dispatcher import OutboxDispatcher
from plantos.security import Identity
from plantos.ui.render import page
from plantos.ui.session import page_require

router = APIRouter(include_in_schema=False)

READ = page_require("system:read", scope_from=ENTERPRISE_WIDE)
WRITE = page_require("system:write", scope_from=ENTERPRISE_WIDE)


def _view(dispatcher: OutboxDispatcher) -> dict[str, Any]:
    store = dispatcher.store
    names = store.connectors(c.name for c in dispatcher.connectors)
    letters = [x.to_dict() | {"payload_text": json.dumps(x.payload, indent=2, sort_keys=True)}
               for x in store.dead_letters(limit=200)]  # fmt: skip
    return {"connectors": [store.status(n) for n in names], "dead_letters": letters}


@router.get("/integrations", response_class=HTMLResponse)
async def integrations_page(
    request: Request, message: str = "", identity: Identity = READ
) -> HTMLResponse:
    dispatcher: OutboxDispatcher | None = platform_of(request).erp
    view: dict[str, Any] = {"connectors": [], "dead_letters": [], "configured": False}
    if dispatcher is not None:
        view = await asyncio.to_thread(_view, dispatcher) | {"configured": True}
    return page(request, "integrations.html", view | {"message": message})


@router.post("/integrations/{name}/replay")
async def replay_form(
    request: Request,
    name: str,
    message_id: Annotated[str, Form(max_length=36)] = "",
    identity: Identity = WRITE,
) -> RedirectResponse:
    platform = platform_of(request)
    dispatcher: OutboxDispatcher | None = platform.erp
    if dispatcher is None:
        return _back("no ERP connector is configured")
    try:
        keys = [UUID(message_id)] if message_id else None
    except ValueError:
        return _back(f"not a message id: {message_id!r}")
    count = await asyncio.to_thread(dispatcher.store.replay, name, keys=keys)
    platform.audit.append(identity.subject, "erp.replay", f"{name} {message_id or 'all'}: {count}")
    return _back(f"{count} dead letter(s) of {name} go again")


def _back(message: str) -> RedirectResponse:
    return RedirectResponse(f"/integrations?message={quote(message)}", status_code=303)
