"""vCard reading and writing (RFC 2426 vCard 3.0, RFC 6350 vCard 4.0, and the vCard 2.1
files old phones still produce), without a third-party library.

Reading copes with what phones and mail programs really write: folded lines (CRLF or LF
plus a space or tab), quoted-printable values with soft line breaks, CHARSET parameters
(Big5 and GB18030/GBK/GB2312 from old Chinese phones), 2.1 parameters without a name
(``TEL;CELL:``), grouped properties (``item1.TEL``), escaped ``\\, \\; \\\\ \\n``, and
binary PHOTO/LOGO/SOUND/KEY data, which is skipped. Values are decoded from their charset
*before* unescaping, because the second byte of a Big5 or GBK character may be 0x5C, the
backslash.

`parse()` returns `Card`s. A file that cannot be read as vCards at all (binary data, no
BEGIN:VCARD, a card without END:VCARD, too many cards) raises `VCardError` naming the card
and line; a card that is readable but unusable (no name, a bad date, an unknown charset)
carries its problems in ``card.errors``, or raises at once with ``strict=True``.

Writing (`write()`) produces one vCard 3.0 or 4.0 text with CRLF line ends, lines folded
at 75 octets without splitting a UTF-8 character, and every field a contact stores, so
that reading it back gives the same contact. Fields vCard has no property for travel as
``X-QINGLAN-*`` properties, which other programs ignore. A birthday without a year (``--0307``)
is kept as year 1604, the convention Apple's and other address books use for it.
"""

import binascii
import datetime
import quopri
import re
import uuid
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

MAX_CARDS = 5000
MAX_LINE = 1024 * 1024  # an unfolded line; photos come close to it, text never does
NO_YEAR = 1604  # a birthday stored with this year has no year (Apple's convention)
SUPPORTED_VERSIONS = ("2.1", "3.0", "4.0")
BINARY_PROPERTIES = {"PHOTO", "LOGO", "SOUND", "KEY"}
MOBILE_TYPES = {"cell", "mobile", "iphone"}
CHARSETS = {
    "UTF-8": "utf-8",
    "UTF8": "utf-8",
    "US-ASCII": "ascii",
    "ASCII": "ascii",
    "ISO-8859-1": "latin-1",
    "BIG5": "cp950",
    "BIG-5": "cp950",
    "CP950": "cp950",
    "BIG5-HKSCS": "big5hkscs",
    "GB2312": "gb18030",
    "GBK": "gb18030",
    "CP936": "gb18030",
    "GB18030": "gb18030",
    "SHIFT_JIS": "shift_jis",
    "SHIFT-JIS": "shift_jis",
    "UTF-16": "utf-16",
}
IM_PROPERTIES = {
    "X-WECHAT": "WeChat",
    "X-WEIXIN": "WeChat",
    "X-LINE": "LINE",
    "X-QQ": "QQ",
    "X-WHATSAPP": "WhatsApp",
    "X-SKYPE": "Skype",
    "X-SKYPE-USERNAME": "Skype",
    "X-TELEGRAM": "Telegram",
    "X-JABBER": "Jabber",
    "X-MSN": "MSN",
}
# Compound surnames, so that N gets 歐陽;娜娜 rather than 歐;陽娜娜.
COMPOUND_SURNAMES = {
    "歐陽", "欧阳", "司馬", "司马", "諸葛", "诸葛", "上官", "東方", "东方", "皇甫", "尉遲", "尉迟",
    "公孫", "公孙", "令狐", "慕容", "夏侯", "軒轅", "轩辕", "長孫", "长孙", "宇文", "司徒", "端木", "范姜", "張簡", "张简",
}
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
DATE_FORMS = (
    (re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})(?:T.*)?$"), "ymd"),
    (re.compile(r"^--(\d{2})-?(\d{2})$"), "md"),  # 4.0 and 3.0 (ISO 8601) without year
)


class VCardError(ValueError):
    """A vCard file or card that cannot be used; the message is for the member."""

    def __init__(self, message, *, card=None, line=None):
        self.card, self.line, self.text = card, line, message
        super().__init__(located(message, card=card, line=line))


