"""Issue 11 (closing the loop): a ticket closed because the customer never answered is
recorded as "sin respuesta", not as tacit conformity (silence is not acceptance, Ley
19.496 art. 3 a). The stored value is longer than the old column allowed, and rows
already closed that way are renamed."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from bot.process.domain import ConformityKind


class Migration(migrations.Migration):
    dependencies = [("models", "0002_inbox")]

    operations = [
        ops.AlterField(
            model_name='Ticket',
            name='conformity_kind',
            field=fields.CharEnumField(null=True, description='EXPLICIT: expresa\nNO_ANSWER: sin respuesta', enum_type=ConformityKind, max_length=20),
        ),
        ops.RunSQL(
            "UPDATE tickets SET conformity_kind = 'sin respuesta' WHERE conformity_kind = 'tácita'",
            reverse_sql="UPDATE tickets SET conformity_kind = 'tácita' "
                        "WHERE conformity_kind = 'sin respuesta'",
        ),
    ]
