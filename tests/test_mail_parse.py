"""Reading real-world mail (petitiondesk/mail/parse.py): charsets, encoded names, HTML, nesting,
and telling auto-replies, bounces and loops from petitioners' mail. No database."""

from pathlib import Path

import pytest

from petitiondesk.mail.parse import decode_bytes, html_to_text, parse_mail

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mail"
OURS = {"xinfang@petitions.example.gov.cn"}


def parsed(name: str):
    return parse_mail((FIXTURES / name).read_bytes(), own_addresses=OURS)


def test_a_utf8_mail_gives_its_encoded_subject_sender_and_body():
    m = parsed("utf8_plain.eml")
    assert m.subject == "孩子入学学位分配问题"
    assert (m.from_name, m.from_address) == ("王小明", "wangxm@example.cn")
    assert m.body.startswith("县教育局：\n我家孩子今年应升入初中")
    assert m.message_id == "<utf8-plain-1@example.cn>"
    assert m.date is not None and m.date.isoformat() == "2026-11-26T21:14:55+08:00"
    assert m.quarantine_reason == ""


def test_gbk_text_labelled_gb2312_is_read_as_gb18030():
    """镕 and 堃 are GBK characters outside GB2312: a strict GB2312 decoder would lose them."""
    m = parsed("gbk_attachment.eml")
    assert m.subject == "关于村道路修缮的请求（李镕堃）"
    assert m.from_name == "李镕堃"
    assert "我是李镕堃，住在示范县城关镇" in m.body


def test_rfc2047_gbk_file_names_are_decoded():
    m = parsed("gbk_attachment.eml")
    assert [(f.filename, f.data[:5]) for f in m.attachments] == [
        ("道路现状说明.pdf", b"%PDF-"),
        ("工具.exe", b"MZ\x90\x00\x03"),
    ]


def test_gb18030_four_byte_characters_survive_quoted_printable_and_q_encoding():
    m = parsed("gb18030_qp.eml")
    assert m.subject == "𠮷祥小区物业乱收费"
    assert m.from_name == "张𠮷"
    assert m.body == "反映𠮷祥小区物业乱收费问题。\n物业公司每月多收停车费两百元，无任何票据。"


def test_an_html_only_mail_becomes_readable_text_without_script_or_style():
    m = parsed("html_only.eml")
    assert "alert" not in m.body and "color:red" not in m.body and "ignored" not in m.body
    assert "<p>" not in m.body
    assert "小区门口的路灯已经坏了两个月，\n晚上出行很不安全。" in m.body
    assert "- 地点：城关镇幸福路\n- 时间：2026年9月起" in m.body
    assert "谢谢！ <陈静>" in m.body  # entities unescaped


def test_nested_multiparts_prefer_plain_text_and_keep_inline_and_rfc2231_files():
    m = parsed("nested_multipart.eml")
    assert m.body == "关于学校食堂卫生问题的反映：\n食堂餐具消毒不到位，多名学生腹泻。"
    assert [(f.filename, f.content_type) for f in m.attachments] == [
        ("attachment", "image/png"),
        ("食堂检查记录.pdf", "application/pdf"),
    ]


def test_undeclared_8bit_gbk_headers_and_body_are_guessed():
    m = parsed("undeclared_gbk.eml")
    assert m.subject == "拖欠工资问题"
    assert m.body == "工地老板拖欠我们十二名工人工资共计八万元，至今未付。"
    assert m.from_name == "liu@example.com"


def test_a_mislabelled_latin1_body_and_an_rfc2231_gb18030_name_are_read():
    m = parsed("no_message_id.eml")
    assert m.body == "我家符合低保条件，申请却被拒绝，请求复核。"
    assert [f.filename for f in m.attachments] == ["身份证复印件.png"]


def test_a_mail_without_message_id_is_keyed_by_a_hash_of_its_bytes():
    raw = (FIXTURES / "no_message_id.eml").read_bytes()
    key = parse_mail(raw).message_id
    assert key.startswith("sha256:") and key == parse_mail(raw).message_id
    assert parse_mail(raw + b"\r\n").message_id != key
    assert parse_mail(raw).date is None


def test_replies_carry_their_thread_ids_and_tracking_numbers():
    assert parsed("reply_in_reply_to.eml").thread_ids == ["<ack-1@petitions.example.gov.cn>"]
    assert parsed("reply_tracking.eml").tracking_numbers == ["XF20261120ABCDEFGHJK"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("auto_reply.eml", "auto_reply"),
        ("bounce.eml", "bounce"),
        ("loop.eml", "loop"),
        ("utf8_plain.eml", ""),
        ("reply_tracking.eml", ""),
    ],
)
def test_automatic_mail_is_recognised(name: str, reason: str):
    assert parsed(name).quarantine_reason == reason


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ("Auto-Submitted: auto-generated\r\n", "auto_reply"),
        ("Auto-Submitted: no\r\n", ""),
        ("Precedence: bulk\r\n", "auto_reply"),
        ("X-Autorespond: yes\r\n", "auto_reply"),
        ("Return-Path: <>\r\n", "bounce"),
        (
            "Content-Type: multipart/report; report-type=disposition-notification; boundary=b\r\n",
            "auto_reply",
        ),
        ("Subject: Out of Office: away\r\n", "auto_reply"),
        ("Subject: =?utf-8?b?6Ieq5Yqo5Zue5aSNOiDlnKjkvJHlgYc=?=\r\n", "auto_reply"),  # 自动回复
        ("Received: from a\r\n" * 26, "loop"),
        ("Received: from a\r\n" * 3, ""),
    ],
)
def test_each_automatic_sign_is_enough(headers: str, reason: str):
    raw = (
        "From: someone@example.cn\r\n"
        + headers
        + ("" if "Subject" in headers else "Subject: hello\r\n")
        + "Content-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n"
    ).encode()
    assert parse_mail(raw, own_addresses=OURS).quarantine_reason == reason


def test_mail_from_our_own_address_is_a_loop():
    raw = b"From: XinFang@petitions.example.gov.cn\r\nSubject: hi\r\n\r\nbody\r\n"
    assert parse_mail(raw, own_addresses=OURS).quarantine_reason == "loop"


def test_charset_fallbacks():
    assert decode_bytes("中文".encode("gbk"), "gb2312") == "中文"
    assert decode_bytes("中文".encode(), "iso-8859-1") == "中文"
    assert decode_bytes("中文".encode("gbk"), None) == "中文"
    assert decode_bytes("café".encode("latin-1"), "iso-8859-1") == "café"
    assert decode_bytes("中文".encode(), "no-such-charset") == "中文"


def test_html_to_text_keeps_preformatted_spacing_and_drops_comments():
    assert html_to_text("<pre>a  b\nc</pre><!-- x --><p>d   e</p>") == "a  b\nc\n\nd e"
