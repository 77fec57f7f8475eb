"""A claim's status ends at its decision (issue 12, part 6): payment state is the payouts'.

Claims still 支付中 / 已支付 / 支付失败 become 已核准; what a person sees of them (支付中,
已支付, 支付失败) is read from their benefit payout from now on (``huzhu/payouts/shown.py``),
which already holds it. Events are left as they are: old ``claim.transition`` events keep the
statuses they name. Going back derives the old statuses again from the benefit payouts.
"""

from django.db import migrations, models

FORMER = ("paying", "paid", "pay_failed")
# The claim status each benefit payout status meant before.
BY_PAYOUT = {"sent": "paying", "paid": "paid", "failed": "pay_failed"}


def statuses_end_at_decision(apps, schema_editor):
    Claim = apps.get_model("claims", "Claim")
    Claim.objects.filter(status__in=FORMER).update(status="approved")


def statuses_follow_payouts(apps, schema_editor):
    Claim = apps.get_model("claims", "Claim")
    Payout = apps.get_model("payouts", "Payout")
    for payout_status, claim_status in BY_PAYOUT.items():
        claims = Payout.objects.filter(kind="benefit", status=payout_status).values("claim_id")
        Claim.objects.filter(pk__in=claims, status="approved").update(status=claim_status)


class Migration(migrations.Migration):

    dependencies = [
        ("claims", "0007_settlement_decision_row"),
        ("payouts", "0003_top_up_payouts"),
    ]

    operations = [
        migrations.RunPython(statuses_end_at_decision, statuses_follow_payouts),
        migrations.AlterField(
            model_name="claim",
            name="status",
            field=models.CharField(choices=[("submitted", "已提交"), ("in_review", "待审核"), ("returned", "退回补件"), ("approved", "已核准"), ("rejected", "不予给付"), ("withdrawn", "已撤回")], default="submitted", max_length=12),
        ),
    ]
