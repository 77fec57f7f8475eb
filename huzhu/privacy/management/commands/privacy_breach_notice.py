"""``huzhu privacy breach-notice``: list the members an incident affects and write the notice."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huzhu.audit.models import Action
from huzhu.audit.services import event_record
from huzhu.privacy.breach import (
    KINDS,
    BreachError,
    Incident,
    affected_workbook,
    breach_members,
    breach_notice,
)


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"日期应为 YYYY-MM-DD：{text}") from None


class Command(BaseCommand):
    help = ("个人信息安全事件处置第一步（个人信息保护法第五十七条）：列出涉及的会员（脱敏），"
            "生成告知书（信息种类、原因、可能的危害、补救措施、个人可采取的措施、联系方式），"
            "写入输出目录并记入事件日志。")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--org", default="", help="组织代码：该组织及其下级的全部会员")
        parser.add_argument("--user", default="", help="用户名：该账号在时间段内查看或导出的会员")
        parser.add_argument("--since", default="", help="起日 YYYY-MM-DD（与 --user 同用）")
        parser.add_argument("--until", default="", help="止日 YYYY-MM-DD（与 --user 同用）")
        parser.add_argument("--kinds", required=True,
                            help=f"涉及的信息种类，逗号分隔：{'、'.join(KINDS)}")
        parser.add_argument("--cause", required=True, help="事件原因")
        parser.add_argument("--measures", required=True, help="已采取的补救措施")
        parser.add_argument("--contact", required=True, help="联系方式（电话、地址）")
        parser.add_argument("--occurred", required=True, help="发生或发现的时间")
        parser.add_argument("--out", required=True, help="输出目录")

    def handle(self, *args: Any, **options: Any) -> None:
        since = _date(options["since"]) if options["since"] else None
        until = _date(options["until"]) if options["until"] else None
        kinds = tuple(k.strip() for k in options["kinds"].replace("，", ",").split(",") if k.strip())
        try:
            incident = Incident(kinds=kinds, cause=options["cause"], measures=options["measures"],
                                contact=options["contact"], occurred=options["occurred"])
            members, chosen_by = breach_members(org_code=options["org"], username=options["user"],
                                                since=since, until=until)
            count = members.count()
            notice = breach_notice(incident, affected=count, chosen_by=chosen_by)
        except BreachError as exc:
            raise CommandError(str(exc)) from None
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        (out / "告知书.txt").write_text(notice, encoding="utf-8")
        (out / "涉及人员.xlsx").write_bytes(affected_workbook(members))
        event_record(action=Action.BREACH_NOTICE, object_type="privacy.incident",
                     after={"affected": count, "chosen_by": chosen_by, "kinds": list(kinds)})
        self.stdout.write(f"涉及 {count} 人；告知书和名单已写入 {out}")