def located(message, *, card=None, line=None):
    if card is not None and line is not None:
        return _("Card %(card)d, line %(line)d: %(message)s") % {"card": card, "line": line, "message": message}
    if line is not None:
        return _("Line %(line)d: %(message)s") % {"line": line, "message": message}
    if card is not None:
        return _("Card %(card)d: %(message)s") % {"card": card, "message": message}
    return str(message)


@dataclass
class Card:
    """What one vCard says about a contact, in the contact's own fields."""

    number: int = 0  # 1-based position in the file
    line: int = 0  # line of its BEGIN:VCARD
    version: str = "3.0"
    name: str = ""
    name_latin: str = ""
    organization: str = ""  # the customer's name (ORG's first part)
    department_name: str = ""
    title: str = ""
    phone: str = ""
    mobile: str = ""
    email: str = ""
    im: str = ""
    birthday: datetime.date | None = None
    address: str = ""
    notes: str = ""
    decision_role: str = ""
    is_primary: bool = False
    uid: str = ""
    errors: list = field(default_factory=list)  # [(line, message)]
    skipped: list = field(default_factory=list)  # values read but not kept, e.g. a third phone

    CONTACT_FIELDS = (
        "name", "name_latin", "title", "department_name", "phone", "mobile", "email", "im", "birthday",
        "address", "notes", "decision_role", "is_primary",
    )

    def error(self, line, message):
        self.errors.append((line, message))

    def error_messages(self):
        return [located(message, card=self.number, line=line) for line, message in self.errors]

    def contact_data(self):
        return {name: getattr(self, name) for name in self.CONTACT_FIELDS}


# ---- reading ---------------------------------------------------------------------------


@dataclass
class _Line:
    number: int
    group: str
    name: str
    params: dict  # NAME -> [values]
    value: str  # raw: still escaped, still in its transfer encoding
    raw_bytes: bool  # value holds bytes as latin-1 characters (the file was not UTF-8)


def _decode_file(data):
    """(text, raw_bytes). A UTF-8 file (BOM or not) is decoded whole; any other is kept as
    latin-1 characters, so each value can be decoded by its own CHARSET parameter."""
    if isinstance(data, str):
        return data.lstrip("\ufeff"), False
    if data.startswith(b"\xff\xfe") or data.startswith(b"\xfe\xff"):
        try:
            return data.decode("utf-16").lstrip("\ufeff"), False
        except UnicodeDecodeError as error:
            raise VCardError(_("The file is not readable text.")) from error
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        return data.decode("latin-1"), True


def _physical_lines(text):
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _split_params(head):
    """'TEL;TYPE=work,voice;CELL' → ('TEL', {'TYPE': ['work', 'voice', 'CELL']}), honouring quotes."""
    parts, current, quoted = [], [], False
    for char in head:
        if char == '"':
            quoted = not quoted
            continue
        if char == ";" and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    name = parts[0].strip()
    params = {}
    for part in parts[1:]:
        part = part.strip()
        if not part:
            continue
        if "=" in part:
            key, value = part.split("=", 1)
            key = key.strip().upper()
            values = [_unescape_param(item.strip()) for item in value.split(",")]
        else:  # vCard 2.1: a bare type (CELL, HOME, QUOTED-PRINTABLE, CHARSET-less)
            key, values = ("ENCODING", [part]) if part.upper() in ("QUOTED-PRINTABLE", "BASE64", "8BIT", "7BIT", "B") else ("TYPE", [part])
        params.setdefault(key, []).extend(values)
    return name, params


def _unescape_param(value):
    """RFC 6868 caret escapes in parameter values."""
    return value.replace("^n", "\n").replace("^'", '"').replace("^^", "^") if "^" in value else value


