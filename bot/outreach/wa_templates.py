"""WhatsApp templates admins register for campaigns (name, language, variables, body).

Meta approves templates in WhatsApp Manager; Pintu cannot check that offline, so an admin
registers a template here once it is approved, with the names of its {{1}}, {{2}} ...
variables and its body for previews. data/whatsapp/templates.yml stays the list of the system's
own templates (status updates, "a reply is ready"), edited with the code that sends them; the
outbox allows both.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import WhatsAppTemplate

NAME = re.compile(r"^[a-z0-9_]{1,512}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
VARIABLE = re.compile(r"^[a-z0-9_]{1,40}$")
PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")


class TemplateError(ValueError):
    """A registration that cannot be accepted; the text is Indonesian, for the admin."""


def register(session: Session, *, name: str, language: str, variables: list[str], body: str,
             staff_id: int | None) -> WhatsAppTemplate:
    """Registers an approved template; its body's {{n}} must match the variables."""
    name, language = name.strip(), language.strip()
    variables = [v.strip() for v in variables if v.strip()]
    if not NAME.match(name):
        raise TemplateError("Nama templat hanya huruf kecil, angka dan garis bawah.")
    if not LANGUAGE.match(language):
        raise TemplateError("Kode bahasa seperti 'id' atau 'en_US'.")
    if not all(VARIABLE.match(v) for v in variables) or len(set(variables)) != len(variables):
        raise TemplateError("Nama variabel hanya huruf kecil, angka dan garis bawah, berbeda.")
    numbers = sorted({int(n) for n in PLACEHOLDER.findall(body)})
    if numbers != list(range(1, len(variables) + 1)):
        raise TemplateError("Isi templat harus memakai {{1}} sampai {{n}}, satu per variabel.")
    template = WhatsAppTemplate(name=name, language=language, variables=variables,
                                body=body.strip(), created_by=staff_id)
    try:
        with session.begin_nested():
            session.add(template)
    except IntegrityError as exc:
        raise TemplateError("Templat dengan nama dan bahasa itu sudah terdaftar.") from exc
    return template


def listed(session: Session) -> list[WhatsAppTemplate]:
    return list(session.scalars(select(WhatsAppTemplate).order_by(WhatsAppTemplate.name,
                                                                  WhatsAppTemplate.language)))


def names(session: Session) -> frozenset[str]:
    return frozenset(session.scalars(select(WhatsAppTemplate.name)))


def preview(template: WhatsAppTemplate, params: list[str]) -> str:
    """The body as the resident reads it, with the campaign's values in place."""
    return PLACEHOLDER.sub(lambda m: params[int(m.group(1)) - 1]
                           if int(m.group(1)) <= len(params) else m.group(0), template.body)
