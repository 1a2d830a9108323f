"""The header block parsed alone (``read_head``) must give exactly the message the
standard library's full parser gives, or step aside: the parse and the inbox key rely
on it for every mail of one part."""

from __future__ import annotations

from email import policy
from email.message import Message
from email.parser import BytesParser
from pathlib import Path

import pytest

from handlers.email.ingest import inbox_key
from handlers.email.parse import parse_mail, parse_message, read_head
from tests.conftest import corpus_params

LIMIT = 256 * 1024

SIMPLE = [
    b"From: Ana <ana@example.cl>\r\nSubject: Hola\r\nMessage-ID: <a@x>\r\n\r\nCuerpo\r\n",
    b"From: ana@example.cl\nSubject: LF\nMessage-ID: <b@x>\n\nUna\nDos\n\n\nTres",
    b"From: ana@example.cl\nSubject: mixto\r\n\r\nCuerpo\n",
    b"From: ana@example.cl\nSubject: fin LF, linea CRLF\n\r\nCuerpo\r\n",
    b"From ana@example.cl Mon Jan  1 00:00:00 2024\nFrom: ana@example.cl\n\nmbox\n",
    b"Subject: plegado\r\n  en dos\r\n\tlineas\r\nFrom: a@b.cl\r\n\r\n\r\n",
    b"Subject: sin cuerpo\r\n\r\n",
    b"Subject: 8 bits \xf1and\xfa\r\nContent-Type: text/plain; charset=latin-1\r\n\r\n"
    b"se\xf1or\r\n",
    b"Content-Type: text/html\r\nSubject: x\r\n\r\n<p>hola</p>\r\n",
    b"Content-Type: multipart/mixed\r\nSubject: sin boundary\r\n\r\n--x\r\nno\r\n",
]
NOT_PLAIN = [  # read_head steps aside; the full parser decides
    b"\r\nSin cabeceras\r\n",
    b"\nSin cabeceras\n",
    b" continuacion: primero\r\nSubject: x\r\n\r\nc\r\n",
    b"Subject: x\r\nesto no es cabecera\r\n\r\nc\r\n",
    b"Subject: CR solo\rFrom: a@b.cl\r\r\rc",
    b"Subject: x\n\rFrom: a@b.cl\n\ncuerpo",
    b"Subject: sin linea en blanco\r\nFrom: a@b.cl\r\n",
]
MULTIPART = (b"From: a@b.cl\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n"
             b"--b\r\nContent-Type: text/plain\r\n\r\nhola\r\n--b--\r\n")


def _shape(msg: Message) -> object:
    payload = msg.get_payload()
    return (msg._headers, msg.get_unixfrom(), [type(d) for d in msg.defects],  # noqa: SLF001
            msg.preamble, msg.epilogue,
            [_shape(p) for p in payload] if msg.is_multipart() else payload)


def _full(raw: bytes) -> Message:
    return BytesParser(policy=policy.compat32).parsebytes(raw)


@pytest.mark.parametrize("raw", SIMPLE + NOT_PLAIN + [MULTIPART])
def test_the_message_is_what_the_full_parser_makes_of_it(raw: bytes) -> None:
    assert _shape(parse_message(raw, read_head(raw, LIMIT))) == _shape(_full(raw))
    assert _shape(parse_message(raw, None)) == _shape(_full(raw))
    assert inbox_key(raw, LIMIT, read_head(raw, LIMIT)) == inbox_key(raw, LIMIT)


@pytest.mark.parametrize("raw", SIMPLE[:-2])
def test_a_plain_header_block_is_read_alone(raw: bytes) -> None:
    head = read_head(raw, LIMIT)
    assert head is not None
    assert parse_message(raw, head) is head.message
    assert head.message.get_payload() == _full(raw).get_payload()


@pytest.mark.parametrize("raw", NOT_PLAIN)
def test_anything_unusual_goes_through_the_full_parser(raw: bytes) -> None:
    assert read_head(raw, LIMIT) is None


def test_a_header_block_beyond_the_bound_is_not_read_alone() -> None:
    raw = b"Subject: " + b"x" * 200 + b"\r\nFrom: a@b.cl\r\n\r\ncuerpo\r\n"
    assert read_head(raw, 100) is None
    assert read_head(raw, len(raw)) is not None
    assert inbox_key(raw, 100, read_head(raw, 100)) == inbox_key(raw, 100)


def test_the_parsed_mail_is_the_same_with_or_without_the_head() -> None:
    for raw in [*SIMPLE, MULTIPART]:
        shared = parse_mail(raw, None, read_head(raw, LIMIT))
        alone = parse_mail(raw)
        assert (shared.message_id, shared.subject, shared.from_email, shared.text,
                shared.attachments) == (alone.message_id, alone.subject, alone.from_email,
                                        alone.text, alone.attachments)


@pytest.mark.parametrize("path", corpus_params("email", "*.eml"), ids=lambda p: getattr(p, "name", p))
def test_every_real_mail_parses_as_the_full_parser_parses_it(path: Path) -> None:
    raw = path.read_bytes()
    for limit in (LIMIT, 600):
        assert _shape(parse_message(raw, read_head(raw, limit))) == _shape(_full(raw))
        assert inbox_key(raw, limit, read_head(raw, limit)) == inbox_key(raw, limit)
