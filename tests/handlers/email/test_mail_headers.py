"""Headers are read from ``compat32`` messages and decoded only when they need it: the
result must be what the standard library's full parser (``policy.default``) gives."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

import pytest

from handlers.email.mail_headers import fix_surrogates, header_text, one_line, sender
from handlers.email.parse import parse_mail
from tests.handlers.email.harness import mail

SUBJECTS = [
    b"Consulta por hosting",
    b"Re: [#12]   dos  espacios\ty tab ",
    b"=?utf-8?q?Factura_n=C2=BA_1234?=",
    b"=?iso-8859-1?q?Se=F1or?= Perez =?utf-8?b?w7FhbmR1?=",
    b"Texto\r\n largo\r\n\tplegado",
    b"Re: =?utf-8?q?Hola?=  =?utf-8?q?_mundo?= y  fin",
    b"=?utf-8?q?pegado?==?utf-8?q?_junto?=",
    b"texto =?utf-8?q?mal?=x pegado",
    b"=?utf-8?b?w7FhbmR1?=\r\n =?iso-8859-1?q?_se=F1al?=",
    b"=?utf-8?q?tab=09dentro?=",
    b"(no es comentario) <tampoco@id>",
]
FROMS = [
    b"ana@example.cl",
    b"<ana@example.cl>",
    b"Ana Perez <ana@example.cl>",
    b"\"Perez, Ana\" <ana@example.cl>",
    b"=?utf-8?q?Ana_P=C3=A9rez?= <ana@example.cl>",
    b"=?utf-8?b?w4FsdmFybyBHb256w6FsZXo=?=\r\n <alvaro@example.es>",
    b"=?iso-8859-1?q?Nuria?= =?iso-8859-1?q?_Fern=E1ndez?= <nuria@example.es>",
    b"=?utf-8?q?P=E9rez?= <latin1-declared-utf8@example.es>",
    b"=?x-desconocido?q?Ana?= <ana@example.cl>",
    b"=?utf-8?q?Ana_=22la_jefa=22?= <ana@example.cl>",
    b"Ana  Perez <Ana.Perez+soporte@Example.CL>",
    b"ana@example.cl (Ana Perez)",
    b"Ana <ana@example.cl>, Beto <beto@example.cl>",
    b"roto <<ana@example.cl>",
]


def _both(headers: bytes) -> tuple[object, object]:
    raw = headers + b"\r\n\r\nHola.\r\n"
    return (BytesParser(policy=policy.compat32).parsebytes(raw),
            BytesParser(policy=policy.default).parsebytes(raw))


@pytest.mark.parametrize("subject", SUBJECTS)
def test_subject_as_the_full_parser_reads_it(subject: bytes) -> None:
    light, full = _both(b"Subject: " + subject)
    assert header_text(light, "Subject") == str(full["Subject"])  # type: ignore[index]


@pytest.mark.parametrize("value", FROMS)
def test_sender_as_the_full_parser_reads_it(value: bytes) -> None:
    light, full = _both(b"From: " + value)
    addresses = full["From"].addresses  # type: ignore[index]
    expected = next(((a.display_name, a.addr_spec.lower()) for a in addresses
                     if "." in a.domain), ("", None))
    name, address = sender(light, None)  # type: ignore[arg-type]
    # sender() then decodes raw 8-bit bytes (surrogates) and puts the name on one line
    assert (name, address) == (one_line(fix_surrogates(expected[0], None)), expected[1])


def test_a_name_that_decodes_to_a_header_line_stays_a_name() -> None:
    light, _ = _both(b"From: =?utf-8?q?x=0D=0ABcc=3A_y=40z=2Ecom?= <ana@example.cl>")
    assert sender(light, None) == ("x Bcc: y@z.com", "ana@example.cl")  # type: ignore[arg-type]


def test_eight_bit_headers_and_encoded_file_names_are_decoded() -> None:
    raw = mail(sender="Ana <ana@example.cl>", subject="x",
               attachments=[("factura nº1.pdf", "application/pdf", b"%PDF")])
    raw = raw.replace(b"Subject: x", "Subject: Año nuevo, señal".encode())
    parsed = parse_mail(raw)
    assert parsed.subject == "Año nuevo, señal"
    assert [a.filename for a in parsed.attachments] == ["factura nº1.pdf"]
