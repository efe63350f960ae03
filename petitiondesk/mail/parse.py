"""Reading a raw e-mail into what the intake needs: pure functions, no database (docs/email.md).

Real mail lies about charsets: GB2312 and GBK are decoded as GB18030 (their superset), an
undeclared or wrong charset falls back to UTF-8, then GB18030, then Latin-1 (which never fails).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.header import Header, decode_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

LOOP_HEADER = "X-Petitiondesk-Loop"
TRACKING_RE = re.compile(r"XF\d{8}[0-9A-HJKMNP-TV-Z]{10}", re.IGNORECASE)
_MSGID_RE = re.compile(r"<[^<>\s]+>")
# Control characters other than tab and line breaks (core.text refuses them in petitions).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_GB = {"gb2312", "gbk", "x-gbk", "gb_2312-80", "cp936", "euc-cn", "x-euc-cn", "csgb2312", "gb18030"}
_LATIN = {"us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "windows-1252", "cp1252"}
_UNKNOWN = {"", "unknown-8bit", "x-unknown", "unknown", "default", "x-user-defined"}
_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[\s_-]?(reply|response|answer|antwort)|auto:|out of (the )?office|"
    r"自动回复|自动答复|自動回覆|自動回復|自动应答|休假通知|外出通知)",
    re.IGNORECASE,
)
DAEMON_NAMES = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}


@dataclass
class MailFile:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedMail:
    message_id: str
    from_name: str
    from_address: str
    subject: str
    date: dt.datetime | None
    body: str
    attachments: list[MailFile] = field(default_factory=list)
    thread_ids: list[str] = field(
        default_factory=list
    )  # In-Reply-To, then References, newest first
    tracking_numbers: list[str] = field(default_factory=list)
    quarantine_reason: str = ""  # auto_reply, bounce, loop, or "" for a petitioner's mail


# --- charsets -----------------------------------------------------------------------------------


def _candidates(charset: str | None) -> list[str]:
    cs = (charset or "").strip().strip('"').lower()
    if cs in _GB:
        return ["gb18030", "utf-8"]
    if cs in _UNKNOWN:
        return ["utf-8", "gb18030"]
    if cs in _LATIN:
        # Commonly declared by mistake over UTF-8 text; Latin-1 text is rarely valid UTF-8.
        return ["utf-8", "gb18030" if cs in {"us-ascii", "ascii"} else cs]
    if cs in {"big5", "big5-hkscs", "cp950"}:
        return ["big5hkscs", "utf-8", "gb18030"]
    return [cs, "utf-8", "gb18030"]


def decode_bytes(data: bytes, charset: str | None) -> str:
    """The text of `data`: the declared charset (mapped as above), then the fallbacks."""
    for cs in _candidates(charset):
        try:
            return data.decode(cs)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


def _clean(text: str) -> str:
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def decode_header_value(value: object) -> str:
    """A header as text: RFC 2047 encoded words, raw 8-bit bytes (UTF-8 or GB18030), folding."""
    if value is None:
        return ""
    if isinstance(value, str) and _has_surrogates(value):  # raw 8-bit bytes in the header
        value = decode_bytes(value.encode("utf-8", "surrogateescape"), None)
    pieces = []
    try:
        parts = decode_header(value if isinstance(value, (str, Header)) else str(value))
    except Exception:  # a malformed encoded word: keep the header as written
        parts = [(str(value), None)]
    for data, charset in parts:
        if isinstance(data, bytes):
            pieces.append(decode_bytes(data, charset))
        else:
            pieces.append(data)
    text = "".join(pieces)
    return " ".join(_clean(text).split())


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _header(msg: Message, name: str) -> object:
    return msg.get(name)


# --- HTML to text -------------------------------------------------------------------------------


class _TextOfHtml(HTMLParser):
    BLOCK = {
        "p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote",
        "pre", "ul", "ol", "hr", "section", "article", "header", "footer", "address", "dd", "dt",
    }  # fmt: skip
    SKIP = {"script", "style", "head", "title", "noscript", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag == "pre":
            self.pre += 1
        if tag in self.BLOCK:
            self.out.append("\n")
        if tag == "li":
            self.out.append("- ")
        elif tag in {"td", "th"}:
            self.out.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"br", "hr"}:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in self.BLOCK and tag != "li":
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        self.out.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Readable text of an HTML body: no scripts or styles, blocks and <br> as line breaks."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.out).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.IGNORECASE)


# --- parts --------------------------------------------------------------------------------------


def part_filename(part: Message) -> str:
    """The file name of a part: RFC 2231 (any charset), RFC 2047 encoded words (common though not
    allowed there), raw 8-bit bytes; from Content-Disposition, else Content-Type's `name`."""
    for param, header in (("filename", "content-disposition"), ("name", "content-type")):
        value = part.get_param(param, None, header)
        if value is None:
            continue
        if isinstance(value, tuple):  # RFC 2231: (charset, language, percent-decoded latin-1)
            charset, _lang, text = value
            name = decode_bytes(text.encode("latin-1", "replace"), charset)
        else:
            name = decode_header_value(value.strip('"'))
        name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
        if name:
            return _clean(name)
    return ""


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset()
    if charset is None and part.get_content_type() == "text/html":
        meta = _META_CHARSET.search(payload[:4096])
        charset = meta.group(1).decode("ascii") if meta else None
    text = _clean(decode_bytes(payload, charset))
    return html_to_text(text) if part.get_content_type() == "text/html" else text