def _content_lines(text, raw_bytes):
    """Unfolded content lines, with quoted-printable soft line breaks joined."""
    physical = _physical_lines(text)
    index = 0
    while index < len(physical):
        start = index
        line = physical[index]
        index += 1
        while index < len(physical) and physical[index][:1] in (" ", "\t"):
            line += physical[index][1:]
            index += 1
        if not line.strip():
            continue
        head, colon, value = _partition_value(line)
        if not colon:
            yield start + 1, line, None
            continue
        if "QUOTED-PRINTABLE" in head.upper():
            # Soft line breaks: "=" at the end of a line continues on the next, unindented.
            while value.endswith("=") and index < len(physical):
                value = value[:-1] + physical[index]
                index += 1
        if len(value) > MAX_LINE:
            raise VCardError(_("A line is too long (more than 1 MB)."), line=start + 1)
        yield start + 1, head, value


def _partition_value(line):
    """Split 'NAME;PARAM="a:b":value' at the first colon outside quotes."""
    quoted = False
    for position, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            return line[:position], ":", line[position + 1 :]
    return line, "", ""


def _split_components(value, separator):
    """Split on unescaped separators (';' between components, ',' between list items)."""
    parts, current, index = [], [], 0
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value):
            current.append(value[index : index + 2])
            index += 2
            continue
        if char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    parts.append("".join(current))
    return parts


def unescape(value):
    out, index = [], 0
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value):
            following = value[index + 1]
            out.append("\n" if following in "nN" else following)
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _legacy_guesses():
    from qinglan.core.imports import detection_order

    return [encoding for encoding in detection_order() if encoding != "utf-8-sig"]


class _ValueError(Exception):
    pass


def _decoded_value(line):
    """The value of a content line as text (charset and transfer encoding undone, not yet
    unescaped). Raises _ValueError with a message for the member."""
    encodings = [value.upper() for value in line.params.get("ENCODING", [])]
    charset_names = line.params.get("CHARSET", [])
    value = line.value
    if "QUOTED-PRINTABLE" in encodings:
        try:
            data = quopri.decodestring(value.encode("latin-1" if line.raw_bytes else "utf-8"))
        except (UnicodeEncodeError, binascii.Error, ValueError) as error:
            raise _ValueError(_("The quoted-printable value cannot be decoded.")) from error
    elif line.raw_bytes:
        data = value.encode("latin-1")
    else:
        return value
    if charset_names:
        charset = CHARSETS.get(charset_names[0].strip().upper())
        if charset is None:
            raise _ValueError(_("Unknown character set “%(charset)s”.") % {"charset": charset_names[0][:40]})
        try:
            return data.decode(charset)
        except UnicodeDecodeError as error:
            raise _ValueError(_("The value is not valid %(charset)s text.") % {"charset": charset_names[0][:40]}) from error
    for candidate in ("utf-8", *_legacy_guesses()):
        try:
            return data.decode(candidate)
        except UnicodeDecodeError:
            continue
    raise _ValueError(_("The value's character set is not recognised; save the file as UTF-8."))


def parse(data, *, strict=True, max_cards=MAX_CARDS):
    """The cards of a .vcf file (text or bytes). See the module docstring for errors."""
    text, raw_bytes = _decode_file(data)
    if "\x00" in text:
        raise VCardError(_("The file contains binary data; it is not a vCard file."))
    cards, current, card_lines = [], None, []
    saw_content = False
    for number, head, value in _content_lines(text, raw_bytes):
        saw_content = True
        if value is None:
            if current is None:
                raise VCardError(_("This is not a vCard file: a card must start with BEGIN:VCARD."), line=number)
            if CONTROL.search(head):
                raise VCardError(_("The card contains binary data."), card=current.number, line=number)
            raise VCardError(_("A line without a colon (NAME:value)."), card=current.number, line=number)
        group_name, params = _split_params(head)
        group, _dot, name = group_name.rpartition(".")
        name = name.upper()
        if name == "BEGIN" and value.strip().upper() == "VCARD":
            if current is not None:
                raise VCardError(_("The card has no END:VCARD before the next BEGIN:VCARD."), card=current.number, line=current.line)
            if len(cards) >= max_cards:
                raise VCardError(_("The file holds more than %(limit)d cards; split it into smaller files.") % {"limit": max_cards})
            current = Card(number=len(cards) + 1, line=number)
            card_lines = []
            continue
        if current is None:
            raise VCardError(_("This is not a vCard file: a card must start with BEGIN:VCARD."), line=number)
        if name == "END" and value.strip().upper() == "VCARD":
            _fill(current, card_lines)
            if strict and current.errors:
                line, message = current.errors[0]
                raise VCardError(message, card=current.number, line=line)
            cards.append(current)
            current = None
            continue
        if CONTROL.search(value) and name not in BINARY_PROPERTIES:
            raise VCardError(_("The card contains binary data."), card=current.number, line=number)
        card_lines.append(_Line(number=number, group=group, name=name, params=params, value=value, raw_bytes=raw_bytes))
    if current is not None:
        raise VCardError(_("The card has no END:VCARD."), card=current.number, line=current.line)
    if not saw_content or not cards:
        raise VCardError(_("The file holds no vCard."))
    return cards


