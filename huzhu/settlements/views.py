"""The unmatched settlement queue: current records no member of their fund region was found
for. Matching them again (and deciding those matched) is the claims app's
(:func:`huzhu.claims.views.unmatched_retry`)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render

from huzhu.actors import AuthedRequest
from huzhu.organisations.access import staff_path
from huzhu.web.paging import paginate

from .access import may_match, unmatched_visible_to


@login_required
def unmatched(request: AuthedRequest) -> HttpResponse:
    if staff_path(request.user) is None:
        raise Http404
    qs = unmatched_visible_to(request.user)
    page = paginate(request, qs.order_by("id"), per_page=50)
    return render(request, "settlements/unmatched.html", {
        "page": page, "may_match": may_match(request.user)})