def _body_and_files(msg: Message) -> tuple[str, list[MailFile]]:
    """Text/plain preferred over text/html (multipart/alternative), through any nesting of
    multipart/mixed > alternative > related; every other leaf part is a file."""
    plain: list[str] = []
    html: list[str] = []
    files: list[MailFile] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = part.get_content_disposition()
        filename = part_filename(part)
        if ctype in {"text/plain", "text/html"} and disposition != "attachment" and not filename:
            text = _part_text(part).strip()
            if text:
                (plain if ctype == "text/plain" else html).append(text)
            continue
        if ctype in {"message/delivery-status", "message/disposition-notification"}:
            continue
        data = part.get_payload(decode=True)
        if isinstance(data, bytes) and data:
            files.append(MailFile(filename=filename or "attachment", content_type=ctype, data=data))
    body = "\n\n".join(plain or html)
    return body.strip(), files


# --- the message --------------------------------------------------------------------------------


def _address(msg: Message, name: str) -> tuple[str, str]:
    raw = msg.get(name)
    if raw is None:
        return "", ""
    text = raw if isinstance(raw, str) else str(raw)
    pairs = getaddresses([text])
    if not pairs:
        return "", ""
    display, address = pairs[0]
    return decode_header_value(display), _clean(address).strip().lower()


def _date(msg: Message) -> dt.datetime | None:
    raw = msg.get("Date")
    if not raw:
        return None
    try:
        when = parsedate_to_datetime(str(raw))
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else None


def _thread_ids(msg: Message) -> list[str]:
    ids: list[str] = []
    for name in ("In-Reply-To", "References"):
        found = _MSGID_RE.findall(str(msg.get(name) or ""))
        ids.extend(reversed(found) if name == "References" else found)
    return list(dict.fromkeys(ids))


def message_key(msg: Message, raw: bytes) -> str:
    """The Message-ID, else a hash of the raw bytes (so a re-import is recognised)."""
    found = _MSGID_RE.findall(str(msg.get("Message-ID") or ""))
    if found and len(found[0]) <= 255:
        return found[0]
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def classify(
    msg: Message, *, from_address: str, subject: str, own_addresses: set[str], max_received: int
) -> str:
    """Why the mail must not become a petition: loop, bounce, auto_reply; else ""."""
    if msg.get(LOOP_HEADER) is not None:
        return "loop"
    if from_address and from_address in own_addresses:
        return "loop"
    if len(msg.get_all("Received") or []) > max_received:
        return "loop"
    if msg.get_content_type() == "multipart/report":
        kind = str(msg.get_param("report-type") or "").lower()
        return "auto_reply" if kind == "disposition-notification" else "bounce"
    if from_address.partition("@")[0] in DAEMON_NAMES:
        return "bounce"
    auto = str(msg.get("Auto-Submitted") or "").strip().lower()
    if auto and auto != "no":
        return "auto_reply"
    if any(msg.get(h) is not None for h in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply")):
        return "auto_reply"
    if str(msg.get("Precedence") or "").strip().lower() in {"bulk", "junk", "auto_reply"}:
        return "auto_reply"
    if _AUTO_SUBJECT.search(subject):
        return "auto_reply"
    if str(msg.get("Return-Path") or "").strip() == "<>":
        return "bounce"
    return ""


def parse_mail(
    raw: bytes, *, own_addresses: set[str] | None = None, max_received: int = 25
) -> ParsedMail:
    """Everything the intake needs from one raw message."""
    msg = message_from_bytes(raw, policy=policy.compat32)
    from_name, from_address = _address(msg, "From")
    if not from_address:
        from_name, from_address = _address(msg, "Sender")
    subject = decode_header_value(_header(msg, "Subject"))
    if from_name == "":
        from_name = decode_header_value(_header(msg, "From")).split("<")[0].strip().strip('"')
    body, files = _body_and_files(msg)
    return ParsedMail(
        message_id=message_key(msg, raw),
        from_name=from_name,
        from_address=from_address,
        subject=subject,
        date=_date(msg),
        body=body,
        attachments=files,
        thread_ids=_thread_ids(msg),
        tracking_numbers=list(dict.fromkeys(m.upper() for m in TRACKING_RE.findall(subject))),
        quarantine_reason=classify(
            msg,
            from_address=from_address,
            subject=subject,
            own_addresses={a.lower() for a in (own_addresses or set())},
            max_received=max_received,
        ),
    )
