from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """Satisfaction (CSAT) on the ticket: when it was asked, the 1-5 answer, a comment."""

    dependencies = [("models", "0004_nocodb")]

    operations = [
        ops.AddField(
            model_name='Ticket',
            name='csat_requested_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Ticket',
            name='csat_rating',
            field=fields.SmallIntField(null=True),
        ),
        ops.AddField(
            model_name='Ticket',
            name='csat_comment',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Ticket',
            name='csat_answered_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
