"""Customer fields (issue 11): the RUT's check digit and forms, first name, form of
address, edits recorded with who and old -> new, and data that belongs to another
customer refused."""

from __future__ import annotations

import pytest

from bot.process.errors import InvalidInput, NotAllowed
from bot.process.rut import check_digit, format_rut, normalise_rut
from bot.process.views import Actor
from bot.services import Services
from tests.conftest import Team


@pytest.mark.parametrize("typed", ["12.345.678-5", "12345678-5", "123456785", " 12.345.678 - 5 "])
def test_rut_forms_normalise_to_one(typed: str) -> None:
    assert normalise_rut(typed) == "12345678-5"


def test_rut_check_digits_k_and_zero() -> None:
    assert check_digit("12345678") == "5"
    assert check_digit("11111111") == "1"
    assert normalise_rut("10.000.013-k") == "10000013-K" == normalise_rut("10000013K")
    assert normalise_rut("10.000.004-0") == "10000004-0"  # check digit 0
    assert format_rut("10000004-0") == "10.000.004-0" and format_rut("1-9") == "1-9"


@pytest.mark.parametrize("typed", ["12.345.678-4", "12345678-K", "10000013-0", "11.111.111-2"])
def test_wrong_check_digit_is_refused_in_spanish(typed: str) -> None:
    with pytest.raises(InvalidInput, match="dígito verificador"):
        normalise_rut(typed)


@pytest.mark.parametrize("typed", ["", "abc", "12.345.678-55", "1234567890-1", "-5", "12_345-5"])
def test_malformed_rut_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput, match="RUT"):
        normalise_rut(typed)


async def test_edit_sets_fields_and_records_each_change(services: Services, team: Team) -> None:
    c = await services.customers.find_or_create(email="maria@example.cl",
                                                name="María José Fernández")
    assert (c.first_name, c.first_name_derived, c.rut, c.form_of_address) == \
        ("María José", True, None, "")
    c = await services.customers.update(team.admin, c.id, rut="12.345.678-5",
                                        first_name="María José", form_of_address="Sra.",
                                        phone="9 1234 5678", company="Andes SpA")
    assert c.rut == "12345678-5" and c.rut_display == "12.345.678-5"
    assert (c.first_name, c.first_name_derived, c.form_of_address) == ("María José", False,
                                                                       "Sra.")
    assert c.phone == "+56912345678" and c.company == "Andes SpA"
    # looked up by any of its data, RUT in every written form
    for ref in ("12.345.678-5", "123456785", "12345678-5", "+56 9 1234 5678", str(c.id)):
        assert (await services.customers.find(ref)).id == c.id, ref
    assert [x.id for x in await services.customers.search("12345678")] == [c.id]
    changes = await services.customers.changes(c.id)
    assert {(x.field, x.old_value, x.new_value) for x in changes} == {
        ("RUT", "", "12.345.678-5"), ("Nombre de pila", "", "María José"),
        ("Tratamiento", "", "Sra."), ("Teléfono", "", "+56912345678"),
        ("Empresa", "", "Andes SpA")}
    assert {x.author_name for x in changes} == {"Carla"}
    # clearing the typed first name derives it again; nothing changed records nothing
    c = await services.customers.update(team.admin, c.id, first_name="", company="Andes SpA")
    assert (c.first_name, c.first_name_derived) == ("María José", True)
    assert len(await services.customers.changes(c.id)) == 6


async def test_rut_of_another_customer_and_bad_values_are_refused(services: Services,
                                                                 team: Team) -> None:
    ana = await services.customers.find_or_create(email="ana@example.cl", name="Ana")
    luis = await services.customers.find_or_create(email="luis@example.cl", name="Luis")
    await services.customers.update(team.admin, ana.id, rut="12345678-5")
    with pytest.raises(InvalidInput, match="ya es del cliente «Ana»"):
        await services.customers.update(team.admin, luis.id, rut="12.345.678-5")
    with pytest.raises(InvalidInput, match="ya es del cliente «Ana»"):
        await services.customers.update(team.admin, luis.id, email="ANA@example.cl")
    with pytest.raises(InvalidInput, match="dígito verificador"):
        await services.customers.update(team.admin, luis.id, rut="11.111.111-2")
    with pytest.raises(InvalidInput, match="hasta 20"):
        await services.customers.update(team.admin, luis.id, form_of_address="x" * 21)
    with pytest.raises(InvalidInput, match="correo o un teléfono"):
        await services.customers.update(team.admin, luis.id, email="")
    luis_now = await services.customers.get(luis.id)
    assert (luis_now.rut, luis_now.email) == (None, "luis@example.cl")
    assert await services.customers.changes(luis.id) == []


async def test_only_team_members_edit(services: Services, team: Team) -> None:
    c = await services.customers.find_or_create(email="ana@example.cl", name="Ana")
    for stranger in (Actor.system("Cliente"),
                     Actor.of(team.diego.__class__(**{**team.diego.__dict__, "active": False}))):
        with pytest.raises(NotAllowed):
            await services.customers.update(stranger, c.id, name="Otra")
    assert (await services.customers.get(c.id)).name == "Ana"


async def test_lookup_tells_a_mistyped_rut_from_a_phone(services: Services, team: Team) -> None:
    c = await services.customers.find_or_create(phone="+56912345678", name="Pedro")
    assert (await services.customers.find("9-1234-5678")).id == c.id  # a phone with dashes
    with pytest.raises(InvalidInput, match="dígito verificador"):
        await services.customers.find("12.345.678-4")