def _types(line):
    return {item.strip().lower() for value in line.params.get("TYPE", []) for item in value.split(",") if item.strip()}


def _is_preferred(line):
    return "pref" in _types(line) or bool(line.params.get("PREF"))


def _fill(card, lines):
    """Map the card's content lines onto the contact's fields."""
    values = {}  # (line object) -> decoded, still escaped text
    version_lines = [line for line in lines if line.name == "VERSION"]
    if version_lines:
        card.version = version_lines[0].value.strip()
        if card.version not in SUPPORTED_VERSIONS:
            card.error(version_lines[0].number, _("vCard version %(version)s is not supported (2.1, 3.0 and 4.0 are).") % {"version": card.version[:10]})
            return
    else:
        card.version = "2.1" if any("QUOTED-PRINTABLE" in str(line.params).upper() for line in lines) else "3.0"
    for line in lines:
        if line.name in BINARY_PROPERTIES or line.name in ("VERSION", "PRODID", "REV"):
            continue
        try:
            values[id(line)] = _decoded_value(line)
        except _ValueError as error:
            card.error(line.number, str(error))
            continue
        if CONTROL.search(values[id(line)]):
            card.error(line.number, _("The card contains binary data."))
    if card.errors:
        return

    def text_of(line):
        return unescape(values[id(line)]).replace("\r\n", "\n").replace("\r", "\n").strip()

    def first(name):
        return next((line for line in lines if line.name == name), None)

    fn = first("FN")
    n = first("N")
    if fn is not None and text_of(fn):
        card.name = text_of(fn)
    if n is not None:
        parts = [unescape(part).strip() for part in _split_components(values[id(n)], ";")] + [""] * 5
        family, given, additional, prefix, suffix = parts[:5]
        if not card.name:
            if is_cjk(family + given):
                card.name = family + additional + given
            else:
                card.name = " ".join(part for part in (prefix, given, additional, family, suffix) if part)
    if not card.name:
        card.error(card.line, _("The card has no name (FN or N)."))
    latin = first("X-QINGLAN-NAME-LATIN")
    if latin is not None:
        card.name_latin = text_of(latin)
    else:
        phonetic = " ".join(text_of(line) for name in ("X-PHONETIC-FIRST-NAME", "X-PHONETIC-LAST-NAME") if (line := first(name)))
        card.name_latin = phonetic.strip()
    org = first("ORG")
    if org is not None:
        parts = [unescape(part).strip() for part in _split_components(values[id(org)], ";")]
        card.organization = parts[0] if parts else ""
        card.department_name = " / ".join(part for part in parts[1:] if part)
    title = first("TITLE")
    if title is not None:
        card.title = text_of(title)
    _fill_phones(card, [line for line in lines if line.name == "TEL"], text_of)
    emails = sorted((line for line in lines if line.name == "EMAIL"), key=lambda line: not _is_preferred(line))
    if emails:
        card.email = text_of(emails[0]).removeprefix("mailto:")
        card.skipped += [text_of(line) for line in emails[1:]]
    card.im = _im(lines, text_of)
    birthday = first("BDAY")
    if birthday is not None and text_of(birthday):
        card.birthday = parse_date(text_of(birthday))
        if card.birthday is None:
            card.error(birthday.number, _("“%(value)s” is not a valid birthday date.") % {"value": text_of(birthday)[:40]})
    addresses = sorted((line for line in lines if line.name == "ADR"), key=lambda line: not _is_preferred(line))
    if addresses:
        card.address = _address([unescape(part).strip() for part in _split_components(values[id(addresses[0])], ";")])
        card.skipped += [_address([unescape(p).strip() for p in _split_components(values[id(line)], ";")]) for line in addresses[1:]]
    notes = [text_of(line) for line in lines if line.name == "NOTE" and text_of(line)]
    card.notes = "\n\n".join(notes)
    role = first("X-QINGLAN-DECISION-ROLE")
    if role is not None:
        card.decision_role = text_of(role)
    primary = first("X-QINGLAN-PRIMARY")
    card.is_primary = primary is not None and text_of(primary).lower() in ("1", "true", "yes")
    uid = first("UID")
    if uid is not None:
        card.uid = text_of(uid)


