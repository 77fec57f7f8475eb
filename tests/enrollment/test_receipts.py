"""The receipt PDF: what a paying unit holds, and the QR code that checks it.

The PDF is read back with a small reader below (object streams, Flate, ToUnicode maps), so
the assertions are on the text a PDF viewer shows, not on the HTML it came from.
"""

from __future__ import annotations

import base64
import datetime
import io
import re
import zlib

import pytest
import segno
from PIL import Image

from huzhu.enrollment.billing import payment_record
from huzhu.enrollment.receipts import (
    QR_ERROR,
    QR_SCALE,
    receipt_html,
    receipt_pdf,
    receipt_serial_from_token,
    receipt_token,
    receipt_verify,
    verification_url,
)

from .conftest import person
from .test_billing import enrolled
from .test_roster import new_id

# --- a small PDF text reader, enough for WeasyPrint's output ----------------------------------


def pdf_objects(pdf: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    """Return {object number: (dictionary text, decoded stream or None)}."""
    objects: dict[int, tuple[bytes, bytes | None]] = {}
    header = re.compile(rb"(\d+) 0 obj\b")
    pos = 0
    while (m := header.search(pdf, pos)) is not None:
        start = m.end()
        end_obj = pdf.find(b"endobj", start)
        at_stream = pdf.find(b"stream", start)
        if 0 <= at_stream < end_obj:
            head = pdf[start:at_stream]
            length = int(re.search(rb"/Length (\d+)", head)[1])
            data_start = at_stream + len(b"stream")
            data_start += 2 if pdf[data_start:data_start + 2] == b"\r\n" else 1
            data = pdf[data_start:data_start + length]
            if b"/FlateDecode" in head:
                data = zlib.decompress(data)
            objects[int(m[1])] = (head, data)
            pos = data_start + length
        else:
            objects[int(m[1])] = (pdf[start:end_obj], None)
            pos = end_obj
    for head, data in list(objects.values()):
        if b"/Type /ObjStm" in head and data is not None:
            count = int(re.search(rb"/N (\d+)", head)[1])
            first = int(re.search(rb"/First (\d+)", head)[1])
            numbers = [int(x) for x in data[:first].split()]
            pairs = list(zip(numbers[0::2], numbers[1::2], strict=True))[:count]
            for i, (number, offset) in enumerate(pairs):
                end = pairs[i + 1][1] if i + 1 < len(pairs) else len(data) - first
                objects[number] = (data[first + offset:first + end], None)
    return objects


def _cmap(data: bytes) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for lo, hi, dst in re.findall(rb"<(\w+)>\s*<(\w+)>\s*<(\w+)>", block):
            base = int(dst, 16)
            for offset, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                mapping[code] = chr(base + offset)
    return mapping


def _ref(text: bytes, key: bytes) -> int | None:
    m = re.search(rb"/" + key + rb"\s+(\d+) 0 R", text)
    return int(m[1]) if m else None


def pdf_pages_text(pdf: bytes) -> list[str]:
    """Return the text drawn on each page, font by font through the ToUnicode maps."""
    objects = pdf_objects(pdf)
    pages = [n for n, (head, _) in sorted(objects.items())
             if re.search(rb"/Type\s*/Page(?!s)", head)]
    texts = []
    for number in pages:
        head = objects[number][0]
        resources = head
        if (ref := _ref(head, b"Resources")) is not None:
            resources = objects[ref][0]
        fonts_text = re.search(rb"/Font\s*<<(.*?)>>", resources, re.S)
        if fonts_text is None and (ref := _ref(resources, b"Font")) is not None:
            fonts_text = re.search(rb"<<(.*)>>", objects[ref][0], re.S)
        maps = {}
        for name, ref in re.findall(rb"/([\w.+-]+)\s+(\d+) 0 R", fonts_text[1]):
            unicode_ref = _ref(objects[int(ref)][0], b"ToUnicode")
            if unicode_ref is not None:
                maps[name] = _cmap(objects[unicode_ref][1] or b"")
        content = objects[_ref(head, b"Contents")][1] or b""
        out, current = [], {}
        token = re.compile(rb"/([\w.+-]+)\s+[\d.]+\s+Tf|<([0-9A-Fa-f]*)>|(T\*|Td|TD|Tm|ET)")
        for m in token.finditer(content):
            if m[1] is not None:
                current = maps.get(m[1], {})
            elif m[2] is not None:
                raw = bytes.fromhex(m[2].decode())
                out.extend(current.get(int.from_bytes(raw[i:i + 2], "big"), "")
                           for i in range(0, len(raw), 2))
            else:
                out.append(" ")
        texts.append("".join(out))
    return texts


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


# --- the world --------------------------------------------------------------------------------

PAID_ON = datetime.date(2025, 12, 10)


@pytest.fixture
def paid(period_world):
    """Unit A enrolls three members (one a gifted model worker) and pays part of its due."""
    w = period_world
    name = w.medical.product_version.name
    invoice = enrolled(w, [person("刘一", new_id(1), name),
                           person("张三", w.zhangsan.id_number, name),
                           person("劳模", new_id(2), name, 劳模工匠="是")])
    w.invoice = invoice
    w.payment = payment_record(invoice=invoice, bank_ref="95588202512100001", amount_fen=12345,
                               paid_on=PAID_ON, payer_name="南宁示范机械厂", actor=w.qianjiu)
    return w


# --- the PDF ----------------------------------------------------------------------------------


def test_receipt_is_a_one_page_pdf_with_serial_and_capitals(paid):
    pdf = receipt_pdf(paid.payment)
    assert pdf.startswith(b"%PDF-1.") and pdf.rstrip().endswith(b"%%EOF")
    pages = pdf_pages_text(pdf)
    assert len(pages) == 1
    text = squeeze(pages[0])
    assert "互助金收据" in text
    assert paid.payment.receipt_serial in text
    assert "壹佰贰拾叁元肆角伍分" in text  # 123.45 in 大写
    assert "¥123.45" in text
    assert "南宁示范机械厂" in text and paid.invoice.number in text
    assert "重庆在职职工住院医疗互助保障" in text  # the item, by product
    assert "尚欠：¥96.55" in text  # due 220.00 (the gift is the union's), 123.45 paid
    assert "钱九" in text  # who issued it


def test_reader_sees_what_is_drawn_and_nothing_else(paid):
    """The reader above is what the other tests trust: it must not find text not drawn."""
    text = squeeze(pdf_pages_text(receipt_pdf(paid.payment))[0])
    assert "壹佰贰拾叁元肆角陆分" not in text and "SJ2026-99999999" not in text
    assert "身份证" not in text and paid.zhangsan.id_number not in text  # no personal data


def test_receipt_items_are_the_invoices_products_with_counts(paid):
    text = squeeze(pdf_pages_text(receipt_pdf(paid.payment))[0])
    # 3 members of 重庆 住院医疗, 330.00 premium of which 220.00 is the unit's and members' part
    assert "2026年度33330.00220.00" in text


def test_overpayment_is_stated_on_the_receipt(paid):
    w = paid
    second = payment_record(invoice=w.invoice, bank_ref="B-2", amount_fen=20000,
                            paid_on=PAID_ON, payer_name="", actor=w.qianjiu)
    text = squeeze(pdf_pages_text(receipt_pdf(second))[0])
    assert "贰佰元整" in text and "多缴：¥103.45" in text
    assert "截至本笔累计已缴：¥323.45" in text
    first = squeeze(pdf_pages_text(receipt_pdf(w.payment))[0])
    assert "尚欠：¥96.55" in first  # an earlier receipt keeps what was true at its payment


# --- the QR code ------------------------------------------------------------------------------


def _embedded_qr_matrix(html: str) -> list[list[bool]]:
    data = re.search(r'src="data:image/png;base64,([^"]+)"', html)[1]
    image = Image.open(io.BytesIO(base64.b64decode(data))).convert("L")
    size = image.width // QR_SCALE
    assert image.width == image.height == size * QR_SCALE
    half = QR_SCALE // 2
    return [[image.getpixel((x * QR_SCALE + half, y * QR_SCALE + half)) < 128
             for x in range(size)] for y in range(size)]


def test_qr_code_encodes_the_verification_url(paid, settings):
    settings.PUBLIC_URL = "https://huzhu.example.org"
    url = verification_url(paid.payment)
    token = receipt_token(paid.payment.receipt_serial)
    assert url == f"https://huzhu.example.org/billing/receipts/verify/{token}/"
    embedded = _embedded_qr_matrix(receipt_html(paid.payment))
    expected = [[bool(v) for v in row] for row in segno.make(url, error=QR_ERROR,
                                                             micro=False).matrix]
    assert embedded == expected
    other = segno.make(url.replace("SJ2026", "SJ2027"), error=QR_ERROR, micro=False).matrix
    assert embedded != [[bool(v) for v in row] for row in other]


def test_tokens_are_signed_and_forgeries_fail(paid):
    serial = paid.payment.receipt_serial
    token = receipt_token(serial)
    assert receipt_serial_from_token(token) == serial
    assert receipt_verify(token).pk == paid.payment.pk
    forged_serial = serial[:-1] + ("3" if serial.endswith("2") else "2")  # another serial
    assert forged_serial != serial
    forged = forged_serial + token[len(serial):]  # the real signature on another serial
    assert receipt_serial_from_token(forged) is None and receipt_verify(forged) is None
    assert receipt_verify(serial) is None and receipt_verify("") is None


def test_token_depends_on_the_secret_key(paid, settings):
    token = receipt_token(paid.payment.receipt_serial)
    settings.SECRET_KEY = "another-secret-key-for-another-installation-0123456789"
    assert receipt_token(paid.payment.receipt_serial) != token
    assert receipt_verify(token) is None


def test_an_individuals_receipt_names_him_and_counts_only_his_part(period_world):
    from huzhu.enrollment.models import Invoice, Source
    from huzhu.enrollment.single import enrollment_single
    from huzhu.members.services import MemberInput, member_create

    w = period_world
    courier = member_create(actor=None, data=MemberInput(
        name="快递小哥", id_number=new_id(7, 15, 1995), phone="13655556666",
        insurance_type="resident", is_new_form_worker=True, organisation=w.grassroots_a))
    enrollment_single(actor=None, member=courier, period=w.period,
                      product_code="chongqing-2015-medical", source=Source.SELF)
    payment = payment_record(invoice=Invoice.objects.get(member=courier), bank_ref="WX1",
                             amount_fen=6000, paid_on=PAID_ON, payer_name="", actor=w.qianjiu)
    text = squeeze(pdf_pages_text(receipt_pdf(payment))[0])
    assert "交款人：快递小哥" in text and "陆拾元整" in text
    assert "2026年度11110.0060.00" in text  # 110.00 premium, 60.00 his (the employer's is not)


def test_a_receipt_printed_before_a_key_rotation_verifies_with_the_old_key_kept(paid, settings):
    serial = paid.payment.receipt_serial
    token = receipt_token(serial)  # printed under the key of the day
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-key-after-rotation-" + "x" * 20
    settings.SECRET_KEY_FALLBACKS = []
    assert receipt_verify(token) is None  # the fallback below is what keeps it
    settings.SECRET_KEY_FALLBACKS = [old]
    assert receipt_verify(token).pk == paid.payment.pk
    assert receipt_token(serial) != token  # new receipts are signed with the new key


def test_the_fallback_keys_come_from_the_environment_or_a_file(tmp_path):
    import os
    import subprocess
    import sys

    keys = tmp_path / "old-keys"
    keys.write_text("old-key-two\n\nold-key-three\n")
    env = {**os.environ, "HUZHU_DEV": "1", "HUZHU_SECRET_KEY_FALLBACKS": "old-key-one, ",
           "HUZHU_SECRET_KEY_FALLBACKS_FILE": str(keys), "DJANGO_SETTINGS_MODULE": "huzhu.settings"}
    out = subprocess.run([sys.executable, "-c", "import django; django.setup(); "
                          "from django.conf import settings; print(settings.SECRET_KEY_FALLBACKS)"],
                         env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['old-key-one', 'old-key-two', 'old-key-three']"
