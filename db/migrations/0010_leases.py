"""Several instances on one PostgreSQL (issue 14): ``leases``, one row per loop that may
run on only one instance at a time (see ``bot/storage/leases.py``). Nothing existing changes.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0009_customer_fields")]

    initial = False

    operations = [
        ops.CreateModel(
            name='Lease',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=60)),
                ('holder', fields.CharField(max_length=120)),
                ('acquired_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'leases', 'app': 'models', 'pk_attr': 'name', 'table_description': 'Which instance runs a once-only loop (Telegram polling, the IMAP reader, the\n    schedulers) and until when. Its holder renews it, another takes it once expired.'},
            bases=['Model'],
        ),
    ]