def _fill_phones(card, lines, text_of):
    """Preferred numbers first; a cell number is the mobile, any other the phone; a number
    left over fills an empty one of the two (never with a fax), the rest are listed as not kept."""
    numbers = []
    for line in sorted(lines, key=lambda line: not _is_preferred(line)):
        number = text_of(line)
        if number.lower().startswith("tel:"):
            number = number[4:].split(";", 1)[0]
        if number:
            numbers.append((number, _types(line)))
    left = []
    for number, kinds in numbers:
        if kinds & MOBILE_TYPES and not card.mobile:
            card.mobile = number
        elif not kinds & (MOBILE_TYPES | {"fax"}) and not card.phone:
            card.phone = number
        else:
            left.append((number, kinds))
    for number, kinds in left:
        if "fax" not in kinds and not card.mobile:
            card.mobile = number
        elif "fax" not in kinds and not card.phone:
            card.phone = number
        else:
            card.skipped.append(number)


def _im(lines, text_of):
    own = next((line for line in lines if line.name == "X-QINGLAN-IM"), None)
    if own is not None:
        return text_of(own)
    for line in lines:
        if line.name == "IMPP" and text_of(line):
            value = text_of(line)
            service = (line.params.get("X-SERVICE-TYPE") or [""])[0]
            return f"{service}: {value.split(':', 1)[-1]}" if service else value
    for line in lines:
        if line.name in IM_PROPERTIES and text_of(line):
            return f"{IM_PROPERTIES[line.name]}: {text_of(line)}"
    return ""


def is_cjk(text):
    return any("\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff" or "\U00020000" <= char <= "\U0003134f" for char in text)


def _address(parts):
    """One line from ADR's components (PO box; extended; street; locality; region; code; country):
    big to small for Chinese addresses, small to big otherwise."""
    parts = (parts + [""] * 7)[:7]
    box, extended, street, locality, region, code, country = parts
    if is_cjk("".join(parts)):
        return "".join(part for part in (code, country, region, locality, street, extended, box) if part)
    place = " ".join(part for part in (locality, region, code) if part)
    return ", ".join(part for part in (box, extended, street, place, country) if part)


def parse_date(text):
    text = text.strip()
    if text.lower().startswith("value=") or not text:
        return None
    for pattern, form in DATE_FORMS:
        match = pattern.match(text)
        if not match:
            continue
        try:
            if form == "ymd":
                return datetime.date(int(match[1]), int(match[2]), int(match[3]))
            return datetime.date(NO_YEAR, int(match[1]), int(match[2]))
        except ValueError:
            return None
    return None


# ---- writing ---------------------------------------------------------------------------


def escape(value):
    return str(value).replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")


def fold(line, limit=75):
    """Fold a content line at `limit` octets (RFC 6350 §3.2), never inside a UTF-8 character."""
    encoded = line.encode("utf-8")
    if len(encoded) <= limit:
        return line
    pieces, current, size, width = [], [], 0, limit
    for char in line:
        length = len(char.encode("utf-8"))
        if size + length > width:
            pieces.append("".join(current))
            current, size, width = [], 0, limit - 1  # continuation lines start with a space
        current.append(char)
        size += length
    pieces.append("".join(current))
    return "\r\n ".join(pieces)


