"""Who acts: the types that say whose action a service call or a request is.

``Actor`` is the ``actor`` argument of the services: the logged-in user whose action is being
recorded (in the event log and on ledger transactions), or ``None`` for the system itself
(the demo loader, background work, the bulk paths).

``AuthedRequest`` is the request of a page behind ``login_required`` or of an API operation
behind ``huzhu.accounts.api.AUTH``: its ``user`` is a ``User``, never ``AnonymousUser``, and
``HtmxMiddleware`` has set ``htmx``. It is an annotation only: at run time the request is
Django's own, and nothing here is checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from django.http import HttpRequest

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from huzhu.accounts.models import User

Actor: TypeAlias = "User | None"


class AuthedRequest(HttpRequest):
    user: User
    htmx: HtmxDetails
