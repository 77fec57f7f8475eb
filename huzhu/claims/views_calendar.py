"""The holiday calendar page: the years review deadlines count by, and entering a new year's
schedule as the State Council published it (system administrator of the province)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from huzhu import clock
from huzhu.accounts.roles import Perm
from huzhu.actors import AuthedRequest
from huzhu.errors import DomainError

from .calendar import calendar_enter_year, library_knows, parse_days, year_state


class YearForm(forms.Form):
    year = forms.IntegerField(label="年份", min_value=2000, max_value=2100)
    holidays = forms.CharField(
        label="放假日期", widget=forms.Textarea(attrs={
            "rows": 6, "placeholder": "每行一天或一段，如：\n2027-01-01 至 2027-01-03\n2027-02-06 至 2027-02-12"}),
        help_text="每行一天或一段，如 2027-01-01，或 2027-02-06 至 2027-02-12（含周末）")
    workdays = forms.CharField(
        label="调休上班日期", required=False, widget=forms.Textarea(attrs={
            "rows": 3, "placeholder": "需上班的周六、周日，每行一天，如：2027-02-14"}),
        help_text="放假调休后需上班的周六、周日，每行一天")
    source = forms.CharField(label="依据", max_length=200, widget=forms.TextInput(attrs={
        "placeholder": "如：国务院办公厅关于2027年部分节假日安排的通知", "style": "min-width:24em"}),
                             help_text="如：国务院办公厅关于2027年部分节假日安排的通知")


def _may_manage(user: Any) -> bool:
    org = getattr(user, "organisation", None)
    return bool(user.can(Perm.MANAGE_CALENDAR) and org is not None and org.parent_id is None)


@login_required
def calendar(request: AuthedRequest) -> HttpResponse:
    if not _may_manage(request.user):
        raise Http404
    this_year = clock.today().year
    form = YearForm(request.POST or None, initial={"year": this_year + 1})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            holidays = parse_days(d["holidays"], year=d["year"], label="放假日期")
            workdays = parse_days(d["workdays"], year=d["year"], label="调休上班日期")
            done = calendar_enter_year(year=d["year"], holidays=holidays, workdays=workdays,
                                       source=d["source"], actor=request.user)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"{d['year']} 年节假日安排已保存：{done['days']} 天；"
                                      f"{done['deadlines_moved']} 件理赔的审核时限已重算")
            return redirect("claims:calendar")
    years = sorted({this_year - 1, this_year, this_year + 1, this_year + 2})
    states = [year_state(y) for y in years]
    return render(request, "claims/calendar.html", {
        "form": form, "states": states,
        "library_years": [y for y in years if library_knows(y)]})