def split_name(name):
    """(family, given) of a person's name: 陳美玲 → (陳, 美玲), 歐陽娜娜 → (歐陽, 娜娜),
    'Mei-ling Chen' → (Chen, Mei-ling)."""
    name = name.strip()
    if is_cjk(name) and " " not in name:
        surname = name[:2] if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else name[:1]
        return surname, name[len(surname):]
    words = name.split()
    if len(words) < 2:
        return name, ""
    return words[-1], " ".join(words[:-1])


def card_from_contact(contact):
    customer = contact.customer if contact.customer_id else None
    return Card(
        version="4.0",
        name=contact.name,
        name_latin=contact.name_latin,
        organization=customer.name if customer is not None else "",
        department_name=contact.department_name,
        title=contact.title,
        phone=contact.phone,
        mobile=contact.mobile,
        email=contact.email,
        im=contact.im,
        birthday=contact.birthday,
        address=contact.address,
        notes=contact.notes,
        decision_role=contact.decision_role,
        is_primary=contact.is_primary,
        uid=contact_uid(contact),
    )


def contact_uid(contact):
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'qinglan:customers.contact:{contact.pk}')}"


def write(contacts, version="3.0"):
    """vCard text (CRLF line ends) of `contacts` (Contact records or Cards)."""
    return "".join(write_card(item if isinstance(item, Card) else card_from_contact(item), version) for item in contacts)


def write_card(card, version="3.0"):
    if version not in ("3.0", "4.0"):
        raise ValueError(f"unsupported vCard version {version!r}")
    v4 = version == "4.0"
    lines = ["BEGIN:VCARD", f"VERSION:{version}", "PRODID:-//Qinglan//Qinglan CRM//EN"]
    if card.uid:
        lines.append(f"UID:{card.uid}")
    family, given = split_name(card.name)
    lines.append(f"FN:{escape(card.name)}")
    lines.append(f"N:{escape(family)};{escape(given)};;;")
    if card.name_latin:
        lines.append(f"X-QINGLAN-NAME-LATIN:{escape(card.name_latin)}")
    if card.organization or card.department_name:
        lines.append(f"ORG:{escape(card.organization)}" + (f";{escape(card.department_name)}" if card.department_name else ""))
    if card.title:
        lines.append(f"TITLE:{escape(card.title)}")
    if card.phone:
        lines.append(f"TEL;TYPE={'work,voice' if v4 else 'WORK,VOICE'}:{escape(card.phone)}")
    if card.mobile:
        lines.append(f"TEL;TYPE={'cell' if v4 else 'CELL'}:{escape(card.mobile)}")
    if card.email:
        lines.append(f"EMAIL;TYPE={'work' if v4 else 'INTERNET,WORK'}:{escape(card.email)}")
    if card.im:
        lines.append(f"X-QINGLAN-IM:{escape(card.im)}")
    if card.birthday:
        lines.append(_bday(card.birthday, v4))
    if card.address:
        lines.append(f"ADR;TYPE={'work' if v4 else 'WORK'}:;;{escape(card.address)};;;;")
    if card.notes:
        lines.append(f"NOTE:{escape(card.notes)}")
    if card.decision_role:
        lines.append(f"X-QINGLAN-DECISION-ROLE:{escape(card.decision_role)}")
    if card.is_primary:
        lines.append("X-QINGLAN-PRIMARY:1")
    lines.append("END:VCARD")
    return "".join(fold(line) + "\r\n" for line in lines)


def _bday(date, v4):
    if date.year == NO_YEAR:
        return f"BDAY:--{date:%m%d}" if v4 else f"BDAY;X-APPLE-OMIT-YEAR={NO_YEAR}:{date.isoformat()}"
    return f"BDAY:{date.isoformat().replace('-', '')}" if v4 else f"BDAY:{date.isoformat()}"
